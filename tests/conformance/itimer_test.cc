// Conformance: setitimer(2)/getitimer(2) — ITIMER_REAL, ITIMER_VIRTUAL (user CPU time,
// SIGVTALRM) and ITIMER_PROF (user + system CPU time, SIGPROF) — and alarm(2).

#include "tests/conformance/process_util.h"
#include "tests/conformance/syscall_matchers.h"
#include "tests/conformance/test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace moat::conformance {
namespace {

using ::testing::AllOf;
using ::testing::Gt;
using ::testing::Le;

constexpr long kMs = 1000 * 1000;

long Us(const timeval& tv) { return tv.tv_sec * 1000000L + tv.tv_usec; }

long NowNs(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

std::atomic<int> g_count{0};
std::atomic<int> g_signo{0};
std::atomic<int> g_code{0};

void Handler(int signo, siginfo_t* info, void*) {
    g_count.fetch_add(1);
    g_signo = signo;
    g_code = info->si_code;
}

long Set(int which, long value_us, long interval_us, itimerval* old = nullptr) {
    itimerval it{{interval_us / 1000000, interval_us % 1000000}, {value_us / 1000000, value_us % 1000000}};
    return syscall(SYS_setitimer, static_cast<long>(which), &it, old);
}

// Burns user CPU time until the handler ran `count` times (or 3 s of wall time pass),
// looking only now and then so that the time is spent here, not in syscalls.
void SpinUntil(int count) {
    long wall_start = NowNs(CLOCK_MONOTONIC);
    while (g_count.load() < count && NowNs(CLOCK_MONOTONIC) - wall_start < 3000 * kMs) {
        for (int i = 0; i < 100000; ++i)
            asm volatile("" ::: "memory");
    }
}

class ItimerTest : public ::testing::Test {
protected:
    void SetUp() override {
        g_count = 0;
        g_signo = 0;
        g_code = 0;
        struct sigaction sa {};
        sa.sa_sigaction = Handler;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        for (int s : {SIGALRM, SIGVTALRM, SIGPROF})
            sigaction(s, &sa, nullptr);
    }
    void TearDown() override {
        for (int which : {ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF})
            Set(which, 0, 0);
        for (int s : {SIGALRM, SIGVTALRM, SIGPROF})
            signal(s, SIG_DFL);
    }
};

TEST_F(ItimerTest, RejectsBadArguments) {
    itimerval it{};
    EXPECT_THAT(syscall(SYS_setitimer, 3L, &it, nullptr), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_getitimer, 3L, &it), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_getitimer, -1L, &it), SyscallFailsWithErrno(EINVAL));
    itimerval bad{{0, 0}, {0, 1000000}};
    for (int which : {ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF}) {
        EXPECT_THAT(syscall(SYS_setitimer, static_cast<long>(which), &bad, nullptr), SyscallFailsWithErrno(EINVAL));
        EXPECT_THAT(syscall(SYS_getitimer, static_cast<long>(which), reinterpret_cast<void*>(1)),
                    SyscallFailsWithErrno(EFAULT));
        EXPECT_THAT(syscall(SYS_setitimer, static_cast<long>(which), reinterpret_cast<void*>(1), nullptr),
                    SyscallFailsWithErrno(EFAULT));
    }
}

TEST_F(ItimerTest, VirtualAndProfReportTheirSettings) {
    for (int which : {ITIMER_VIRTUAL, ITIMER_PROF}) {
        ASSERT_THAT(Set(which, 5000000, 250000), SyscallSucceeds());
        itimerval cur{};
        ASSERT_THAT(syscall(SYS_getitimer, static_cast<long>(which), &cur), SyscallSucceeds());
        // Linux adds a tick (1 to 10 ms by HZ) to a CPU itimer's value.
        EXPECT_THAT(Us(cur.it_value), AllOf(Gt(4000000), Le(5010000))) << which;
        EXPECT_EQ(Us(cur.it_interval), 250000) << which;
        itimerval old{};
        ASSERT_THAT(Set(which, 0, 0, &old), SyscallSucceeds());
        EXPECT_THAT(Us(old.it_value), AllOf(Gt(4000000), Le(5010000))) << which;
        EXPECT_EQ(Us(old.it_interval), 250000) << which;
        ASSERT_THAT(syscall(SYS_getitimer, static_cast<long>(which), &cur), SyscallSucceeds());
        EXPECT_EQ(Us(cur.it_value), 0);
        EXPECT_EQ(Us(cur.it_interval), 0);
    }
}

