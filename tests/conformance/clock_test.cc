// Conformance: clock_gettime(2), clock_getres(2), gettimeofday(2), time(2), nanosleep(2).
// glibc calls the vDSO for clock_gettime/gettimeofday/time; syscall(SYS_...) always traps. Both
// paths must tell the same time.

#include "tests/conformance/test_util.h"

#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

int64_t Ns(timespec const& ts) { return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec; }

int64_t VdsoNow(clockid_t clock) {
    timespec ts{};
    if (clock_gettime(clock, &ts) != 0) return -1;
    return Ns(ts);
}

int64_t SyscallNow(clockid_t clock) {
    timespec ts{};
    if (syscall(SYS_clock_gettime, clock, &ts) != 0) return -1;
    return Ns(ts);
}

class ClockAgreementTest : public ::testing::TestWithParam<clockid_t> {};

TEST_P(ClockAgreementTest, VdsoAndSyscallAreMonotonicWhenInterleaved) {
    clockid_t const clock = GetParam();
    int64_t prev = VdsoNow(clock);
    ASSERT_GT(prev, 0);
    for (int i = 0; i < 2000; ++i) {
        int64_t const via_syscall = SyscallNow(clock);
        ASSERT_GE(via_syscall, prev) << "syscall went backwards at iteration " << i;
        int64_t const via_vdso = VdsoNow(clock);
        ASSERT_GE(via_vdso, via_syscall) << "vDSO went backwards at iteration " << i;
        prev = via_vdso;
    }
}

