// Conformance: clock_nanosleep(2) — which clocks sleep, TIMER_ABSTIME honoured on the clock
// named, the remaining time of an interrupted relative sleep, restarts after a stop.
// Raw syscalls: glibc's wrapper returns the error instead of setting errno and rejects
// CLOCK_THREAD_CPUTIME_ID itself.

#include "tests/conformance/process_util.h"
#include "tests/conformance/syscall_matchers.h"
#include "tests/conformance/test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace moat::conformance {
namespace {

using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::Gt;
using ::testing::Le;

constexpr long kMs = 1000 * 1000;

long Ns(const timespec& ts) { return ts.tv_sec * 1000000000L + ts.tv_nsec; }
timespec Ts(long ns) { return {ns / 1000000000, ns % 1000000000}; }

long NowNs(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return Ns(ts);
}

long Sleep(clockid_t clock, int flags, const timespec* req, timespec* rem = nullptr) {
    return syscall(SYS_clock_nanosleep, static_cast<long>(clock), static_cast<long>(flags), req, rem);
}

// Linux's CPU clock ids (MAKE_PROCESS_CPUCLOCK / MAKE_THREAD_CPUCLOCK with CPUCLOCK_SCHED).
clockid_t ProcessCpuClock(pid_t pid) { return static_cast<clockid_t>((~pid << 3) | 2); }
clockid_t ThreadCpuClock(pid_t tid) { return static_cast<clockid_t>((~tid << 3) | 4 | 2); }

TEST(ClockNanosleepTest, RejectsClocksThatCannotSleep) {
    timespec req{0, 1000};
    timespec bad{0, 1000000000};
    for (clockid_t unknown : {10, 12, 16, 100}) {
        EXPECT_THAT(Sleep(unknown, 0, &req), SyscallFailsWithErrno(EINVAL)) << unknown;
        EXPECT_THAT(Sleep(unknown, TIMER_ABSTIME, &req), SyscallFailsWithErrno(EINVAL)) << unknown;
    }
    // Valid clocks without a sleep: EOPNOTSUPP, before the timespec is even looked at.
    for (clockid_t no_sleep : {CLOCK_THREAD_CPUTIME_ID, CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE,
                               CLOCK_MONOTONIC_COARSE}) {
        EXPECT_THAT(Sleep(no_sleep, 0, &req), SyscallFailsWithErrno(EOPNOTSUPP)) << no_sleep;
        EXPECT_THAT(Sleep(no_sleep, 0, &bad), SyscallFailsWithErrno(EOPNOTSUPP)) << no_sleep;
    }
    // The ALARM clocks check the timespec first, then want an RTC and CAP_WAKE_ALARM.
    for (clockid_t alarm : {CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM}) {
        EXPECT_THAT(Sleep(alarm, 0, &bad), SyscallFailsWithErrno(EINVAL)) << alarm;
        long r = Sleep(alarm, 0, &req);
        int err = errno;
        EXPECT_EQ(r, -1);
        EXPECT_THAT(err, AnyOf(EOPNOTSUPP, EPERM));
    }
    // A thread cannot sleep on its own CPU clock; a missing process's clock is EINVAL.
    EXPECT_THAT(Sleep(ThreadCpuClock(0), 0, &req), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(Sleep(ThreadCpuClock(static_cast<pid_t>(gettid())), 0, &req), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(Sleep(ProcessCpuClock(0x3fffff), 0, &req), SyscallFailsWithErrno(EINVAL));
}

TEST(ClockNanosleepTest, RejectsBadTimespecs) {
    for (clockid_t clock : {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_PROCESS_CPUTIME_ID}) {
        for (timespec bad : {timespec{0, 1000000000}, timespec{0, -1}, timespec{-1, 0}}) {
            EXPECT_THAT(Sleep(clock, 0, &bad), SyscallFailsWithErrno(EINVAL)) << clock;
            EXPECT_THAT(Sleep(clock, TIMER_ABSTIME, &bad), SyscallFailsWithErrno(EINVAL)) << clock;
        }
        EXPECT_THAT(Sleep(clock, 0, reinterpret_cast<timespec*>(1)), SyscallFailsWithErrno(EFAULT)) << clock;
    }
}

TEST(ClockNanosleepTest, AbsoluteSleepEndsWhenTheClockSaysSo) {
    for (clockid_t clock : {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_TAI}) {
        long target = NowNs(clock) + 30 * kMs;
        timespec req = Ts(target);
        EXPECT_THAT(Sleep(clock, TIMER_ABSTIME, &req), SyscallSucceeds()) << clock;
        EXPECT_GE(NowNs(clock), target) << clock;
        // A time already past returns at once.
        timespec past{1, 0};
        long start = NowNs(CLOCK_MONOTONIC);
        EXPECT_THAT(Sleep(clock, TIMER_ABSTIME, &past), SyscallSucceeds()) << clock;
        EXPECT_LT(NowNs(CLOCK_MONOTONIC) - start, 1000 * kMs);
    }
}

TEST(ClockNanosleepTest, RelativeSleepIsNotShort) {
    for (clockid_t clock : {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_TAI}) {
        long start = NowNs(CLOCK_MONOTONIC);
        timespec req{0, 20 * kMs};
        EXPECT_THAT(Sleep(clock, 0, &req), SyscallSucceeds()) << clock;
        EXPECT_GE(NowNs(CLOCK_MONOTONIC) - start, 20 * kMs) << clock;
    }
    // Unknown flag bits are ignored.
    timespec req{0, 1000};
    EXPECT_THAT(Sleep(CLOCK_MONOTONIC, 0x100, &req), SyscallSucceeds());
}

std::atomic<bool> g_spin{false};

void* Spin(void*) {
    while (g_spin.load()) {
    }
    return nullptr;
}

TEST(ClockNanosleepTest, ProcessCpuClockSleepsUntilTheProcessUsedTheTime) {
    // The sleeper uses no CPU time itself: another thread has to.
    g_spin = true;
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, nullptr, Spin, nullptr), 0);
    long start = NowNs(CLOCK_PROCESS_CPUTIME_ID);
    timespec req{0, 30 * kMs};
    EXPECT_THAT(Sleep(CLOCK_PROCESS_CPUTIME_ID, 0, &req), SyscallSucceeds());
    EXPECT_GE(NowNs(CLOCK_PROCESS_CPUTIME_ID) - start, 30 * kMs);
    long target = NowNs(CLOCK_PROCESS_CPUTIME_ID) + 20 * kMs;
    timespec abs = Ts(target);
    EXPECT_THAT(Sleep(ProcessCpuClock(0), TIMER_ABSTIME, &abs), SyscallSucceeds());
    EXPECT_GE(NowNs(CLOCK_PROCESS_CPUTIME_ID), target);
    g_spin = false;
    pthread_join(th, nullptr);
}

std::atomic<int> g_handled{0};
void CountSignal(int) { g_handled.fetch_add(1); }

// Sends SIGUSR1 to `tid` after `ms`.
struct DelayedSignal {
    pid_t tid;
    long ms;
};
void* SendLater(void* arg) {
    auto* d = static_cast<DelayedSignal*>(arg);
    timespec nap = Ts(d->ms * kMs);
    nanosleep(&nap, nullptr);
    syscall(SYS_tgkill, getpid(), d->tid, SIGUSR1);
    return nullptr;
}

class InterruptTest : public ::testing::Test {
protected:
    void SetUp() override {
        g_handled = 0;
        struct sigaction sa {};
        sa.sa_handler = CountSignal;
        sa.sa_flags = SA_RESTART;  // a sleep is never restarted by SA_RESTART: still EINTR
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR1, &sa, nullptr);
    }
    void TearDown() override { signal(SIGUSR1, SIG_DFL); }
    void Interrupt(long ms) {
        m_delayed = {static_cast<pid_t>(gettid()), ms};
        ASSERT_EQ(pthread_create(&m_thread, nullptr, SendLater, &m_delayed), 0);
    }
    void Join() { pthread_join(m_thread, nullptr); }