TEST_F(ItimerTest, VirtualFiresOnUserCpuTime) {
    long start = NowNs(CLOCK_PROCESS_CPUTIME_ID);
    ASSERT_THAT(Set(ITIMER_VIRTUAL, 50000, 0), SyscallSucceeds());
    SpinUntil(1);
    EXPECT_EQ(g_count.load(), 1);
    EXPECT_EQ(g_signo.load(), SIGVTALRM);
    EXPECT_EQ(g_code.load(), SI_KERNEL);
    // Linux counts user time in ticks, so the exact CPU clock may lag it by a few.
    EXPECT_GE(NowNs(CLOCK_PROCESS_CPUTIME_ID) - start, 30 * kMs);
    itimerval cur{};
    ASSERT_THAT(syscall(SYS_getitimer, static_cast<long>(ITIMER_VIRTUAL), &cur), SyscallSucceeds());
    EXPECT_EQ(Us(cur.it_value), 0);  // one-shot
}

TEST_F(ItimerTest, ProfFiresPeriodically) {
    ASSERT_THAT(Set(ITIMER_PROF, 5000, 5000), SyscallSucceeds());
    SpinUntil(3);
    ASSERT_THAT(Set(ITIMER_PROF, 0, 0), SyscallSucceeds());
    EXPECT_GE(g_count.load(), 3);
    EXPECT_EQ(g_signo.load(), SIGPROF);
    EXPECT_EQ(g_code.load(), SI_KERNEL);
}

TEST_F(ItimerTest, CpuTimersDoNotCountSleep) {
    ASSERT_THAT(Set(ITIMER_VIRTUAL, 20000, 0), SyscallSucceeds());
    ASSERT_THAT(Set(ITIMER_PROF, 20000, 0), SyscallSucceeds());
    timespec nap{0, 50 * kMs};
    nanosleep(&nap, nullptr);
    EXPECT_EQ(g_count.load(), 0);
    itimerval cur{};
    ASSERT_THAT(syscall(SYS_getitimer, static_cast<long>(ITIMER_VIRTUAL), &cur), SyscallSucceeds());
    EXPECT_THAT(Us(cur.it_value), AllOf(Gt(5000), Le(30000)));  // 20 ms + a tick
    ASSERT_THAT(syscall(SYS_getitimer, static_cast<long>(ITIMER_PROF), &cur), SyscallSucceeds());
    EXPECT_THAT(Us(cur.it_value), AllOf(Gt(5000), Le(30000)));
}

TEST_F(ItimerTest, RealFiresOnWallTime) {
    long start = NowNs(CLOCK_MONOTONIC);
    ASSERT_THAT(Set(ITIMER_REAL, 20000, 0), SyscallSucceeds());
    while (g_count.load() == 0 && NowNs(CLOCK_MONOTONIC) - start < 3000 * kMs)
        pause();
    EXPECT_EQ(g_signo.load(), SIGALRM);
    EXPECT_GE(NowNs(CLOCK_MONOTONIC) - start, 20 * kMs);
}

TEST_F(ItimerTest, AlarmReturnsTheSecondsLeft) {
    EXPECT_EQ(alarm(100), 0u);
    EXPECT_EQ(alarm(50), 100u);
    itimerval cur{};
    ASSERT_THAT(syscall(SYS_getitimer, static_cast<long>(ITIMER_REAL), &cur), SyscallSucceeds());
    EXPECT_THAT(Us(cur.it_value), AllOf(Gt(49000000), Le(50000000)));
    EXPECT_EQ(alarm(0), 50u);
    EXPECT_EQ(alarm(0), 0u);
}

TEST_F(ItimerTest, NotInheritedByForkKeptAcrossExec) {
    ASSERT_THAT(Set(ITIMER_REAL, 100000000, 0), SyscallSucceeds());
    ASSERT_THAT(Set(ITIMER_VIRTUAL, 100000000, 0), SyscallSucceeds());
    pid_t pid = ForkAndRun([] {
        itimerval cur{};
        for (int which : {ITIMER_REAL, ITIMER_VIRTUAL})
            if (getitimer(static_cast<__itimer_which>(which), &cur) != 0 || Us(cur.it_value) != 0)
                return 1;
        return 0;
    });
    EXPECT_EQ(WaitStatus(pid), 0);
    std::string helper = HelperPath("proc_helper");
    for (const char* which : {"0", "1"}) {
        pid = ForkAndRun([&] {
            if (Set(ITIMER_REAL, 100000000, 0) != 0 || Set(ITIMER_VIRTUAL, 100000000, 0) != 0)
                return 10;
            char* argv[] = {const_cast<char*>("x"), const_cast<char*>("itimer"), const_cast<char*>(which), nullptr};
            syscall(SYS_execve, helper.c_str(), argv, nullptr);
            return 127;
        });
        EXPECT_EQ(WaitStatus(pid), 0) << which;  // proc_helper: 0 = still armed
    }
}

}  // namespace
}  // namespace moat::conformance