TEST_P(ClockAgreementTest, ValuesAreNormalised) {
    timespec ts{};
    ASSERT_THAT(syscall(SYS_clock_gettime, GetParam(), &ts), SyscallSucceeds());
    EXPECT_GE(ts.tv_nsec, 0);
    EXPECT_LT(ts.tv_nsec, 1'000'000'000);
    ASSERT_THAT(clock_gettime(GetParam(), &ts), SyscallSucceeds());
    EXPECT_GE(ts.tv_nsec, 0);
    EXPECT_LT(ts.tv_nsec, 1'000'000'000);
}

INSTANTIATE_TEST_SUITE_P(Clocks, ClockAgreementTest,
                         ::testing::Values(CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME,
                                           CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE),
                         [](auto const& info) {
                             switch (info.param) {
                             case CLOCK_REALTIME: return "Realtime";
                             case CLOCK_MONOTONIC: return "Monotonic";
                             case CLOCK_MONOTONIC_RAW: return "MonotonicRaw";
                             case CLOCK_BOOTTIME: return "Boottime";
                             case CLOCK_REALTIME_COARSE: return "RealtimeCoarse";
                             case CLOCK_MONOTONIC_COARSE: return "MonotonicCoarse";
                             default: return "Other";
                             }
                         });

TEST(ClockTest, RealtimeIsAfter2020) {
    // 2020-01-01T00:00:00Z: a clock that starts at 0 (or counts from boot) is wrong.
    EXPECT_GT(VdsoNow(CLOCK_REALTIME) / 1'000'000'000, 1577836800);
    EXPECT_GT(SyscallNow(CLOCK_REALTIME) / 1'000'000'000, 1577836800);
}

TEST(ClockTest, BoottimeIsNotBehindMonotonic) {
    int64_t const mono = SyscallNow(CLOCK_MONOTONIC);
    int64_t const boot = SyscallNow(CLOCK_BOOTTIME);
    EXPECT_GE(boot, mono);
}

TEST(ClockTest, GettimeofdayAgreesWithRealtime) {
    for (int i = 0; i < 100; ++i) {
        int64_t const before = SyscallNow(CLOCK_REALTIME) / 1000;
        timeval tv{};
        ASSERT_THAT(gettimeofday(&tv, nullptr), SyscallSucceeds());
        int64_t const vdso = int64_t(tv.tv_sec) * 1'000'000 + tv.tv_usec;
        ASSERT_THAT(syscall(SYS_gettimeofday, &tv, nullptr), SyscallSucceeds());
        int64_t const sys = int64_t(tv.tv_sec) * 1'000'000 + tv.tv_usec;
        int64_t const after = SyscallNow(CLOCK_REALTIME) / 1000;
        ASSERT_LE(before, vdso);
        ASSERT_LE(vdso, sys);
        ASSERT_LE(sys, after);
        ASSERT_LT(tv.tv_usec, 1'000'000);
    }
}

TEST(ClockTest, GettimeofdayTimezoneAndNullArgs) {
    struct timezone tz{-1, -1};
    EXPECT_THAT(syscall(SYS_gettimeofday, nullptr, &tz), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_gettimeofday, nullptr, nullptr), SyscallSucceeds());
}

TEST(ClockTest, TimeAgreesWithRealtime) {
    // time() may use the coarse clock: bounded by the coarse clock before and the precise after.
    for (int i = 0; i < 100; ++i) {
        int64_t const before = VdsoNow(CLOCK_REALTIME_COARSE) / 1'000'000'000;
        time_t const vdso = time(nullptr);
        time_t t_out = 0;
        long const sys = syscall(SYS_time, &t_out);
        int64_t const after = SyscallNow(CLOCK_REALTIME) / 1'000'000'000;
        ASSERT_LE(before, vdso);
        ASSERT_LE(vdso, sys);
        ASSERT_LE(sys, after);
        ASSERT_EQ(t_out, sys);
    }
}

TEST(ClockTest, Getres) {
    timespec res{-1, -1};
    for (clockid_t c : {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_MONOTONIC_RAW}) {
        ASSERT_THAT(syscall(SYS_clock_getres, c, &res), SyscallSucceeds());
        EXPECT_EQ(res.tv_sec, 0) << "clock " << c;
        EXPECT_EQ(res.tv_nsec, 1) << "clock " << c;  // high-resolution timers
        ASSERT_THAT(clock_getres(c, &res), SyscallSucceeds());
        EXPECT_EQ(res.tv_nsec, 1) << "clock " << c;
    }
    for (clockid_t c : {CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE}) {
        ASSERT_THAT(syscall(SYS_clock_getres, c, &res), SyscallSucceeds());
        EXPECT_EQ(res.tv_sec, 0);
        EXPECT_GT(res.tv_nsec, 1);  // one tick
        EXPECT_LE(res.tv_nsec, 10'000'000);
    }
    // A null result pointer is allowed.
    EXPECT_THAT(syscall(SYS_clock_getres, CLOCK_MONOTONIC, nullptr), SyscallSucceeds());
}

TEST(ClockTest, BadClockIsEinval) {
    timespec ts{};
    for (clockid_t c : {100, 12345, 16}) {
        EXPECT_THAT(syscall(SYS_clock_gettime, c, &ts), SyscallFailsWithErrno(EINVAL)) << "clock " << c;
        EXPECT_THAT(clock_gettime(c, &ts), SyscallFailsWithErrno(EINVAL)) << "clock " << c;
        EXPECT_THAT(syscall(SYS_clock_getres, c, &ts), SyscallFailsWithErrno(EINVAL)) << "clock " << c;
    }
}

TEST(ClockTest, BadPointerIsEfault) {
    EXPECT_THAT(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, kNullAddr), SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(syscall(SYS_clock_gettime, CLOCK_REALTIME, kLowAddr), SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, kKernelAddr), SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(syscall(SYS_clock_getres, CLOCK_MONOTONIC, kLowAddr), SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(syscall(SYS_gettimeofday, kLowAddr, nullptr), SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(syscall(SYS_time, kLowAddr), SyscallFailsWithErrno(EFAULT));
}

int64_t CpuNow(clockid_t clock) {
    timespec ts{};
    if (syscall(SYS_clock_gettime, clock, &ts) != 0) return -1;
    return Ns(ts);
}

TEST(ClockTest, CpuClocksAdvanceWithWorkButNotFasterThanWallTime) {
    for (clockid_t clock : {CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID}) {
        int64_t const cpu0 = CpuNow(clock);
        int64_t const wall0 = SyscallNow(CLOCK_MONOTONIC);
        ASSERT_GE(cpu0, 0);
        volatile uint64_t sink = 0;
        // Spin until 20 ms of CPU time (or 2 s of wall time, to fail instead of hanging).
        while (CpuNow(clock) - cpu0 < 20'000'000 && SyscallNow(CLOCK_MONOTONIC) - wall0 < 2'000'000'000) {
            for (int i = 0; i < 10000; ++i) sink = sink + i;
        }
        int64_t const cpu1 = CpuNow(clock);
        int64_t const wall1 = SyscallNow(CLOCK_MONOTONIC);
        EXPECT_GE(cpu1 - cpu0, 20'000'000) << "clock " << clock;
        // One thread cannot use more CPU than wall time (plus a tick of accounting slack).
        EXPECT_LE(cpu1 - cpu0, wall1 - wall0 + 10'000'000) << "clock " << clock;
        // The glibc path reads the same clock.
        timespec ts{};
        ASSERT_THAT(clock_gettime(clock, &ts), SyscallSucceeds());
        EXPECT_GE(Ns(ts), cpu1);
    }
}

TEST(ClockTest, NanosleepSleepsAtLeastTheRequest) {
    timespec req{0, 20'000'000};
    int64_t const t0 = SyscallNow(CLOCK_MONOTONIC);
    ASSERT_THAT(syscall(SYS_nanosleep, &req, nullptr), SyscallSucceeds());
    int64_t const slept = SyscallNow(CLOCK_MONOTONIC) - t0;
    EXPECT_GE(slept, 20'000'000);
    EXPECT_LT(slept, 1'000'000'000);
    timespec bad{0, 1'000'000'000};
    EXPECT_THAT(syscall(SYS_nanosleep, &bad, nullptr), SyscallFailsWithErrno(EINVAL));
    timespec negative{-1, 0};
    EXPECT_THAT(syscall(SYS_nanosleep, &negative, nullptr), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_nanosleep, kLowAddr, nullptr), SyscallFailsWithErrno(EFAULT));
}

TEST(ClockTest, ClockNanosleepAbsoluteDeadlineInThePastReturnsAtOnce) {
    timespec now{};
    ASSERT_THAT(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &now), SyscallSucceeds());
    now.tv_sec -= 1;
    // clock_nanosleep returns the error number directly, not through errno.
    EXPECT_EQ(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &now, nullptr), 0);
    timespec req{0, 1000};
    EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &req, nullptr), 0);
    // The thread CPU clock cannot be slept on (glibc turns this into EINVAL; the kernel says so).
    EXPECT_THAT(syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &req, nullptr),
                SyscallFailsWithErrno(EOPNOTSUPP));
}

}  // namespace
}  // namespace moat::conformance
