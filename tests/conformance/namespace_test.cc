// Conformance: changing the tree of names — mkdir, rmdir, unlink, link, symlink, rename(at2),
// mknod, open(O_CREAT/O_EXCL/O_TRUNC/O_TMPFILE) — and their errnos, in a fresh temporary
// directory (natively under /tmp; under Moat in the sandbox's own /tmp).

#include "tests/conformance/process_util.h"
#include "tests/conformance/temp_dir.h"
#include "tests/conformance/test_util.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

class NamespaceTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(m_dir.ok()) << "no temporary directory";
        m_old_umask = umask(022);
    }
    void TearDown() override { umask(m_old_umask); }
    std::string P(const std::string& name) const { return m_dir / name; }
    void Touch(const std::string& name, const char* data = "") {
        Fd fd(open(P(name).c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644));
        ASSERT_GE(fd.get(), 0);
        ASSERT_EQ(write(fd.get(), data, strlen(data)), static_cast<ssize_t>(strlen(data)));
    }
    struct stat Lstat(const std::string& name) {
        struct stat st {};
        EXPECT_THAT(lstat(P(name).c_str(), &st), SyscallSucceeds());
        return st;
    }

    TempDir m_dir;
    mode_t m_old_umask = 0;
};

TEST_F(NamespaceTest, MkdirAppliesUmaskAndRmdirRemoves) {
    ASSERT_THAT(mkdir(P("d").c_str(), 0777), SyscallSucceeds());
    struct stat st = Lstat("d");
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0755u);
    EXPECT_EQ(st.st_nlink, 2u);
    EXPECT_THAT(mkdir(P("d").c_str(), 0777), SyscallFailsWithErrno(EEXIST));
    ASSERT_THAT(mkdir(P("d/e").c_str(), 0700), SyscallSucceeds());
    EXPECT_EQ(Lstat("d").st_nlink, 3u);
    EXPECT_THAT(rmdir(P("d").c_str()), SyscallFailsWithErrno(ENOTEMPTY));
    ASSERT_THAT(rmdir(P("d/e").c_str()), SyscallSucceeds());
    ASSERT_THAT(rmdir(P("d").c_str()), SyscallSucceeds());
    struct stat gone;
    EXPECT_THAT(lstat(P("d").c_str(), &gone), SyscallFailsWithErrno(ENOENT));
}

TEST_F(NamespaceTest, MkdirErrors) {
    EXPECT_THAT(syscall(SYS_mkdir, "", 0777), SyscallFailsWithErrno(ENOENT));
    EXPECT_THAT(mkdir(P(".").c_str(), 0777), SyscallFailsWithErrno(EEXIST));
    EXPECT_THAT(mkdir(P("..").c_str(), 0777), SyscallFailsWithErrno(EEXIST));
    EXPECT_THAT(mkdir("/", 0777), SyscallFailsWithErrno(EEXIST));
    EXPECT_THAT(mkdir(P("missing/d").c_str(), 0777), SyscallFailsWithErrno(ENOENT));
    Touch("f");
    EXPECT_THAT(mkdir(P("f/d").c_str(), 0777), SyscallFailsWithErrno(ENOTDIR));
    EXPECT_THAT(mkdir(P(std::string(256, 'n')).c_str(), 0777), SyscallFailsWithErrno(ENAMETOOLONG));
    // A trailing slash is fine for mkdir.
    EXPECT_THAT(mkdir(P("slash/").c_str(), 0777), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_mkdir, reinterpret_cast<char*>(1), 0777), SyscallFailsWithErrno(EFAULT));
}

