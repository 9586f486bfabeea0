// Conformance: select(2) and pselect6(2) — readiness bits, EBADF for a closed fd, counting,
// timeouts and the remaining-time write-back, EINVAL for bad timeouts, EINTR, and pselect6's
// temporary signal mask.

#include "tests/conformance/test_util.h"

#include <signal.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

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

long RawSelect(int n, fd_set* in, fd_set* out, fd_set* ex, struct timeval* tv) {
    return syscall(SYS_select, n, in, out, ex, tv);
}

TEST(SelectTest, ReportsReadableAndWritableBits) {
    Pipe p;
    ASSERT_EQ(write(p.w.get(), "x", 1), 1);
    fd_set in, out;
    FD_ZERO(&in);
    FD_ZERO(&out);
    FD_SET(p.r.get(), &in);
    FD_SET(p.w.get(), &in);
    FD_SET(p.r.get(), &out);
    FD_SET(p.w.get(), &out);
    struct timeval tv = {0, 0};
    int n = std::max(p.r.get(), p.w.get()) + 1;
    EXPECT_THAT(RawSelect(n, &in, &out, nullptr, &tv), SyscallSucceedsWithValue(2));
    EXPECT_TRUE(FD_ISSET(p.r.get(), &in));
    EXPECT_FALSE(FD_ISSET(p.w.get(), &in));
    EXPECT_FALSE(FD_ISSET(p.r.get(), &out));
    EXPECT_TRUE(FD_ISSET(p.w.get(), &out));
}

TEST(SelectTest, SameFdInTwoSetsCountsTwice) {
    Fd f(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(f.ok());
    fd_set in, out;
    FD_ZERO(&in);
    FD_ZERO(&out);
    FD_SET(f.get(), &in);
    FD_SET(f.get(), &out);
    struct timeval tv = {0, 0};
    EXPECT_THAT(RawSelect(f.get() + 1, &in, &out, nullptr, &tv), SyscallSucceedsWithValue(2));
}

TEST(SelectTest, HangupCountsAsReadable) {
    Pipe p;
    p.w.Reset();
    fd_set in;
    FD_ZERO(&in);
    FD_SET(p.r.get(), &in);
    struct timeval tv = {0, 0};
    EXPECT_THAT(RawSelect(p.r.get() + 1, &in, nullptr, nullptr, &tv), SyscallSucceedsWithValue(1));
    EXPECT_TRUE(FD_ISSET(p.r.get(), &in));
}

TEST(SelectTest, ClosedFdIsEbadf) {
    Pipe p;
    int closed = p.w.get();
    p.w.Reset();
    fd_set in;
    FD_ZERO(&in);
    FD_SET(closed, &in);
    struct timeval tv = {0, 0};
    EXPECT_THAT(RawSelect(closed + 1, &in, nullptr, nullptr, &tv), SyscallFailsWithErrno(EBADF));
}

TEST(SelectTest, NegativeNfdsIsEinval) {
    struct timeval tv = {0, 0};
    EXPECT_THAT(RawSelect(-1, nullptr, nullptr, nullptr, &tv), SyscallFailsWithErrno(EINVAL));
}

TEST(SelectTest, BadTimeoutIsEinval) {
    struct timeval tv = {-1, 0};
    EXPECT_THAT(RawSelect(0, nullptr, nullptr, nullptr, &tv), SyscallFailsWithErrno(EINVAL));
    tv = {0, -1};
    EXPECT_THAT(RawSelect(0, nullptr, nullptr, nullptr, &tv), SyscallFailsWithErrno(EINVAL));
}

TEST(SelectTest, MicrosecondsCarryIntoSeconds) {
    // 1,010,000 µs is 1.01 s, not an error: Linux normalizes it.
    Pipe p;
    ASSERT_EQ(write(p.w.get(), "x", 1), 1);
    fd_set in;
    FD_ZERO(&in);
    FD_SET(p.r.get(), &in);
    struct timeval tv = {0, 1010000};
    EXPECT_THAT(RawSelect(p.r.get() + 1, &in, nullptr, nullptr, &tv), SyscallSucceedsWithValue(1));
    EXPECT_EQ(tv.tv_sec, 1);
}

TEST(SelectTest, TimeoutClearsSetsAndZeroesTimeval) {
    Pipe p;
    fd_set in;
    FD_ZERO(&in);
    FD_SET(p.r.get(), &in);
    struct timeval tv = {0, 20000};
    auto start = std::chrono::steady_clock::now();
    EXPECT_THAT(RawSelect(p.r.get() + 1, &in, nullptr, nullptr, &tv), SyscallSucceedsWithValue(0));
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(19));
    EXPECT_FALSE(FD_ISSET(p.r.get(), &in));
    EXPECT_EQ(tv.tv_sec, 0);
    EXPECT_EQ(tv.tv_usec, 0);
}