    DelayedSignal m_delayed{};
    pthread_t m_thread{};
};

TEST_F(InterruptTest, RelativeSleepWritesTheRemainingTime) {
    Interrupt(20);
    timespec req{2, 0};
    timespec rem{-1, -1};
    EXPECT_THAT(Sleep(CLOCK_MONOTONIC, 0, &req, &rem), SyscallFailsWithErrno(EINTR));
    Join();
    EXPECT_EQ(g_handled.load(), 1);
    EXPECT_THAT(Ns(rem), AllOf(Gt(0), Le(2000 * kMs)));
}

TEST_F(InterruptTest, AbsoluteSleepLeavesRemAlone) {
    Interrupt(20);
    timespec req = Ts(NowNs(CLOCK_REALTIME) + 2000 * kMs);
    timespec rem{-1, -1};
    EXPECT_THAT(Sleep(CLOCK_REALTIME, TIMER_ABSTIME, &req, &rem), SyscallFailsWithErrno(EINTR));
    Join();
    EXPECT_EQ(g_handled.load(), 1);
    EXPECT_EQ(rem.tv_sec, -1);
    EXPECT_EQ(rem.tv_nsec, -1);
}

// A sleep stopped and continued (no handler runs) resumes and sleeps out its full time.
void StopAndContinueSleeper(int flags) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = ForkAndRun([&] {
        close(fds[0]);
        long start = NowNs(CLOCK_MONOTONIC);
        timespec req = flags ? Ts(start + 200 * kMs) : Ts(200 * kMs);
        (void)!write(fds[1], "x", 1);
        long r = Sleep(CLOCK_MONOTONIC, flags, &req);
        if (r != 0)
            return 10;
        return NowNs(CLOCK_MONOTONIC) - start >= 200 * kMs ? 0 : 11;
    });
    close(fds[1]);
    char c;
    ASSERT_EQ(read(fds[0], &c, 1), 1);
    close(fds[0]);
    timespec nap{0, 30 * kMs};
    nanosleep(&nap, nullptr);
    ASSERT_EQ(kill(pid, SIGSTOP), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, WUNTRACED), pid);
    EXPECT_TRUE(WIFSTOPPED(status));
    ASSERT_EQ(kill(pid, SIGCONT), 0);
    EXPECT_EQ(WaitStatus(pid), 0);
}

TEST(ClockNanosleepRestartTest, RelativeSleepResumesAfterAStop) { StopAndContinueSleeper(0); }
TEST(ClockNanosleepRestartTest, AbsoluteSleepResumesAfterAStop) { StopAndContinueSleeper(TIMER_ABSTIME); }

}  // namespace
}  // namespace moat::conformance