TEST_F(NamespaceTest, RmdirErrors) {
    ASSERT_THAT(mkdir(P("d").c_str(), 0777), SyscallSucceeds());
    EXPECT_THAT(rmdir(P("d/.").c_str()), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(rmdir(P("d/..").c_str()), SyscallFailsWithErrno(ENOTEMPTY));
    EXPECT_THAT(rmdir(P("nope").c_str()), SyscallFailsWithErrno(ENOENT));
    Touch("f");
    EXPECT_THAT(rmdir(P("f").c_str()), SyscallFailsWithErrno(ENOTDIR));
    ASSERT_THAT(symlink("d", P("link").c_str()), SyscallSucceeds());
    EXPECT_THAT(rmdir(P("link").c_str()), SyscallFailsWithErrno(ENOTDIR));
    EXPECT_THAT(rmdir(P("d/").c_str()), SyscallSucceeds());
}

TEST_F(NamespaceTest, UnlinkKeepsOpenFileData) {
    Touch("f", "hello");
    Fd fd(open(P("f").c_str(), O_RDONLY));
    ASSERT_GE(fd.get(), 0);
    ASSERT_THAT(unlink(P("f").c_str()), SyscallSucceeds());
    struct stat st;
    EXPECT_THAT(lstat(P("f").c_str(), &st), SyscallFailsWithErrno(ENOENT));
    ASSERT_THAT(fstat(fd.get(), &st), SyscallSucceeds());
    EXPECT_EQ(st.st_nlink, 0u);
    char buf[8] = {};
    EXPECT_THAT(read(fd.get(), buf, sizeof(buf)), SyscallSucceedsWithValue(5));
    EXPECT_STREQ(buf, "hello");
}

TEST_F(NamespaceTest, UnlinkErrors) {
    ASSERT_THAT(mkdir(P("d").c_str(), 0777), SyscallSucceeds());
    EXPECT_THAT(unlink(P("d").c_str()), SyscallFailsWithErrno(EISDIR));
    EXPECT_THAT(unlink(P("nope").c_str()), SyscallFailsWithErrno(ENOENT));
    Touch("f");
    EXPECT_THAT(unlink(P("f/").c_str()), SyscallFailsWithErrno(ENOTDIR));
    EXPECT_THAT(syscall(SYS_unlinkat, AT_FDCWD, P("f").c_str(), 0x1000), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_unlinkat, AT_FDCWD, P("d").c_str(), AT_REMOVEDIR), SyscallSucceeds());
    // unlinkat relative to a directory fd.
    Fd dfd(open(m_dir.path().c_str(), O_RDONLY | O_DIRECTORY));
    EXPECT_THAT(unlinkat(dfd.get(), "f", 0), SyscallSucceeds());
}

TEST_F(NamespaceTest, HardLinks) {
    Touch("a", "x");
    ASSERT_THAT(link(P("a").c_str(), P("b").c_str()), SyscallSucceeds());
    struct stat a = Lstat("a"), b = Lstat("b");
    EXPECT_EQ(a.st_ino, b.st_ino);
    EXPECT_EQ(a.st_nlink, 2u);
    EXPECT_THAT(link(P("a").c_str(), P("b").c_str()), SyscallFailsWithErrno(EEXIST));
    ASSERT_THAT(mkdir(P("d").c_str(), 0777), SyscallSucceeds());
    EXPECT_THAT(link(P("d").c_str(), P("d2").c_str()), SyscallFailsWithErrno(EPERM));
    EXPECT_THAT(link(P("nope").c_str(), P("c").c_str()), SyscallFailsWithErrno(ENOENT));
    EXPECT_THAT(syscall(SYS_linkat, AT_FDCWD, P("a").c_str(), AT_FDCWD, P("c").c_str(), 0x1),
                SyscallFailsWithErrno(EINVAL));
    ASSERT_THAT(unlink(P("a").c_str()), SyscallSucceeds());
    EXPECT_EQ(Lstat("b").st_nlink, 1u);
}

