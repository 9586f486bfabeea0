// Buffers that start in good memory and run into a PROT_NONE page (issue #7). Linux answers
// these call by call: a read from a file copies what fits and reports it, a pipe or a socket
// refuses the whole chunk (EFAULT, the data stays queued), a struct copied out is all or EFAULT.
// The expectations are what native Linux does; moat must do the same.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace moat::security {
namespace {

class StraddleTest : public ::testing::Test {
protected:
    void SetUp() override {
        m_page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
        void* p = mmap(nullptr, 2 * m_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_NE(p, MAP_FAILED);
        m_region = static_cast<char*>(p);
        ASSERT_EQ(mprotect(m_region + m_page, m_page, PROT_NONE), 0);
        ASSERT_EQ(pipe2(m_pipe, O_CLOEXEC), 0);
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, m_stream), 0);
        m_file = open("/etc/os-release", O_RDONLY | O_CLOEXEC);
        ASSERT_GE(m_file, 0);
        char name[] = "/tmp/moat-straddle-XXXXXX";
        m_scratch = mkstemp(name);
        ASSERT_GE(m_scratch, 0);
        unlink(name);
    }
    void TearDown() override {
        for (int fd : {m_pipe[0], m_pipe[1], m_stream[0], m_stream[1], m_file, m_scratch})
            if (fd >= 0)
                close(fd);
        munmap(m_region, 2 * m_page);
    }
    // `good_bytes` of good memory, then the PROT_NONE page.
    char* Straddle(size_t good_bytes) const { return m_region + m_page - good_bytes; }
    // What a read with a good buffer gets from `fd` now.
    std::string Drain(int fd) const {
        char buf[512];
        long n = syscall(SYS_read, fd, buf, sizeof(buf));
        return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    }

    size_t m_page = 0;
    char* m_region = nullptr;
    int m_pipe[2] = {-1, -1};
    int m_stream[2] = {-1, -1};
    int m_file = -1;
    int m_scratch = -1;
};

std::string const k100(100, 'x');

TEST_F(StraddleTest, FileReadCopiesWhatFits) {
    std::string head(40, '\0');
    ASSERT_EQ(pread(m_file, head.data(), 40, 0), 40);
    EXPECT_EQ(syscall(SYS_read, m_file, Straddle(40), 100), 40);
    EXPECT_EQ(std::string(Straddle(40), 40), head);
    EXPECT_EQ(lseek(m_file, 0, SEEK_CUR), 40);  // the file offset moved by what was copied
}

TEST_F(StraddleTest, PipeReadIsEfaultAndKeepsTheData) {
    ASSERT_EQ(write(m_pipe[1], k100.data(), 100), 100);
    errno = 0;
    EXPECT_EQ(syscall(SYS_read, m_pipe[0], Straddle(40), 100), -1);
    EXPECT_EQ(errno, EFAULT);
    EXPECT_EQ(Drain(m_pipe[0]), k100);
}

TEST_F(StraddleTest, PipeWriteIsEfaultAndQueuesNothing) {
    memset(Straddle(40), 'y', 40);
    errno = 0;
    EXPECT_EQ(syscall(SYS_write, m_pipe[1], Straddle(40), 100), -1);
    EXPECT_EQ(errno, EFAULT);
    ASSERT_EQ(fcntl(m_pipe[0], F_SETFL, O_NONBLOCK), 0);
    EXPECT_EQ(Drain(m_pipe[0]), "");
}

TEST_F(StraddleTest, FileWriteWritesWhatFits) {
    memset(Straddle(40), 'y', 40);
    EXPECT_EQ(syscall(SYS_write, m_scratch, Straddle(40), 100), 40);
    struct stat st;
    ASSERT_EQ(fstat(m_scratch, &st), 0);
    EXPECT_EQ(st.st_size, 40);
}

TEST_F(StraddleTest, ReadvStopsAtTheBadIovec) {
    char good[16];
    iovec iov[2] = {{good, sizeof(good)}, {m_region + m_page, 16}};
    EXPECT_EQ(syscall(SYS_readv, m_file, iov, 2), 16);
}

TEST_F(StraddleTest, WritevToPipeIsEfault) {
    char good[16] = "sixteen bytes..";
    iovec iov[2] = {{good, sizeof(good)}, {m_region + m_page, 16}};
    errno = 0;
    EXPECT_EQ(syscall(SYS_writev, m_pipe[1], iov, 2), -1);
    EXPECT_EQ(errno, EFAULT);
}

TEST_F(StraddleTest, StreamRecvIsEfaultAndKeepsTheData) {
    ASSERT_EQ(write(m_stream[0], k100.data(), 100), 100);
    errno = 0;
    EXPECT_EQ(syscall(SYS_recvfrom, m_stream[1], Straddle(40), 100, MSG_DONTWAIT, nullptr, nullptr), -1);
    EXPECT_EQ(errno, EFAULT);
    EXPECT_EQ(Drain(m_stream[1]), k100);
}

TEST_F(StraddleTest, StreamSendIsEfault) {
    errno = 0;
    EXPECT_EQ(syscall(SYS_sendto, m_stream[0], Straddle(40), 100, MSG_DONTWAIT, nullptr, 0), -1);
    EXPECT_EQ(errno, EFAULT);
}

TEST_F(StraddleTest, GetrandomFillsWhatFits) {
    EXPECT_EQ(syscall(SYS_getrandom, Straddle(8), 16, 0), 8);
}

TEST_F(StraddleTest, GetdentsReturnsTheEntriesThatFit) {
    int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(dir, 0);
    // Room for "." and ".." (24 bytes each), not for a long listing.
    long n = syscall(SYS_getdents64, dir, Straddle(64), 4096);
    close(dir);
    EXPECT_GT(n, 0);
    EXPECT_LE(n, 64);
}

TEST_F(StraddleTest, StructsAreAllOrEfault) {
    errno = 0;
    EXPECT_EQ(syscall(SYS_fstat, m_file, Straddle(sizeof(struct stat) / 2)), -1);
    EXPECT_EQ(errno, EFAULT);
    errno = 0;
    EXPECT_EQ(syscall(SYS_uname, Straddle(sizeof(utsname) / 2)), -1);
    EXPECT_EQ(errno, EFAULT);
    errno = 0;
    EXPECT_EQ(syscall(SYS_pipe, Straddle(4)), -1);
    EXPECT_EQ(errno, EFAULT);
    // Two pollfds, the second in the bad page.
    pollfd* fds = reinterpret_cast<pollfd*>(Straddle(sizeof(pollfd)));
    fds[0] = {m_pipe[0], POLLIN, 0};
    errno = 0;
    EXPECT_EQ(syscall(SYS_poll, fds, 2, 0), -1);
    EXPECT_EQ(errno, EFAULT);
}

TEST_F(StraddleTest, PathRunningIntoTheBadPageIsEfault) {
    char* path = Straddle(11);
    memcpy(path, "/etc/os-rel", 11);  // no NUL before the bad page
    errno = 0;
    EXPECT_EQ(syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC), -1);
    EXPECT_EQ(errno, EFAULT);
}

}  // namespace
}  // namespace moat::security