TEST(SelectTest, WritesBackRemainingTime) {
    Pipe p;
    std::thread writer([&] {
        usleep(20000);
        (void)!write(p.w.get(), "x", 1);
    });
    fd_set in;
    FD_ZERO(&in);
    FD_SET(p.r.get(), &in);
    struct timeval tv = {5, 0};
    EXPECT_THAT(RawSelect(p.r.get() + 1, &in, nullptr, nullptr, &tv), SyscallSucceedsWithValue(1));
    writer.join();
    EXPECT_EQ(tv.tv_sec, 4);
    EXPECT_GT(tv.tv_usec, 500000);
}

TEST(SelectTest, NullTimeoutWaitsForEventfd) {
    Fd e(eventfd(0, EFD_CLOEXEC));
    ASSERT_TRUE(e.ok());
    std::thread writer([&] {
        usleep(20000);
        uint64_t one = 1;
        (void)!write(e.get(), &one, 8);
    });
    fd_set in;
    FD_ZERO(&in);
    FD_SET(e.get(), &in);
    EXPECT_THAT(RawSelect(e.get() + 1, &in, nullptr, nullptr, nullptr), SyscallSucceedsWithValue(1));
    writer.join();
}

TEST(SelectTest, SignalInterruptsWithEintrAndKeepsSets) {
    struct sigaction sa {}, old{};
    sa.sa_handler = CountSignal;
    sa.sa_flags = SA_RESTART;  // select is not restarted into a handler even so
    ASSERT_EQ(sigaction(SIGALRM, &sa, &old), 0);
    struct itimerval it {};
    it.it_value.tv_usec = 20000;
    ASSERT_EQ(setitimer(ITIMER_REAL, &it, nullptr), 0);
    Pipe p;
    fd_set in;
    FD_ZERO(&in);
    FD_SET(p.r.get(), &in);
    struct timeval tv = {5, 0};
    EXPECT_THAT(RawSelect(p.r.get() + 1, &in, nullptr, nullptr, &tv), SyscallFailsWithErrno(EINTR));
    EXPECT_TRUE(FD_ISSET(p.r.get(), &in));  // sets are not written back on EINTR
    EXPECT_EQ(tv.tv_sec, 4);                // but the time left is
    sigaction(SIGALRM, &old, nullptr);
}

TEST(Pselect6Test, TemporaryMaskAndSigsetSize) {
    struct sigaction sa {}, old{};
    sa.sa_handler = CountSignal;
    ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
    sigset_t block, orig;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    ASSERT_EQ(sigprocmask(SIG_BLOCK, &block, &orig), 0);
    g_signals = 0;
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    sigset_t none;
    sigemptyset(&none);
    struct {
        const sigset_t* set;
        size_t size;
    } pack = {&none, 4};
    struct timespec ts = {5, 0};
    EXPECT_THAT(syscall(SYS_pselect6, 0, nullptr, nullptr, nullptr, &ts, &pack), SyscallFailsWithErrno(EINVAL));
    EXPECT_EQ(g_signals.load(), 0);
    pack.size = 8;
    EXPECT_THAT(syscall(SYS_pselect6, 0, nullptr, nullptr, nullptr, &ts, &pack), SyscallFailsWithErrno(EINTR));
    EXPECT_EQ(g_signals.load(), 1);
    sigset_t now;
    ASSERT_EQ(sigprocmask(SIG_SETMASK, nullptr, &now), 0);
    EXPECT_TRUE(sigismember(&now, SIGUSR1));
    sigprocmask(SIG_SETMASK, &orig, nullptr);
    sigaction(SIGUSR1, &old, nullptr);
}

TEST(Pselect6Test, BadArgpackIsEfault) {
    struct timespec ts = {0, 0};
    EXPECT_THAT(syscall(SYS_pselect6, 0, nullptr, nullptr, nullptr, &ts, kLowAddr), SyscallFailsWithErrno(EFAULT));
}

}  // namespace
}  // namespace moat::conformance