TEST_F(NamespaceTest, Symlinks) {
    ASSERT_THAT(symlink("target/x", P("l").c_str()), SyscallSucceeds());
    struct stat st = Lstat("l");
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    EXPECT_EQ(st.st_size, 8);
    char buf[64] = {};
    EXPECT_THAT(readlink(P("l").c_str(), buf, sizeof(buf)), SyscallSucceedsWithValue(8));
    EXPECT_STREQ(buf, "target/x");
    EXPECT_THAT(symlink("y", P("l").c_str()), SyscallFailsWithErrno(EEXIST));
    EXPECT_THAT(syscall(SYS_symlink, "", P("e").c_str()), SyscallFailsWithErrno(ENOENT));
    // O_CREAT|O_EXCL on a dangling symlink does not follow it.
    EXPECT_THAT(open(P("l").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644), SyscallFailsWithErrno(EEXIST));
    // O_CREAT without O_EXCL follows it and creates the target (in a missing dir: ENOENT).
    EXPECT_THAT(open(P("l").c_str(), O_CREAT | O_WRONLY, 0644), SyscallFailsWithErrno(ENOENT));
    ASSERT_THAT(symlink("made", P("l2").c_str()), SyscallSucceeds());
    Fd fd(open(P("l2").c_str(), O_CREAT | O_WRONLY, 0644));
    EXPECT_GE(fd.get(), 0);
    EXPECT_TRUE(S_ISREG(Lstat("made").st_mode));
}

TEST_F(NamespaceTest, RenameFiles) {
    Touch("a", "aaa");
    Touch("b", "bb");
    ino_t a_ino = Lstat("a").st_ino;
    ASSERT_THAT(rename(P("a").c_str(), P("b").c_str()), SyscallSucceeds());
    EXPECT_EQ(Lstat("b").st_ino, a_ino);
    EXPECT_EQ(Lstat("b").st_size, 3);
    struct stat st;
    EXPECT_THAT(lstat(P("a").c_str(), &st), SyscallFailsWithErrno(ENOENT));
    EXPECT_THAT(rename(P("a").c_str(), P("c").c_str()), SyscallFailsWithErrno(ENOENT));
    // Two names of one file: nothing happens.
    ASSERT_THAT(link(P("b").c_str(), P("b2").c_str()), SyscallSucceeds());
    ASSERT_THAT(rename(P("b").c_str(), P("b2").c_str()), SyscallSucceeds());
    EXPECT_THAT(lstat(P("b").c_str(), &st), SyscallSucceeds());
    EXPECT_THAT(rename(P("b/").c_str(), P("c").c_str()), SyscallFailsWithErrno(ENOTDIR));
    EXPECT_THAT(rename(P("b").c_str(), P("c/").c_str()), SyscallFailsWithErrno(ENOTDIR));
}

