// Conformance: eventfd(2)/eventfd2(2) — the counter, EFD_SEMAPHORE, EFD_NONBLOCK, EFD_CLOEXEC,
// 8-byte reads and writes (EINVAL for less), the 2^64-1 limit, blocking both ways, fstat.

#include "tests/conformance/test_util.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

uint64_t ReadCount(int fd) {
    uint64_t v = 0;
    if (read(fd, &v, sizeof(v)) != sizeof(v))
        return UINT64_MAX;
    return v;
}

TEST(EventfdTest, InitialValueReadResetsCounter) {
    Fd e(eventfd(5, EFD_CLOEXEC | EFD_NONBLOCK));
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(ReadCount(e.get()), 5u);
    uint64_t v;
    EXPECT_THAT(read(e.get(), &v, sizeof(v)), SyscallFailsWithErrno(EAGAIN));
}

TEST(EventfdTest, WritesAdd) {
    Fd e(eventfd(0, EFD_NONBLOCK));
    ASSERT_TRUE(e.ok());
    uint64_t v = 3;
    ASSERT_EQ(write(e.get(), &v, 8), 8);
    v = 4;
    ASSERT_EQ(write(e.get(), &v, 8), 8);
    EXPECT_EQ(ReadCount(e.get()), 7u);
}

TEST(EventfdTest, SemaphoreReadsOneAtATime) {
    Fd e(eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK));
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(ReadCount(e.get()), 1u);
    EXPECT_EQ(ReadCount(e.get()), 1u);
    uint64_t v;
    EXPECT_THAT(read(e.get(), &v, sizeof(v)), SyscallFailsWithErrno(EAGAIN));
}

TEST(EventfdTest, ReadNeedsEightBytesWriteExactlyEight) {
    Fd e(eventfd(1, EFD_NONBLOCK));
    ASSERT_TRUE(e.ok());
    uint32_t small = 1;
    EXPECT_THAT(read(e.get(), &small, 4), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(write(e.get(), &small, 4), SyscallFailsWithErrno(EINVAL));
    uint64_t big[2] = {};
    EXPECT_THAT(read(e.get(), big, sizeof(big)), SyscallSucceedsWithValue(8));
    EXPECT_EQ(big[0], 1u);
    big[0] = 9;
    EXPECT_THAT(write(e.get(), big, sizeof(big)), SyscallFailsWithErrno(EINVAL));  // Linux >= 6.9
    EXPECT_THAT(write(e.get(), big, 8), SyscallSucceedsWithValue(8));
    EXPECT_EQ(ReadCount(e.get()), 9u);
}

TEST(EventfdTest, MaxValueWriteIsEinvalOverflowIsEagain) {
    Fd e(eventfd(0, EFD_NONBLOCK));
    ASSERT_TRUE(e.ok());
    uint64_t v = UINT64_MAX;
    EXPECT_THAT(write(e.get(), &v, 8), SyscallFailsWithErrno(EINVAL));
    v = UINT64_MAX - 1;
    EXPECT_THAT(write(e.get(), &v, 8), SyscallSucceedsWithValue(8));
    struct pollfd p = {e.get(), POLLIN | POLLOUT, 0};
    EXPECT_THAT(poll(&p, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(p.revents, POLLIN);
    v = 1;
    EXPECT_THAT(write(e.get(), &v, 8), SyscallFailsWithErrno(EAGAIN));
    v = 0;
    EXPECT_THAT(write(e.get(), &v, 8), SyscallSucceedsWithValue(8));
}

TEST(EventfdTest, BadFlagsAreEinval) {
    EXPECT_THAT(syscall(SYS_eventfd2, 0, 0x4), SyscallFailsWithErrno(EINVAL));
}

TEST(EventfdTest, CloexecAndNonblockFlags) {
    Fd e(static_cast<int>(syscall(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK)));
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(fcntl(e.get(), F_GETFD), FD_CLOEXEC);
    EXPECT_EQ(fcntl(e.get(), F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDWR | O_NONBLOCK);
    Fd plain(static_cast<int>(syscall(SYS_eventfd, 0)));
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(fcntl(plain.get(), F_GETFD), 0);
    EXPECT_EQ(fcntl(plain.get(), F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDWR);
}

TEST(EventfdTest, BlockingReadWaitsForWrite) {
    Fd e(eventfd(0, EFD_CLOEXEC));
    ASSERT_TRUE(e.ok());
    std::thread writer([&] {
        usleep(20000);
        uint64_t v = 42;
        (void)!write(e.get(), &v, 8);
    });
    EXPECT_EQ(ReadCount(e.get()), 42u);
    writer.join();
}

TEST(EventfdTest, BlockingWriteWaitsForRead) {
    Fd e(eventfd(0, EFD_CLOEXEC));
    ASSERT_TRUE(e.ok());
    uint64_t v = UINT64_MAX - 1;
    ASSERT_EQ(write(e.get(), &v, 8), 8);
    std::thread reader([&] {
        usleep(20000);
        (void)ReadCount(e.get());
    });
    v = 5;
    EXPECT_THAT(write(e.get(), &v, 8), SyscallSucceedsWithValue(8));
    reader.join();
    EXPECT_EQ(ReadCount(e.get()), 5u);
}

TEST(EventfdTest, BadBufferIsEfault) {
    Fd e(eventfd(0, EFD_NONBLOCK));
    ASSERT_TRUE(e.ok());
    EXPECT_THAT(syscall(SYS_write, e.get(), kLowAddr, 8), SyscallFailsWithErrno(EFAULT));
}

TEST(EventfdTest, StatIsAnonInodeAndSeekIsNoop) {
    Fd e(eventfd(0, EFD_CLOEXEC));
    ASSERT_TRUE(e.ok());
    struct stat st;
    ASSERT_EQ(fstat(e.get(), &st), 0);
    EXPECT_EQ(st.st_mode, static_cast<mode_t>(S_IRUSR | S_IWUSR));
    EXPECT_EQ(st.st_size, 0);
    EXPECT_THAT(lseek(e.get(), 100, SEEK_SET), SyscallSucceedsWithValue(0));
}

}  // namespace
}  // namespace moat::conformance
