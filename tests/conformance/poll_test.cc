// Conformance: poll(2) and ppoll(2) — readiness of pipes and eventfds, POLLNVAL, POLLHUP and
// POLLERR of closed pipe ends, timeouts (0, negative, elapsed), the remaining-time write-back
// of ppoll, its temporary signal mask, EINTR, and the argument errors.

#include "tests/conformance/test_util.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

using ::testing::Ge;

struct Pipe {
    Pipe() {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) == 0) {
            r = Fd(fds[0]);
            w = Fd(fds[1]);
        }
    }
    Fd r, w;
};

std::atomic<int> g_signals{0};
void CountSignal(int) { g_signals++; }

double Seconds(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

TEST(PollTest, EmptyPipeReadEndNotReadableWriteEndWritable) {
    Pipe p;
    struct pollfd fds[2] = {{p.r.get(), POLLIN | POLLOUT, -1}, {p.w.get(), POLLIN | POLLOUT, -1}};
    EXPECT_THAT(poll(fds, 2, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(fds[0].revents, 0);
    EXPECT_EQ(fds[1].revents, POLLOUT);
}

TEST(PollTest, PipeWithDataIsReadable) {
    Pipe p;
    ASSERT_EQ(write(p.w.get(), "x", 1), 1);
    struct pollfd fd = {p.r.get(), POLLIN | POLLRDNORM | POLLPRI, 0};
    EXPECT_THAT(poll(&fd, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(fd.revents, POLLIN | POLLRDNORM);
}

TEST(PollTest, ReadEndHangsUpWhenWritersClose) {
    Pipe p;
    ASSERT_EQ(write(p.w.get(), "x", 1), 1);
    p.w.Reset();
    // POLLHUP is reported even though only POLLIN was asked for.
    struct pollfd fd = {p.r.get(), POLLIN, 0};
    EXPECT_THAT(poll(&fd, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(fd.revents, POLLIN | POLLHUP);
    char c;
    ASSERT_EQ(read(p.r.get(), &c, 1), 1);
    fd.revents = 0;
    fd.events = 0;
    EXPECT_THAT(poll(&fd, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(fd.revents, POLLHUP);
}

TEST(PollTest, WriteEndErrorsWhenReadersClose) {
    Pipe p;
    p.r.Reset();
    struct pollfd fd = {p.w.get(), POLLOUT, 0};
    EXPECT_THAT(poll(&fd, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(fd.revents, POLLOUT | POLLERR);
}

TEST(PollTest, FullPipeIsNotWritable) {
    Pipe p;
    ASSERT_EQ(fcntl(p.w.get(), F_SETFL, O_NONBLOCK), 0);
    char buf[4096] = {};
    while (write(p.w.get(), buf, sizeof(buf)) > 0) {
    }
    struct pollfd fd = {p.w.get(), POLLOUT, 0};
    EXPECT_THAT(poll(&fd, 1, 0), SyscallSucceedsWithValue(0));
    EXPECT_EQ(fd.revents, 0);
    ASSERT_EQ(read(p.r.get(), buf, sizeof(buf)), 4096);
    EXPECT_THAT(poll(&fd, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(fd.revents, POLLOUT);
}

TEST(PollTest, BadFdIsPollnvalNegativeFdIgnored) {
    struct pollfd fds[2] = {{1000, POLLIN, 0}, {-5, POLLIN, 77}};
    EXPECT_THAT(poll(fds, 2, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(fds[0].revents, POLLNVAL);
    EXPECT_EQ(fds[1].revents, 0);
}

TEST(PollTest, RegularFileAlwaysReady) {
    Fd f(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(f.ok());
    struct pollfd fd = {f.get(), POLLIN | POLLOUT | POLLPRI, 0};
    EXPECT_THAT(poll(&fd, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(fd.revents, POLLIN | POLLOUT);
}

TEST(PollTest, ZeroFdsWithTimeoutSleeps) {
    auto start = std::chrono::steady_clock::now();
    EXPECT_THAT(poll(nullptr, 0, 30), SyscallSucceedsWithValue(0));
    EXPECT_GE(Seconds(start), 0.029);
}

TEST(PollTest, TimesOutOnEmptyPipe) {
    Pipe p;
    struct pollfd fd = {p.r.get(), POLLIN, 0};
    auto start = std::chrono::steady_clock::now();
    EXPECT_THAT(poll(&fd, 1, 20), SyscallSucceedsWithValue(0));
    EXPECT_GE(Seconds(start), 0.019);
    EXPECT_EQ(fd.revents, 0);
}

TEST(PollTest, WakesWhenAnotherThreadWrites) {
    Pipe p;
    std::thread writer([&] {
        usleep(20000);
        (void)!write(p.w.get(), "x", 1);
    });
    struct pollfd fd = {p.r.get(), POLLIN, 0};
    EXPECT_THAT(poll(&fd, 1, -1), SyscallSucceedsWithValue(1));
    EXPECT_EQ(fd.revents, POLLIN);
    writer.join();
}

TEST(PollTest, WakesWhenWriterCloses) {
    Pipe p;
    int w = p.w.get();
    std::thread closer([&] {
        usleep(20000);
        p.w.Reset();
    });
    struct pollfd fd = {p.r.get(), POLLIN, 0};
    EXPECT_THAT(poll(&fd, 1, 5000), SyscallSucceedsWithValue(1));
    EXPECT_EQ(fd.revents, POLLHUP);
    closer.join();
    (void)w;
}

TEST(PollTest, EventfdReadiness) {
    Fd e(eventfd(0, EFD_CLOEXEC));
    ASSERT_TRUE(e.ok());
    struct pollfd fd = {e.get(), POLLIN | POLLOUT, 0};
    EXPECT_THAT(poll(&fd, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(fd.revents, POLLOUT);
    uint64_t one = 1;
    ASSERT_EQ(write(e.get(), &one, 8), 8);
    EXPECT_THAT(poll(&fd, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(fd.revents, POLLIN | POLLOUT);
}

TEST(PollTest, NfdsAboveRlimitIsEinval) {
    struct rlimit lim;
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &lim), 0);
    EXPECT_THAT(syscall(SYS_poll, nullptr, static_cast<unsigned long>(lim.rlim_cur) + 1, 0),
                SyscallFailsWithErrno(EINVAL));
}

TEST(PollTest, BadArrayIsEfault) {
    EXPECT_THAT(syscall(SYS_poll, kLowAddr, 1UL, 0L), SyscallFailsWithErrno(EFAULT));
}

TEST(PollTest, SignalInterruptsWithEintr) {
    struct sigaction sa {}, old{};
    sa.sa_handler = CountSignal;
    ASSERT_EQ(sigaction(SIGALRM, &sa, &old), 0);
    g_signals = 0;
    struct itimerval it {};
    it.it_value.tv_usec = 20000;
    ASSERT_EQ(setitimer(ITIMER_REAL, &it, nullptr), 0);
    Pipe p;
    struct pollfd fd = {p.r.get(), POLLIN, 0};
    // poll is never restarted into a handler, even with SA_RESTART.
    EXPECT_THAT(poll(&fd, 1, 5000), SyscallFailsWithErrno(EINTR));
    EXPECT_EQ(g_signals.load(), 1);
    sigaction(SIGALRM, &old, nullptr);
}

TEST(PpollTest, WritesBackRemainingTime) {
    Pipe p;
    struct pollfd fd = {p.r.get(), POLLIN, 0};
    std::thread writer([&] {
        usleep(20000);
        (void)!write(p.w.get(), "x", 1);
    });
    struct timespec ts = {5, 0};
    EXPECT_THAT(syscall(SYS_ppoll, &fd, 1UL, &ts, nullptr, 8UL), SyscallSucceedsWithValue(1));
    writer.join();
    EXPECT_EQ(ts.tv_sec, 4);  // about 4.98 s left
    EXPECT_GT(ts.tv_nsec, 500000000);
}

TEST(PpollTest, TimeoutLeavesZeroRemaining) {
    Pipe p;
    struct pollfd fd = {p.r.get(), POLLIN, 0};
    struct timespec ts = {0, 10000000};
    EXPECT_THAT(syscall(SYS_ppoll, &fd, 1UL, &ts, nullptr, 8UL), SyscallSucceedsWithValue(0));
    EXPECT_EQ(ts.tv_sec, 0);
    EXPECT_EQ(ts.tv_nsec, 0);
}

TEST(PpollTest, InvalidTimespecIsEinval) {
    struct timespec ts = {0, 1000000000};
    EXPECT_THAT(syscall(SYS_ppoll, nullptr, 0UL, &ts, nullptr, 8UL), SyscallFailsWithErrno(EINVAL));
    ts = {-1, 0};
    EXPECT_THAT(syscall(SYS_ppoll, nullptr, 0UL, &ts, nullptr, 8UL), SyscallFailsWithErrno(EINVAL));
}

TEST(PpollTest, BadSigsetSizeIsEinval) {
    sigset_t set;
    sigemptyset(&set);
    struct timespec ts = {0, 0};
    EXPECT_THAT(syscall(SYS_ppoll, nullptr, 0UL, &ts, &set, 4UL), SyscallFailsWithErrno(EINVAL));
}

TEST(PpollTest, TemporaryMaskLetsPendingSignalIn) {
    struct sigaction sa {}, old{};
    sa.sa_handler = CountSignal;
    ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
    sigset_t block, orig;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    ASSERT_EQ(sigprocmask(SIG_BLOCK, &block, &orig), 0);
    g_signals = 0;
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    EXPECT_EQ(g_signals.load(), 0);
    sigset_t none;
    sigemptyset(&none);
    struct timespec ts = {5, 0};
    EXPECT_THAT(syscall(SYS_ppoll, nullptr, 0UL, &ts, &none, 8UL), SyscallFailsWithErrno(EINTR));
    EXPECT_EQ(g_signals.load(), 1);
    // The old mask is back: SIGUSR1 blocked again.
    sigset_t now;
    ASSERT_EQ(sigprocmask(SIG_SETMASK, nullptr, &now), 0);
    EXPECT_TRUE(sigismember(&now, SIGUSR1));
    sigprocmask(SIG_SETMASK, &orig, nullptr);
    sigaction(SIGUSR1, &old, nullptr);
}

TEST(PpollTest, MaskRestoredAfterNormalReturn) {
    sigset_t block, orig, now;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    ASSERT_EQ(sigprocmask(SIG_BLOCK, &block, &orig), 0);
    sigset_t none;
    sigemptyset(&none);
    struct timespec ts = {0, 1000000};
    EXPECT_THAT(syscall(SYS_ppoll, nullptr, 0UL, &ts, &none, 8UL), SyscallSucceedsWithValue(0));
    ASSERT_EQ(sigprocmask(SIG_SETMASK, nullptr, &now), 0);
    EXPECT_TRUE(sigismember(&now, SIGUSR2));
    sigprocmask(SIG_SETMASK, &orig, nullptr);
}

}  // namespace
}  // namespace moat::conformance