TEST_F(NamespaceTest, RenameDirectories) {
    ASSERT_THAT(mkdir(P("d").c_str(), 0777), SyscallSucceeds());
    ASSERT_THAT(mkdir(P("d/sub").c_str(), 0777), SyscallSucceeds());
    ASSERT_THAT(mkdir(P("empty").c_str(), 0777), SyscallSucceeds());
    Touch("f");
    EXPECT_THAT(rename(P("d").c_str(), P("d/sub/x").c_str()), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(rename(P("d").c_str(), P("f").c_str()), SyscallFailsWithErrno(ENOTDIR));
    EXPECT_THAT(rename(P("f").c_str(), P("d").c_str()), SyscallFailsWithErrno(EISDIR));
    EXPECT_THAT(rename(P("empty").c_str(), P("d").c_str()), SyscallFailsWithErrno(ENOTEMPTY));
    EXPECT_THAT(rename(P("d/sub").c_str(), P("d/sub/..").c_str()), SyscallFailsWithErrno(EBUSY));
    EXPECT_THAT(rename(P("d/.").c_str(), P("x").c_str()), SyscallFailsWithErrno(EBUSY));
    ASSERT_THAT(rename(P("d").c_str(), P("empty").c_str()), SyscallSucceeds());
    struct stat st;
    EXPECT_THAT(lstat(P("empty/sub").c_str(), &st), SyscallSucceeds());
    EXPECT_THAT(lstat(P("d").c_str(), &st), SyscallFailsWithErrno(ENOENT));
}

TEST_F(NamespaceTest, RenameMovesCwd) {
    ASSERT_THAT(mkdir(P("a").c_str(), 0777), SyscallSucceeds());
    ASSERT_THAT(mkdir(P("a/in").c_str(), 0777), SyscallSucceeds());
    pid_t pid = ForkAndRun([&] {
        if (chdir(P("a/in").c_str()) != 0)
            return 1;
        if (rename(P("a").c_str(), P("b").c_str()) != 0)
            return 2;
        char buf[PATH_MAX];
        if (!getcwd(buf, sizeof(buf)))
            return 3;
        return std::string(buf) == P("b/in") ? 0 : 4;
    });
    EXPECT_EQ(WaitStatus(pid), 0);
}

TEST_F(NamespaceTest, Renameat2Flags) {
    Touch("a", "1");
    Touch("b", "22");
    EXPECT_THAT(syscall(SYS_renameat2, AT_FDCWD, P("a").c_str(), AT_FDCWD, P("b").c_str(), RENAME_NOREPLACE),
                SyscallFailsWithErrno(EEXIST));
    EXPECT_THAT(syscall(SYS_renameat2, AT_FDCWD, P("a").c_str(), AT_FDCWD, P("b").c_str(),
                        RENAME_NOREPLACE | RENAME_EXCHANGE),
                SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_renameat2, AT_FDCWD, P("a").c_str(), AT_FDCWD, P("b").c_str(), 0x100),
                SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_renameat2, AT_FDCWD, P("a").c_str(), AT_FDCWD, P("c").c_str(), RENAME_EXCHANGE),
                SyscallFailsWithErrno(ENOENT));
    ASSERT_THAT(syscall(SYS_renameat2, AT_FDCWD, P("a").c_str(), AT_FDCWD, P("b").c_str(), RENAME_EXCHANGE),
                SyscallSucceeds());
    EXPECT_EQ(Lstat("a").st_size, 2);
    EXPECT_EQ(Lstat("b").st_size, 1);
    ASSERT_THAT(syscall(SYS_renameat2, AT_FDCWD, P("a").c_str(), AT_FDCWD, P("c").c_str(), RENAME_NOREPLACE),
                SyscallSucceeds());
    EXPECT_EQ(Lstat("c").st_size, 2);
}

TEST_F(NamespaceTest, OpenCreateExclTrunc) {
    Fd fd(open(P("f").c_str(), O_CREAT | O_EXCL | O_RDWR, 0666));
    ASSERT_GE(fd.get(), 0);
    EXPECT_EQ(Lstat("f").st_mode, S_IFREG | 0644u);
    ASSERT_EQ(write(fd.get(), "data", 4), 4);
    EXPECT_THAT(open(P("f").c_str(), O_CREAT | O_EXCL | O_RDWR, 0666), SyscallFailsWithErrno(EEXIST));
    EXPECT_THAT(open(P("f/").c_str(), O_CREAT | O_RDWR, 0666), SyscallFailsWithErrno(EISDIR));
    EXPECT_THAT(open(P("new/").c_str(), O_CREAT | O_RDWR, 0666), SyscallFailsWithErrno(EISDIR));
    Fd again(open(P("f").c_str(), O_WRONLY | O_TRUNC));
    ASSERT_GE(again.get(), 0);
    EXPECT_EQ(Lstat("f").st_size, 0);
    // creat(2) is O_CREAT|O_WRONLY|O_TRUNC.
    Fd c(static_cast<int>(syscall(SYS_creat, P("g").c_str(), 0600)));
    ASSERT_GE(c.get(), 0);
    EXPECT_EQ(Lstat("g").st_mode, S_IFREG | 0600u);
    EXPECT_THAT(read(c.get(), nullptr, 0), SyscallFailsWithErrno(EBADF));
}

