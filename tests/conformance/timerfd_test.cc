// Conformance: timerfd_create/settime/gettime — clocks and flags, relative and absolute
// (TFD_TIMER_ABSTIME) timers, intervals and the expiration count, disarming, blocking and
// non-blocking reads, poll readiness, and the argument errors.

#include "tests/conformance/test_util.h"

#include <poll.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

itimerspec Spec(long value_ns, long interval_ns) {
    itimerspec s{};
    s.it_value = {value_ns / 1000000000, value_ns % 1000000000};
    s.it_interval = {interval_ns / 1000000000, interval_ns % 1000000000};
    return s;
}

TEST(TimerfdTest, CreateErrorsAndFlags) {
    EXPECT_THAT(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(timerfd_create(12345, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(timerfd_create(CLOCK_MONOTONIC, 0x1), SyscallFailsWithErrno(EINVAL));
    for (clockid_t c : {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME}) {
        Fd t(timerfd_create(c, TFD_CLOEXEC | TFD_NONBLOCK));
        ASSERT_TRUE(t.ok()) << c;
        EXPECT_EQ(fcntl(t.get(), F_GETFD), FD_CLOEXEC);
        EXPECT_EQ(fcntl(t.get(), F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDWR | O_NONBLOCK);
    }
}

TEST(TimerfdTest, NewTimerIsDisarmed) {
    Fd t(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
    itimerspec cur;
    ASSERT_THAT(timerfd_gettime(t.get(), &cur), SyscallSucceeds());
    EXPECT_EQ(cur.it_value.tv_sec, 0);
    EXPECT_EQ(cur.it_value.tv_nsec, 0);
    uint64_t n;
    EXPECT_THAT(read(t.get(), &n, 8), SyscallFailsWithErrno(EAGAIN));
}

TEST(TimerfdTest, OneShotExpiresOnce) {
    Fd t(timerfd_create(CLOCK_MONOTONIC, 0));
    auto s = Spec(10000000, 0);
    ASSERT_THAT(timerfd_settime(t.get(), 0, &s, nullptr), SyscallSucceeds());
    auto start = std::chrono::steady_clock::now();
    uint64_t n = 0;
    ASSERT_THAT(read(t.get(), &n, 8), SyscallSucceedsWithValue(8));  // blocks until expiry
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(9));
    EXPECT_EQ(n, 1u);
    itimerspec cur;
    ASSERT_THAT(timerfd_gettime(t.get(), &cur), SyscallSucceeds());
    EXPECT_EQ(cur.it_value.tv_sec, 0);
    EXPECT_EQ(cur.it_value.tv_nsec, 0);
    struct pollfd p = {t.get(), POLLIN, 0};
    EXPECT_THAT(poll(&p, 1, 30), SyscallSucceedsWithValue(0));
}

TEST(TimerfdTest, IntervalCountsEveryExpiration) {
    Fd t(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
    auto s = Spec(5000000, 5000000);
    ASSERT_THAT(timerfd_settime(t.get(), 0, &s, nullptr), SyscallSucceeds());
    usleep(32000);
    uint64_t n = 0;
    ASSERT_THAT(read(t.get(), &n, 8), SyscallSucceedsWithValue(8));
    EXPECT_GE(n, 5u);
    EXPECT_LE(n, 12u);
    itimerspec cur;
    ASSERT_THAT(timerfd_gettime(t.get(), &cur), SyscallSucceeds());
    EXPECT_EQ(cur.it_interval.tv_nsec, 5000000);
    EXPECT_GT(cur.it_value.tv_nsec, 0);
    EXPECT_LE(cur.it_value.tv_nsec, 5000000);
}

TEST(TimerfdTest, AbsoluteTimeInThePastExpiresAtOnce) {
    for (clockid_t c : {CLOCK_REALTIME, CLOCK_MONOTONIC}) {
        Fd t(timerfd_create(c, TFD_NONBLOCK));
        timespec now;
        ASSERT_EQ(clock_gettime(c, &now), 0);
        itimerspec s{};
        s.it_value = now;
        s.it_value.tv_sec -= 1;
        ASSERT_THAT(timerfd_settime(t.get(), TFD_TIMER_ABSTIME, &s, nullptr), SyscallSucceeds());
        struct pollfd p = {t.get(), POLLIN, 0};
        EXPECT_THAT(poll(&p, 1, 1000), SyscallSucceedsWithValue(1)) << c;
        uint64_t n = 0;
        EXPECT_THAT(read(t.get(), &n, 8), SyscallSucceedsWithValue(8));
        EXPECT_EQ(n, 1u);
    }
}

TEST(TimerfdTest, AbsoluteTimeInTheFuture) {
    Fd t(timerfd_create(CLOCK_MONOTONIC, 0));
    timespec now;
    ASSERT_EQ(clock_gettime(CLOCK_MONOTONIC, &now), 0);
    itimerspec s{};
    s.it_value = now;
    s.it_value.tv_sec += 100;
    ASSERT_THAT(timerfd_settime(t.get(), TFD_TIMER_ABSTIME, &s, nullptr), SyscallSucceeds());
    itimerspec cur;
    ASSERT_THAT(timerfd_gettime(t.get(), &cur), SyscallSucceeds());
    EXPECT_GE(cur.it_value.tv_sec, 98);
    EXPECT_LE(cur.it_value.tv_sec, 100);
}

TEST(TimerfdTest, SettimeReturnsOldValueAndDisarms) {
    Fd t(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
    auto s = Spec(10000000000L, 2000000000L);
    ASSERT_THAT(timerfd_settime(t.get(), 0, &s, nullptr), SyscallSucceeds());
    auto off = Spec(0, 0);
    itimerspec old;
    ASSERT_THAT(timerfd_settime(t.get(), 0, &off, &old), SyscallSucceeds());
    EXPECT_EQ(old.it_interval.tv_sec, 2);
    EXPECT_GE(old.it_value.tv_sec, 9);
    EXPECT_LE(old.it_value.tv_sec, 10);
    itimerspec cur;
    ASSERT_THAT(timerfd_gettime(t.get(), &cur), SyscallSucceeds());
    EXPECT_EQ(cur.it_value.tv_sec, 0);
    EXPECT_EQ(cur.it_value.tv_nsec, 0);
}

TEST(TimerfdTest, SettimeErrors) {
    Fd t(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
    auto s = Spec(0, 0);
    EXPECT_THAT(timerfd_settime(t.get(), 0x4, &s, nullptr), SyscallFailsWithErrno(EINVAL));
    s.it_value.tv_nsec = 1000000000;
    EXPECT_THAT(timerfd_settime(t.get(), 0, &s, nullptr), SyscallFailsWithErrno(EINVAL));
    s = Spec(0, 0);
    s.it_interval.tv_sec = -1;
    EXPECT_THAT(timerfd_settime(t.get(), 0, &s, nullptr), SyscallFailsWithErrno(EINVAL));
    s = Spec(0, 0);
    EXPECT_THAT(timerfd_settime(999, 0, &s, nullptr), SyscallFailsWithErrno(EBADF));
    Fd f(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
    EXPECT_THAT(timerfd_settime(f.get(), 0, &s, nullptr), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_timerfd_settime, t.get(), 0, kLowAddr, nullptr), SyscallFailsWithErrno(EFAULT));
    itimerspec cur;
    EXPECT_THAT(timerfd_gettime(f.get(), &cur), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_timerfd_gettime, t.get(), kLowAddr), SyscallFailsWithErrno(EFAULT));
}

TEST(TimerfdTest, ShortReadIsEinval) {
    Fd t(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
    uint32_t small;
    EXPECT_THAT(read(t.get(), &small, 4), SyscallFailsWithErrno(EINVAL));
}

TEST(TimerfdTest, ResettingClearsTheCount) {
    Fd t(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
    auto s = Spec(1000000, 0);
    ASSERT_THAT(timerfd_settime(t.get(), 0, &s, nullptr), SyscallSucceeds());
    usleep(5000);
    s = Spec(10000000000L, 0);
    ASSERT_THAT(timerfd_settime(t.get(), 0, &s, nullptr), SyscallSucceeds());
    uint64_t n;
    EXPECT_THAT(read(t.get(), &n, 8), SyscallFailsWithErrno(EAGAIN));
}

}  // namespace
}  // namespace moat::conformance
