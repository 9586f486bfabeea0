// Conformance: signalfd(2)/signalfd4(2) — reading blocked pending signals as signalfd_siginfo
// (process- and thread-directed, several per read), the mask and its update through an
// existing fd, flags, poll readiness, blocking reads woken by a signal, and the errors.

#include "tests/conformance/test_util.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

class SignalfdTest : public ::testing::Test {
protected:
    void SetUp() override {
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        sigaddset(&set, SIGUSR2);
        ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, &orig), 0);
    }
    void TearDown() override {
        // Drain what a test left pending, then unblock.
        struct timespec zero = {0, 0};
        while (sigtimedwait(&set, nullptr, &zero) > 0) {
        }
        sigprocmask(SIG_SETMASK, &orig, nullptr);
    }
    sigset_t set, orig;
};

TEST_F(SignalfdTest, ReadsPendingSignal) {
    Fd s(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    ASSERT_TRUE(s.ok());
    struct signalfd_siginfo info;
    EXPECT_THAT(read(s.get(), &info, sizeof(info)), SyscallFailsWithErrno(EAGAIN));
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    ASSERT_THAT(read(s.get(), &info, sizeof(info)), SyscallSucceedsWithValue(sizeof(info)));
    EXPECT_EQ(info.ssi_signo, static_cast<uint32_t>(SIGUSR1));
    EXPECT_EQ(info.ssi_code, SI_USER);
    EXPECT_EQ(info.ssi_pid, static_cast<uint32_t>(getpid()));
    EXPECT_EQ(info.ssi_uid, getuid());
    // Consumed: no longer pending.
    sigset_t pending;
    ASSERT_EQ(sigpending(&pending), 0);
    EXPECT_FALSE(sigismember(&pending, SIGUSR1));
}

TEST_F(SignalfdTest, SeveralPerReadAndQueuedValue) {
    Fd s(signalfd(-1, &set, SFD_NONBLOCK));
    union sigval v;
    v.sival_int = 1234;
    ASSERT_EQ(sigqueue(getpid(), SIGUSR2, v), 0);
    ASSERT_EQ(syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1), 0);
    struct signalfd_siginfo info[3];
    ASSERT_THAT(read(s.get(), info, sizeof(info)), SyscallSucceedsWithValue(2 * sizeof(info[0])));
    // The thread's own pending set first, then the process's.
    EXPECT_EQ(info[0].ssi_signo, static_cast<uint32_t>(SIGUSR1));
    EXPECT_EQ(info[0].ssi_code, SI_TKILL);
    EXPECT_EQ(info[1].ssi_signo, static_cast<uint32_t>(SIGUSR2));
    EXPECT_EQ(info[1].ssi_code, SI_QUEUE);
    EXPECT_EQ(info[1].ssi_int, 1234);
}

TEST_F(SignalfdTest, OnlySignalsInItsMask) {
    sigset_t only1;
    sigemptyset(&only1);
    sigaddset(&only1, SIGUSR1);
    Fd s(signalfd(-1, &only1, SFD_NONBLOCK));
    ASSERT_EQ(kill(getpid(), SIGUSR2), 0);
    struct signalfd_siginfo info;
    EXPECT_THAT(read(s.get(), &info, sizeof(info)), SyscallFailsWithErrno(EAGAIN));
    struct pollfd p = {s.get(), POLLIN, 0};
    EXPECT_THAT(poll(&p, 1, 0), SyscallSucceedsWithValue(0));
    // Update the mask through the existing fd: the same fd comes back.
    EXPECT_THAT(signalfd(s.get(), &set, 0), SyscallSucceedsWithValue(s.get()));
    EXPECT_THAT(poll(&p, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(p.revents, POLLIN);
    ASSERT_THAT(read(s.get(), &info, sizeof(info)), SyscallSucceedsWithValue(sizeof(info)));
    EXPECT_EQ(info.ssi_signo, static_cast<uint32_t>(SIGUSR2));
}

TEST_F(SignalfdTest, BlockingReadWokenBySignalFromAnotherThread) {
    Fd s(signalfd(-1, &set, SFD_CLOEXEC));
    pid_t pid = getpid();
    std::thread sender([pid] {
        usleep(20000);
        kill(pid, SIGUSR2);
    });
    struct signalfd_siginfo info;
    ASSERT_THAT(read(s.get(), &info, sizeof(info)), SyscallSucceedsWithValue(sizeof(info)));
    EXPECT_EQ(info.ssi_signo, static_cast<uint32_t>(SIGUSR2));
    sender.join();
}

TEST_F(SignalfdTest, PollWokenBySignal) {
    Fd s(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    pid_t pid = getpid();
    std::thread sender([pid] {
        usleep(20000);
        kill(pid, SIGUSR1);
    });
    struct pollfd p = {s.get(), POLLIN, 0};
    EXPECT_THAT(poll(&p, 1, 5000), SyscallSucceedsWithValue(1));
    sender.join();
}

TEST_F(SignalfdTest, Errors) {
    EXPECT_THAT(syscall(SYS_signalfd4, -1, &set, 4, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_signalfd4, -1, &set, 8, 0x1), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_signalfd4, -1, kLowAddr, 8, 0), SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(syscall(SYS_signalfd4, 999, &set, 8, 0), SyscallFailsWithErrno(EBADF));
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    EXPECT_THAT(syscall(SYS_signalfd4, fds[0], &set, 8, 0), SyscallFailsWithErrno(EINVAL));
    close(fds[0]);
    close(fds[1]);
    Fd s(signalfd(-1, &set, SFD_NONBLOCK));
    char small[64];
    EXPECT_THAT(read(s.get(), small, sizeof(small)), SyscallFailsWithErrno(EINVAL));
}

TEST_F(SignalfdTest, Flags) {
    Fd s(static_cast<int>(syscall(SYS_signalfd4, -1, &set, 8, SFD_CLOEXEC | SFD_NONBLOCK)));
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(fcntl(s.get(), F_GETFD), FD_CLOEXEC);
    EXPECT_EQ(fcntl(s.get(), F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDWR | O_NONBLOCK);
    Fd plain(static_cast<int>(syscall(SYS_signalfd, -1, &set, 8)));
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(fcntl(plain.get(), F_GETFD), 0);
}

}  // namespace
}  // namespace moat::conformance
