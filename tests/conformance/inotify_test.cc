// Conformance: inotify — instances (inotify_init1 flags), watches (masks, IN_ONLYDIR,
// IN_DONT_FOLLOW, IN_MASK_ADD/IN_MASK_CREATE, IN_ONESHOT, the same wd for the same inode,
// rm_watch and IN_IGNORED), the events of changes made by this process in a TempDir, and how
// read(2) hands out whole records (EINVAL for a short buffer, FIONREAD, blocking, overflow).

#include "tests/conformance/process_util.h"
#include "tests/conformance/temp_dir.h"
#include "tests/conformance/test_util.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

using ::testing::ElementsAre;

constexpr uint32_t kInMaskCreate = 0x10000000;

std::string MaskName(uint32_t mask) {
    static const std::pair<uint32_t, const char*> kNames[] = {
        {IN_ACCESS, "ACCESS"},         {IN_MODIFY, "MODIFY"},         {IN_ATTRIB, "ATTRIB"},
        {IN_CLOSE_WRITE, "CLOSE_WRITE"}, {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {IN_OPEN, "OPEN"},
        {IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"},     {IN_CREATE, "CREATE"},
        {IN_DELETE, "DELETE"},         {IN_DELETE_SELF, "DELETE_SELF"}, {IN_MOVE_SELF, "MOVE_SELF"},
        {IN_Q_OVERFLOW, "Q_OVERFLOW"}, {IN_IGNORED, "IGNORED"},       {IN_ISDIR, "ISDIR"},
    };
    std::string out;
    for (auto& [bit, name] : kNames) {
        if (mask & bit) {
            if (!out.empty())
                out += "|";
            out += name;
        }
    }
    return out;
}

class InotifyTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(m_dir.ok());
        m_fd = Fd(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
        ASSERT_TRUE(m_fd.ok()) << strerror(errno);
    }
    std::string P(const std::string& name) const { return m_dir / name; }
    int Watch(const std::string& path, uint32_t mask = IN_ALL_EVENTS) {
        return inotify_add_watch(m_fd.get(), path.c_str(), mask);
    }
    // Every queued event as "[wd ]MASK[ name]" (the wd only when `with_wd`).
    std::vector<std::string> Events(bool with_wd = false, std::vector<uint32_t>* cookies = nullptr) {
        std::vector<std::string> out;
        alignas(struct inotify_event) char buf[65536];
        for (;;) {
            ssize_t n = read(m_fd.get(), buf, sizeof(buf));
            if (n <= 0)
                break;
            for (ssize_t at = 0; at < n;) {
                auto* e = reinterpret_cast<struct inotify_event*>(buf + at);
                std::string s = with_wd ? std::to_string(e->wd) + " " : "";
                s += MaskName(e->mask);
                if (e->len)
                    s += std::string(" ") + e->name;
                out.push_back(s);
                if (cookies)
                    cookies->push_back(e->cookie);
                at += static_cast<ssize_t>(sizeof(*e) + e->len);
            }
        }
        return out;
    }

    TempDir m_dir;
    Fd m_fd;
};

TEST(Inotify, InitFlags) {
    EXPECT_THAT(inotify_init1(0x1), SyscallFailsWithErrno(EINVAL));
    Fd plain(inotify_init1(0));
    EXPECT_EQ(fcntl(plain.get(), F_GETFD), 0);
    Fd fd(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    ASSERT_TRUE(fd.ok());
    EXPECT_EQ(fcntl(fd.get(), F_GETFD), FD_CLOEXEC);
    EXPECT_TRUE(fcntl(fd.get(), F_GETFL) & O_NONBLOCK);
    char buf[64];
    EXPECT_THAT(read(fd.get(), buf, sizeof(buf)), SyscallFailsWithErrno(EAGAIN));
    Fd old(static_cast<int>(syscall(SYS_inotify_init)));
    EXPECT_TRUE(old.ok());
}

TEST_F(InotifyTest, AddWatchErrors) {
    Fd file(open(P("f").c_str(), O_CREAT | O_RDWR, 0644));
    EXPECT_THAT(Watch(P("f"), 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(Watch(P("f"), IN_MODIFY | IN_MASK_ADD | kInMaskCreate), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(inotify_add_watch(file.get(), P("f").c_str(), IN_MODIFY), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(inotify_add_watch(-1, P("f").c_str(), IN_MODIFY), SyscallFailsWithErrno(EBADF));
    EXPECT_THAT(Watch(P("missing")), SyscallFailsWithErrno(ENOENT));
    EXPECT_THAT(Watch(P("f"), IN_MODIFY | IN_ONLYDIR), SyscallFailsWithErrno(ENOTDIR));
    EXPECT_THAT(syscall(SYS_inotify_add_watch, m_fd.get(), nullptr, IN_MODIFY), SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(inotify_rm_watch(m_fd.get(), 12345), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(inotify_rm_watch(file.get(), 1), SyscallFailsWithErrno(EINVAL));
}

TEST_F(InotifyTest, SameInodeSameWd) {
    close(open(P("f").c_str(), O_CREAT | O_RDWR, 0644));
    ASSERT_THAT(link(P("f").c_str(), P("g").c_str()), SyscallSucceeds());
    ASSERT_THAT(symlink("f", P("sym").c_str()), SyscallSucceeds());
    int wd = Watch(P("f"), IN_MODIFY);
    ASSERT_GE(wd, 1);
    EXPECT_EQ(Watch(P("g"), IN_ATTRIB), wd);
    EXPECT_EQ(Watch(P("sym"), IN_ATTRIB), wd);  // followed
    int link_wd = Watch(P("sym"), IN_ATTRIB | IN_DONT_FOLLOW);
    EXPECT_NE(link_wd, wd);
    EXPECT_THAT(Watch(P("f"), IN_ATTRIB | kInMaskCreate), SyscallFailsWithErrno(EEXIST));
    EXPECT_NE(Watch(m_dir.path()), wd);
}

TEST_F(InotifyTest, DirectoryEventsForAFilesLife) {
    ASSERT_GE(Watch(m_dir.path()), 1);
    int fd = open(P("f").c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_EQ(write(fd, "ab", 2), 2);
    close(fd);
    fd = open(P("f").c_str(), O_RDONLY);
    char c;
    ASSERT_EQ(read(fd, &c, 1), 1);
    close(fd);
    ASSERT_THAT(chmod(P("f").c_str(), 0600), SyscallSucceeds());
    ASSERT_THAT(unlink(P("f").c_str()), SyscallSucceeds());
    EXPECT_THAT(Events(), ElementsAre("CREATE f", "OPEN f", "MODIFY f", "CLOSE_WRITE f", "OPEN f", "ACCESS f",
                                      "CLOSE_NOWRITE f", "ATTRIB f", "DELETE f"));
}

TEST_F(InotifyTest, IdenticalConsecutiveEventsMerge) {
    Fd fd(open(P("f").c_str(), O_CREAT | O_WRONLY, 0644));
    ASSERT_GE(Watch(P("f"), IN_MODIFY), 1);
    ASSERT_EQ(write(fd.get(), "a", 1), 1);
    ASSERT_EQ(write(fd.get(), "b", 1), 1);
    EXPECT_THAT(Events(), ElementsAre("MODIFY"));
}

TEST_F(InotifyTest, DirectoriesAndRenames) {
    ASSERT_THAT(mkdir(P("sub").c_str(), 0755), SyscallSucceeds());
    close(open(P("a").c_str(), O_CREAT | O_WRONLY, 0644));
    ASSERT_GE(Watch(m_dir.path(), IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO), 1);
    ASSERT_THAT(mkdir(P("d").c_str(), 0755), SyscallSucceeds());
    ASSERT_THAT(rmdir(P("d").c_str()), SyscallSucceeds());
    ASSERT_THAT(rename(P("a").c_str(), P("b").c_str()), SyscallSucceeds());
    ASSERT_THAT(rename(P("b").c_str(), P("sub/c").c_str()), SyscallSucceeds());
    std::vector<uint32_t> cookies;
    EXPECT_THAT(Events(false, &cookies), ElementsAre("CREATE|ISDIR d", "DELETE|ISDIR d", "MOVED_FROM a",
                                                     "MOVED_TO b", "MOVED_FROM b"));
    ASSERT_EQ(cookies.size(), 5u);
    EXPECT_NE(cookies[2], 0u);
    EXPECT_EQ(cookies[2], cookies[3]);
    EXPECT_NE(cookies[3], cookies[4]);
    EXPECT_EQ(cookies[0], 0u);
}

TEST_F(InotifyTest, SelfEventsOfAWatchedFile) {
    close(open(P("f").c_str(), O_CREAT | O_WRONLY, 0644));
    int wd = Watch(P("f"));
    ASSERT_GE(wd, 1);
    ASSERT_THAT(rename(P("f").c_str(), P("g").c_str()), SyscallSucceeds());
    ASSERT_THAT(unlink(P("g").c_str()), SyscallSucceeds());
    std::string w = std::to_string(wd) + " ";
    EXPECT_THAT(Events(true), ElementsAre(w + "MOVE_SELF", w + "ATTRIB", w + "DELETE_SELF", w + "IGNORED"));
    EXPECT_THAT(inotify_rm_watch(m_fd.get(), wd), SyscallFailsWithErrno(EINVAL));
}

TEST_F(InotifyTest, RmWatchQueuesIgnored) {
    int wd = Watch(m_dir.path(), IN_CREATE);
    ASSERT_THAT(inotify_rm_watch(m_fd.get(), wd), SyscallSucceeds());
    close(open(P("f").c_str(), O_CREAT | O_WRONLY, 0644));
    EXPECT_THAT(Events(true), ElementsAre(std::to_string(wd) + " IGNORED"));
    EXPECT_THAT(inotify_rm_watch(m_fd.get(), wd), SyscallFailsWithErrno(EINVAL));
}

TEST_F(InotifyTest, OneshotAndMaskAdd) {
    int wd = Watch(m_dir.path(), IN_CREATE | IN_ONESHOT);
    EXPECT_EQ(Watch(m_dir.path(), IN_DELETE | IN_MASK_ADD), wd);
    close(open(P("f").c_str(), O_CREAT | O_WRONLY, 0644));
    close(open(P("g").c_str(), O_CREAT | O_WRONLY, 0644));
    std::string w = std::to_string(wd) + " ";
    EXPECT_THAT(Events(true), ElementsAre(w + "CREATE f", w + "IGNORED"));
    // Without IN_MASK_ADD the mask is replaced.
    wd = Watch(m_dir.path(), IN_CREATE);
    EXPECT_EQ(Watch(m_dir.path(), IN_DELETE), wd);
    close(open(P("h").c_str(), O_CREAT | O_WRONLY, 0644));
    ASSERT_THAT(unlink(P("h").c_str()), SyscallSucceeds());
    EXPECT_THAT(Events(), ElementsAre("DELETE h"));
}

TEST_F(InotifyTest, ReadHandsOutWholeRecords) {
    ASSERT_GE(Watch(m_dir.path(), IN_CREATE), 1);
    close(open(P("name").c_str(), O_CREAT | O_WRONLY, 0644));
    close(open(P("a-longer-name-here").c_str(), O_CREAT | O_WRONLY, 0644));
    int queued = 0;
    ASSERT_THAT(ioctl(m_fd.get(), FIONREAD, &queued), SyscallSucceeds());
    // "name" pads to 16 bytes, the 18-byte name to 32: each after a 16-byte header.
    EXPECT_EQ(queued, 16 + 16 + 16 + 32);
    alignas(struct inotify_event) char buf[128];
    EXPECT_THAT(read(m_fd.get(), buf, 31), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(read(m_fd.get(), buf, 40), SyscallSucceedsWithValue(32));
    auto* e = reinterpret_cast<struct inotify_event*>(buf);
    EXPECT_EQ(e->len, 16u);
    EXPECT_STREQ(e->name, "name");
    EXPECT_THAT(read(m_fd.get(), buf, sizeof(buf)), SyscallSucceedsWithValue(48));
    EXPECT_THAT(read(m_fd.get(), buf, sizeof(buf)), SyscallFailsWithErrno(EAGAIN));
}

TEST_F(InotifyTest, BlockingReadWakesOnAnEvent) {
    Fd blocking(inotify_init1(0));
    ASSERT_GE(inotify_add_watch(blocking.get(), m_dir.path().c_str(), IN_CREATE), 1);
    std::string path = P("late");
    pid_t pid = ForkAndRun([&] {
        usleep(50 * 1000);
        int fd = open(path.c_str(), O_CREAT | O_WRONLY, 0644);
        return fd >= 0 ? 0 : 1;
    });
    alignas(struct inotify_event) char buf[256];
    ssize_t n = read(blocking.get(), buf, sizeof(buf));
    ASSERT_GT(n, 0) << strerror(errno);
    EXPECT_STREQ(reinterpret_cast<struct inotify_event*>(buf)->name, "late");
    EXPECT_EQ(WaitStatus(pid), 0);
}

TEST_F(InotifyTest, PollSeesQueuedEvents) {
    ASSERT_GE(Watch(m_dir.path(), IN_CREATE), 1);
    struct pollfd p = {m_fd.get(), POLLIN, 0};
    EXPECT_THAT(poll(&p, 1, 0), SyscallSucceedsWithValue(0));
    close(open(P("f").c_str(), O_CREAT | O_WRONLY, 0644));
    EXPECT_THAT(poll(&p, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(p.revents, POLLIN);
}

TEST_F(InotifyTest, QueueOverflow) {
    close(open(P("f").c_str(), O_CREAT | O_WRONLY, 0644));
    ASSERT_GE(Watch(P("f"), IN_OPEN | IN_CLOSE_NOWRITE), 1);
    // Alternating events never merge: 2 * 8200 > 16384 (fs.inotify.max_queued_events).
    for (int i = 0; i < 8200; ++i)
        close(open(P("f").c_str(), O_RDONLY));
    std::vector<std::string> events = Events(true);
    ASSERT_EQ(events.size(), 16385u);
    EXPECT_EQ(events.back(), "-1 Q_OVERFLOW");
    EXPECT_EQ(events[16383], "1 CLOSE_NOWRITE");
}

}  // namespace
}  // namespace moat::conformance