TEST_F(NamespaceTest, CreateInRemovedDirectoryIsEnoent) {
    ASSERT_THAT(mkdir(P("gone").c_str(), 0777), SyscallSucceeds());
    pid_t pid = ForkAndRun([&] {
        if (chdir(P("gone").c_str()) != 0 || rmdir(P("gone").c_str()) != 0)
            return 1;
        if (open("f", O_CREAT | O_WRONLY, 0644) != -1 || errno != ENOENT)
            return 2;
        if (mkdir("d", 0777) != -1 || errno != ENOENT)
            return 3;
        return 0;
    });
    EXPECT_EQ(WaitStatus(pid), 0);
}

TEST_F(NamespaceTest, Mknod) {
    ASSERT_THAT(mknod(P("fifo").c_str(), S_IFIFO | 0666, 0), SyscallSucceeds());
    EXPECT_EQ(Lstat("fifo").st_mode, S_IFIFO | 0644u);
    ASSERT_THAT(mknod(P("plain").c_str(), 0600, 0), SyscallSucceeds());
    EXPECT_EQ(Lstat("plain").st_mode, S_IFREG | 0600u);
    EXPECT_THAT(mknod(P("dir").c_str(), S_IFDIR | 0777, 0), SyscallFailsWithErrno(EPERM));
    EXPECT_THAT(mknod(P("bad").c_str(), 0170000 | 0777, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(mknod(P("fifo").c_str(), S_IFIFO | 0666, 0), SyscallFailsWithErrno(EEXIST));
}

TEST_F(NamespaceTest, TmpFileHasNoNameUntilLinked) {
    Fd fd(open(m_dir.path().c_str(), O_TMPFILE | O_RDWR, 0600));
    ASSERT_GE(fd.get(), 0) << strerror(errno);
    ASSERT_EQ(write(fd.get(), "tmp", 3), 3);
    struct stat st;
    ASSERT_THAT(fstat(fd.get(), &st), SyscallSucceeds());
    EXPECT_EQ(st.st_nlink, 0u);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_THAT(open(m_dir.path().c_str(), O_TMPFILE | O_RDONLY, 0600), SyscallFailsWithErrno(EINVAL));
    if (geteuid() == 0) {
        ASSERT_THAT(linkat(fd.get(), "", AT_FDCWD, P("named").c_str(), AT_EMPTY_PATH), SyscallSucceeds());
        EXPECT_EQ(Lstat("named").st_size, 3);
    }
}

// Permission rules need an unprivileged caller: a child drops to nobody.
TEST_F(NamespaceTest, UnprivilegedCallerRules) {
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root to switch to an unprivileged user";
    ASSERT_THAT(chmod(m_dir.path().c_str(), 0755), SyscallSucceeds());
    ASSERT_THAT(mkdir(P("sticky").c_str(), 0777), SyscallSucceeds());
    ASSERT_THAT(chmod(P("sticky").c_str(), 01777), SyscallSucceeds());
    Touch("sticky/roots");
    pid_t pid = ForkAndRun([&] {
        if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
            return 1;
        if (mkdir(P("nope").c_str(), 0777) != -1 || errno != EACCES)
            return 2;
        if (unlink(P("sticky/roots").c_str()) != -1 || errno != EPERM)
            return 3;
        if (rename(P("sticky/roots").c_str(), P("sticky/x").c_str()) != -1 || errno != EPERM)
            return 4;
        int fd = open(P("sticky/mine").c_str(), O_CREAT | O_WRONLY, 0644);
        if (fd < 0)
            return 5;
        close(fd);
        if (unlink(P("sticky/mine").c_str()) != 0)
            return 6;
        if (link(P("sticky/roots").c_str(), P("sticky/hl").c_str()) != -1 || errno != EPERM)
            return 7;
        return 0;
    });
    EXPECT_EQ(WaitStatus(pid), 0);
}

}  // namespace
}  // namespace moat::conformance
