// Conformance: getrusage(2), times(2) and the CPU-time clocks report the process's real CPU
// use: they grow with a busy loop, a thread's share never exceeds the process's, and a
// reaped child's time moves to RUSAGE_CHILDREN.

#include "tests/conformance/test_util.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

int64_t Ns(const timeval& tv) { return tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL; }
int64_t Ns(const timespec& ts) { return ts.tv_sec * 1000000000LL + ts.tv_nsec; }
int64_t CpuNs(const rusage& ru) { return Ns(ru.ru_utime) + Ns(ru.ru_stime); }

rusage Usage(int who) {
    rusage ru{};
    EXPECT_THAT(syscall(SYS_getrusage, who, &ru), SyscallSucceeds());
    return ru;
}

int64_t ClockNs(clockid_t clock) {
    timespec ts{};
    EXPECT_THAT(syscall(SYS_clock_gettime, clock, &ts), SyscallSucceeds());
    return Ns(ts);
}

// Spins for `ms` of wall time without a system call (the time is user time).
void Spin(int ms) {
    timespec start{}, now{};
    clock_gettime(CLOCK_MONOTONIC, &start);
    volatile uint64_t sink = 0;
    do {
        for (int i = 0; i < 100000; ++i)
            sink = sink + static_cast<uint64_t>(i);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (Ns(now) - Ns(start) < ms * 1000000LL);
}

TEST(RusageTest, BadArguments) {
    rusage ru{};
    EXPECT_THAT(syscall(SYS_getrusage, 2, &ru), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_getrusage, -2, &ru), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_getrusage, RUSAGE_SELF, kLowAddr), SyscallFailsWithErrno(EFAULT));
}

TEST(RusageTest, CpuTimeGrowsAfterABusyLoop) {
    rusage before = Usage(RUSAGE_SELF);
    Spin(200);
    rusage after = Usage(RUSAGE_SELF);
    // On a loaded machine the loop gets less than its wall time; 10 ms is a safe lower bound.
    EXPECT_GE(CpuNs(after) - CpuNs(before), 10000000) << "before " << CpuNs(before) << " after " << CpuNs(after);
    EXPECT_GE(Ns(after.ru_utime), Ns(before.ru_utime));
    EXPECT_GE(Ns(after.ru_stime), Ns(before.ru_stime));
    EXPECT_GT(after.ru_maxrss, 0);
}

TEST(RusageTest, ThreadUsageIsPartOfTheProcess) {
    Spin(50);
    rusage thread = Usage(RUSAGE_THREAD);
    rusage self = Usage(RUSAGE_SELF);
    EXPECT_GT(CpuNs(thread), 0);
    EXPECT_LE(CpuNs(thread), CpuNs(self));
}

TEST(RusageTest, CpuClocksGrow) {
    int64_t process0 = ClockNs(CLOCK_PROCESS_CPUTIME_ID);
    int64_t thread0 = ClockNs(CLOCK_THREAD_CPUTIME_ID);
    Spin(100);
    int64_t thread1 = ClockNs(CLOCK_THREAD_CPUTIME_ID);
    int64_t process1 = ClockNs(CLOCK_PROCESS_CPUTIME_ID);
    EXPECT_GE(thread1 - thread0, 5000000);
    EXPECT_GE(process1 - process0, 5000000);
    EXPECT_LE(thread1, process1);
    // clock_getcpuclockid / pthread_getcpuclockid ids name the same clocks.
    clockid_t mine;
    ASSERT_EQ(clock_getcpuclockid(0, &mine), 0);
    EXPECT_GE(ClockNs(mine), process1);
    clockid_t other = static_cast<clockid_t>((~static_cast<unsigned>(0x3ffffff0) << 3) | 2);
    timespec ts{};
    EXPECT_THAT(syscall(SYS_clock_gettime, other, &ts), SyscallFailsWithErrno(EINVAL));
}

TEST(RusageTest, MinorFaultsCount) {
    rusage before = Usage(RUSAGE_SELF);
    const size_t len = 4 << 20;
    Mapping m(len, PROT_READ | PROT_WRITE);
    ASSERT_TRUE(m.ok());
    for (size_t off = 0; off < len; off += PageSize())
        m.addr()[off] = 1;
    rusage after = Usage(RUSAGE_SELF);
    EXPECT_GT(after.ru_minflt, before.ru_minflt);
}

TEST(TimesTest, ReportsCpuTicks) {
    tms before{};
    clock_t t0 = times(&before);
    ASSERT_NE(t0, static_cast<clock_t>(-1));
    Spin(150);
    tms after{};
    clock_t t1 = times(&after);
    EXPECT_GE(t1, t0 + 10);  // 150 ms of wall time is at least 10 ticks
    EXPECT_GE((after.tms_utime + after.tms_stime) - (before.tms_utime + before.tms_stime), 1);
    EXPECT_THAT(syscall(SYS_times, nullptr), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_times, kLowAddr), SyscallFailsWithErrno(EFAULT));
}

TEST(RusageChildrenTest, ReapedChildTimeMovesToChildren) {
    rusage before = Usage(RUSAGE_CHILDREN);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        Spin(100);
        _exit(0);
    }
    int status = 0;
    rusage from_wait{};
    ASSERT_THAT(wait4(child, &status, 0, &from_wait), SyscallSucceedsWithValue(child));
    EXPECT_GT(CpuNs(from_wait), 0);
    rusage after = Usage(RUSAGE_CHILDREN);
    EXPECT_GE(CpuNs(after) - CpuNs(before), 5000000);
    tms t{};
    times(&t);
    EXPECT_GE(t.tms_cutime + t.tms_cstime, 1);
}

}  // namespace
}  // namespace moat::conformance
