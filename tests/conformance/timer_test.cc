// Conformance: POSIX timers — timer_create(2), timer_settime(2), timer_gettime(2),
// timer_getoverrun(2), timer_delete(2). Raw syscalls throughout: glibc's timer_t wrapping and
// SIGEV_THREAD helper thread would hide what the kernel does.

#include "tests/conformance/process_util.h"
#include "tests/conformance/syscall_matchers.h"
#include "tests/conformance/test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace moat::conformance {
namespace {

using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::Ge;
using ::testing::Gt;
using ::testing::Le;

#ifndef SIGEV_THREAD_ID
#define SIGEV_THREAD_ID 4
#endif

constexpr long kMs = 1000 * 1000;

// The kernel's struct sigevent.
struct KernelSigevent {
    union {
        int sival_int;
        void* sival_ptr;
    } value;
    int signo;
    int notify;
    int tid;
    int pad[11];
};
static_assert(sizeof(KernelSigevent) == 64);

KernelSigevent Event(int notify, int signo, long value = 0, int tid = 0) {
    KernelSigevent ev;
    memset(&ev, 0, sizeof(ev));
    ev.value.sival_ptr = reinterpret_cast<void*>(value);
    ev.signo = signo;
    ev.notify = notify;
    ev.tid = tid;
    return ev;
}

long TimerCreate(clockid_t clock, const KernelSigevent* ev, int* id) {
    return syscall(SYS_timer_create, static_cast<long>(clock), ev, id);
}
long TimerSet(int id, int flags, long value_ns, long interval_ns, itimerspec* old = nullptr) {
    itimerspec spec{{interval_ns / 1000000000, interval_ns % 1000000000}, {value_ns / 1000000000, value_ns % 1000000000}};
    return syscall(SYS_timer_settime, static_cast<long>(id), static_cast<long>(flags), &spec, old);
}
long TimerGet(int id, itimerspec* cur) { return syscall(SYS_timer_gettime, static_cast<long>(id), cur); }
long TimerDelete(int id) { return syscall(SYS_timer_delete, static_cast<long>(id)); }
long TimerOverrun(int id) { return syscall(SYS_timer_getoverrun, static_cast<long>(id)); }
long Ns(const timespec& ts) { return ts.tv_sec * 1000000000L + ts.tv_nsec; }

long NowNs(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return Ns(ts);
}

// Waits up to `ms` for `signo` (blocked); its siginfo, or si_signo 0 on a timeout.
siginfo_t WaitSignal(int signo, long ms) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    timespec ts{ms / 1000, (ms % 1000) * kMs};
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    if (sigtimedwait(&set, &info, &ts) < 0)
        info.si_signo = 0;
    return info;
}

bool IsPending(int signo) {
    sigset_t set;
    sigpending(&set);
    return sigismember(&set, signo);
}

// Burns CPU time in user mode until `signo` is pending (or 3 s of wall time pass). It looks
// only now and then: a syscall per iteration would spend the time in the kernel (or, under
// Moat, in the sentry), not in this thread.
void SpinUntilPending(int signo) {
    long wall_start = NowNs(CLOCK_MONOTONIC);
    while (!IsPending(signo) && NowNs(CLOCK_MONOTONIC) - wall_start < 3000 * kMs) {
        for (int i = 0; i < 100000; ++i)
            asm volatile("" ::: "memory");
    }
}

// Each test blocks the signals it uses and leaves no timer or pending signal behind.
class TimerTest : public ::testing::Test {
protected:
    void SetUp() override {
        sigset_t set;
        sigemptyset(&set);
        for (int s : {SIGALRM, SIGUSR1, SIGUSR2, SIGRTMIN, SIGRTMIN + 1})
            sigaddset(&set, s);
        sigprocmask(SIG_BLOCK, &set, &m_saved_mask);
    }
    void TearDown() override {
        for (int id : m_ids)
            TimerDelete(id);
        for (int s : {SIGALRM, SIGUSR1, SIGUSR2, SIGRTMIN, SIGRTMIN + 1}) {
            while (WaitSignal(s, 0).si_signo) {
            }
        }
        sigprocmask(SIG_SETMASK, &m_saved_mask, nullptr);
    }
    int Create(clockid_t clock, const KernelSigevent* ev) {
        int id = -1;
        EXPECT_THAT(TimerCreate(clock, ev, &id), SyscallSucceeds());
        m_ids.push_back(id);
        return id;
    }

    std::vector<int> m_ids;
    sigset_t m_saved_mask;
};

TEST_F(TimerTest, CreateRejectsBadClocks) {
    KernelSigevent ev = Event(SIGEV_NONE, 0);
    int id;
    for (clockid_t bad : {10, 12, 16, 100})
        EXPECT_THAT(TimerCreate(bad, &ev, &id), SyscallFailsWithErrno(EINVAL)) << bad;
    // Valid clocks that have no timers.
    for (clockid_t none : {CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE})
        EXPECT_THAT(TimerCreate(none, &ev, &id), SyscallFailsWithErrno(EOPNOTSUPP)) << none;
    // The ALARM clocks need an RTC (EOPNOTSUPP) and CAP_WAKE_ALARM (EPERM).
    for (clockid_t alarm : {CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM}) {
        long r = TimerCreate(alarm, &ev, &id);
        int err = errno;
        EXPECT_EQ(r, -1);
        EXPECT_THAT(err, AnyOf(EOPNOTSUPP, EPERM));
    }
    // A CPU clock of a process that does not exist (pid 0x3fffff: beyond pid_max's maximum).
    constexpr pid_t kNoPid = 0x3fffff;
    EXPECT_THAT(TimerCreate(static_cast<clockid_t>((~kNoPid << 3) | 2), &ev, &id), SyscallFailsWithErrno(EINVAL));
    // A thread CPU clock of a thread in another process (a child: under Moat the suite is
    // PID 1, with no parent to name).
    pid_t child = ForkAndRun([] {
        pause();
        return 0;
    });
    ASSERT_GT(child, 0);
    EXPECT_THAT(TimerCreate(static_cast<clockid_t>((~child << 3) | 4 | 2), &ev, &id), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(TimerCreate(static_cast<clockid_t>((~kNoPid << 3) | 4 | 2), &ev, &id), SyscallFailsWithErrno(EINVAL));
    // The process CPU clock of another process is fine.
    EXPECT_THAT(TimerCreate(static_cast<clockid_t>((~child << 3) | 2), &ev, &id), SyscallSucceeds());
    m_ids.push_back(id);
    kill(child, SIGKILL);
    WaitStatus(child);
}

TEST_F(TimerTest, CreateValidatesTheSigevent) {
    int id;
    KernelSigevent bad_notify = Event(99, SIGUSR1);
    EXPECT_THAT(TimerCreate(CLOCK_MONOTONIC, &bad_notify, &id), SyscallFailsWithErrno(EINVAL));
    for (int bad_signo : {0, -1, 65}) {
        KernelSigevent ev = Event(SIGEV_SIGNAL, bad_signo);
        EXPECT_THAT(TimerCreate(CLOCK_MONOTONIC, &ev, &id), SyscallFailsWithErrno(EINVAL)) << bad_signo;
    }
    // SIGEV_THREAD_ID needs a thread of the caller's own process.
    pid_t child = ForkAndRun([] {
        pause();
        return 0;
    });
    ASSERT_GT(child, 0);
    KernelSigevent other = Event(SIGEV_THREAD_ID, SIGUSR1, 0, child);
    EXPECT_THAT(TimerCreate(CLOCK_MONOTONIC, &other, &id), SyscallFailsWithErrno(EINVAL));
    kill(child, SIGKILL);
    WaitStatus(child);
    KernelSigevent none_tid = Event(SIGEV_THREAD_ID, SIGUSR1, 0, 0);
    EXPECT_THAT(TimerCreate(CLOCK_MONOTONIC, &none_tid, &id), SyscallFailsWithErrno(EINVAL));
    KernelSigevent self_tid = Event(SIGEV_THREAD_ID, SIGUSR1, 0, static_cast<int>(gettid()));
    Create(CLOCK_MONOTONIC, &self_tid);
    // SIGEV_NONE ignores the signal number.
    KernelSigevent none = Event(SIGEV_NONE, 0);
    Create(CLOCK_MONOTONIC, &none);
    // Bad pointers.
    EXPECT_THAT(TimerCreate(CLOCK_MONOTONIC, reinterpret_cast<KernelSigevent*>(1), &id), SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(TimerCreate(CLOCK_MONOTONIC, &none, reinterpret_cast<int*>(1)), SyscallFailsWithErrno(EFAULT));
}

TEST_F(TimerTest, IdsCountUpFromZeroPerProcess) {
    pid_t pid = ForkAndRun([] {
        KernelSigevent ev = Event(SIGEV_NONE, 0);
        int a = -1, b = -1, c = -1;
        if (TimerCreate(CLOCK_MONOTONIC, &ev, &a) != 0 || TimerCreate(CLOCK_MONOTONIC, &ev, &b) != 0)
            return 10;
        if (a != 0 || b != 1)
            return 11;
        if (TimerDelete(a) != 0 || TimerCreate(CLOCK_MONOTONIC, &ev, &c) != 0)
            return 12;
        return c == 2 ? 0 : 13;
    });
    EXPECT_EQ(WaitStatus(pid), 0);
}

TEST_F(TimerTest, NullSigeventMeansSigalrmWithTheIdAsValue) {
    int id = Create(CLOCK_MONOTONIC, nullptr);
    ASSERT_THAT(TimerSet(id, 0, 1 * kMs, 0), SyscallSucceeds());
    siginfo_t info = WaitSignal(SIGALRM, 2000);
    EXPECT_EQ(info.si_signo, SIGALRM);
    EXPECT_EQ(info.si_code, SI_TIMER);
    EXPECT_EQ(info.si_timerid, id);
    EXPECT_EQ(info.si_value.sival_int, id);
    EXPECT_EQ(info.si_overrun, 0);
}

TEST_F(TimerTest, SignalCarriesTheSigeventValue) {
    KernelSigevent ev = Event(SIGEV_SIGNAL, SIGRTMIN, 0x1234567890L);
    int id = Create(CLOCK_REALTIME, &ev);
    ASSERT_THAT(TimerSet(id, 0, 1 * kMs, 0), SyscallSucceeds());
    siginfo_t info = WaitSignal(SIGRTMIN, 2000);
    EXPECT_EQ(info.si_signo, SIGRTMIN);
    EXPECT_EQ(info.si_code, SI_TIMER);
    EXPECT_EQ(info.si_timerid, id);
    EXPECT_EQ(info.si_value.sival_ptr, reinterpret_cast<void*>(0x1234567890L));
}

TEST_F(TimerTest, SettimeAndGettime) {
    KernelSigevent ev = Event(SIGEV_SIGNAL, SIGUSR1);
    int id = Create(CLOCK_MONOTONIC, &ev);
    itimerspec cur{};
    ASSERT_THAT(TimerGet(id, &cur), SyscallSucceeds());
    EXPECT_EQ(Ns(cur.it_value), 0);  // created disarmed
    EXPECT_EQ(Ns(cur.it_interval), 0);
    ASSERT_THAT(TimerSet(id, 0, 10000 * kMs, 500 * kMs), SyscallSucceeds());
    ASSERT_THAT(TimerGet(id, &cur), SyscallSucceeds());
    EXPECT_THAT(Ns(cur.it_value), AllOf(Gt(9000 * kMs), Le(10000 * kMs)));
    EXPECT_EQ(Ns(cur.it_interval), 500 * kMs);
    // Re-arming returns the previous setting; a zero value disarms.
    itimerspec old{};
    ASSERT_THAT(TimerSet(id, 0, 20000 * kMs, 0, &old), SyscallSucceeds());
    EXPECT_THAT(Ns(old.it_value), AllOf(Gt(9000 * kMs), Le(10000 * kMs)));
    EXPECT_EQ(Ns(old.it_interval), 500 * kMs);
    ASSERT_THAT(TimerSet(id, 0, 0, 0, &old), SyscallSucceeds());
    EXPECT_THAT(Ns(old.it_value), AllOf(Gt(19000 * kMs), Le(20000 * kMs)));
    ASSERT_THAT(TimerGet(id, &cur), SyscallSucceeds());
    EXPECT_EQ(Ns(cur.it_value), 0);
    EXPECT_FALSE(IsPending(SIGUSR1));
}

TEST_F(TimerTest, SettimeValidatesItsArguments) {
    KernelSigevent ev = Event(SIGEV_NONE, 0);
    int id = Create(CLOCK_MONOTONIC, &ev);
    EXPECT_THAT(TimerSet(id, 0, -1, 0), SyscallFailsWithErrno(EINVAL));
    itimerspec bad_ns{{0, 0}, {0, 1000000000}};
    EXPECT_THAT(syscall(SYS_timer_settime, static_cast<long>(id), 0L, &bad_ns, nullptr), SyscallFailsWithErrno(EINVAL));
    itimerspec bad_interval{{0, -1}, {1, 0}};
    EXPECT_THAT(syscall(SYS_timer_settime, static_cast<long>(id), 0L, &bad_interval, nullptr),
                SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_timer_settime, static_cast<long>(id), 0L, nullptr, nullptr), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_timer_settime, static_cast<long>(id), 0L, reinterpret_cast<void*>(1), nullptr),
                SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(TimerGet(id, reinterpret_cast<itimerspec*>(1)), SyscallFailsWithErrno(EFAULT));
    // Unknown flag bits are ignored.
    EXPECT_THAT(TimerSet(id, 0x100, 1000 * kMs, 0), SyscallSucceeds());
}

TEST_F(TimerTest, UnknownIdsFailWithEinval) {
    KernelSigevent ev = Event(SIGEV_NONE, 0);
    int id = Create(CLOCK_MONOTONIC, &ev);
    ASSERT_THAT(TimerDelete(id), SyscallSucceeds());
    m_ids.clear();
    itimerspec cur{};
    EXPECT_THAT(TimerDelete(id), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(TimerGet(id, &cur), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(TimerSet(id, 0, kMs, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(TimerOverrun(id), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(TimerGet(-1, &cur), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(TimerGet(0x7ffffff0, &cur), SyscallFailsWithErrno(EINVAL));
}

TEST_F(TimerTest, AbsoluteTimeOnEachClock) {
    for (clockid_t clock : {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_TAI}) {
        KernelSigevent ev = Event(SIGEV_SIGNAL, SIGUSR1, clock);
        int id = Create(clock, &ev);
        long target = NowNs(clock) + 20 * kMs;
        ASSERT_THAT(TimerSet(id, TIMER_ABSTIME, target, 0), SyscallSucceeds()) << clock;
        siginfo_t info = WaitSignal(SIGUSR1, 2000);
        EXPECT_EQ(info.si_signo, SIGUSR1) << clock;
        EXPECT_EQ(info.si_value.sival_int, clock);
        EXPECT_GE(NowNs(clock), target) << clock;
        // A time already past expires at once.
        ASSERT_THAT(TimerSet(id, TIMER_ABSTIME, 1, 0), SyscallSucceeds());
        EXPECT_EQ(WaitSignal(SIGUSR1, 2000).si_signo, SIGUSR1) << clock;
    }
}

TEST_F(TimerTest, RelativeExpiryIsNotEarly) {
    KernelSigevent ev = Event(SIGEV_SIGNAL, SIGUSR1);
    int id = Create(CLOCK_MONOTONIC, &ev);
    long start = NowNs(CLOCK_MONOTONIC);
    ASSERT_THAT(TimerSet(id, 0, 30 * kMs, 0), SyscallSucceeds());
    EXPECT_EQ(WaitSignal(SIGUSR1, 2000).si_signo, SIGUSR1);
    EXPECT_GE(NowNs(CLOCK_MONOTONIC) - start, 30 * kMs);
    // One-shot: disarmed once it fired.
    itimerspec cur{};
    ASSERT_THAT(TimerGet(id, &cur), SyscallSucceeds());
    EXPECT_EQ(Ns(cur.it_value), 0);
}

TEST_F(TimerTest, OverrunsCountExpirationsWhileTheSignalIsPending) {
    KernelSigevent ev = Event(SIGEV_SIGNAL, SIGRTMIN + 1);
    int id = Create(CLOCK_MONOTONIC, &ev);
    ASSERT_THAT(TimerSet(id, 0, 1 * kMs, 1 * kMs), SyscallSucceeds());
    timespec nap{0, 40 * kMs};
    nanosleep(&nap, nullptr);
    // One signal queued however many expirations (an RT signal would queue each otherwise).
    siginfo_t info = WaitSignal(SIGRTMIN + 1, 2000);
    ASSERT_EQ(info.si_signo, SIGRTMIN + 1);
    EXPECT_EQ(info.si_code, SI_TIMER);
    EXPECT_THAT(info.si_overrun, AllOf(Ge(20), Le(100000)));
    EXPECT_THAT(TimerOverrun(id), SyscallSucceedsWithValue(info.si_overrun));
    ASSERT_THAT(TimerSet(id, 0, 0, 0), SyscallSucceeds());
    // Periodic timers keep their interval; the second signal's overrun starts again.
}

TEST_F(TimerTest, PeriodicTimerKeepsFiring) {
    KernelSigevent ev = Event(SIGEV_SIGNAL, SIGUSR2);
    int id = Create(CLOCK_MONOTONIC, &ev);
    ASSERT_THAT(TimerSet(id, 0, 5 * kMs, 5 * kMs), SyscallSucceeds());
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(WaitSignal(SIGUSR2, 2000).si_signo, SIGUSR2) << i;
    itimerspec cur{};
    ASSERT_THAT(TimerGet(id, &cur), SyscallSucceeds());
    EXPECT_EQ(Ns(cur.it_interval), 5 * kMs);
    EXPECT_THAT(Ns(cur.it_value), AllOf(Gt(0), Le(5 * kMs)));
}

TEST_F(TimerTest, SigevNoneSendsNothingButCounts) {
    KernelSigevent ev = Event(SIGEV_NONE, SIGUSR1);
    int id = Create(CLOCK_MONOTONIC, &ev);
    ASSERT_THAT(TimerSet(id, 0, 10 * kMs, 0), SyscallSucceeds());
    itimerspec cur{};
    ASSERT_THAT(TimerGet(id, &cur), SyscallSucceeds());
    EXPECT_THAT(Ns(cur.it_value), AllOf(Gt(0), Le(10 * kMs)));
    timespec nap{0, 30 * kMs};
    nanosleep(&nap, nullptr);
    ASSERT_THAT(TimerGet(id, &cur), SyscallSucceeds());
    EXPECT_EQ(Ns(cur.it_value), 0);
    EXPECT_FALSE(IsPending(SIGUSR1));
    // A periodic one reads as the time to its next period.
    ASSERT_THAT(TimerSet(id, 0, 5 * kMs, 7 * kMs), SyscallSucceeds());
    nanosleep(&nap, nullptr);
    ASSERT_THAT(TimerGet(id, &cur), SyscallSucceeds());
    EXPECT_THAT(Ns(cur.it_value), AllOf(Gt(0), Le(7 * kMs)));
    EXPECT_EQ(Ns(cur.it_interval), 7 * kMs);
    EXPECT_FALSE(IsPending(SIGUSR1));
}

std::atomic<int> g_helper_tid{0};
std::atomic<int> g_helper_got{-1};

void* WaitForUsr1(void*) {
    g_helper_tid = static_cast<int>(gettid());
    g_helper_got = WaitSignal(SIGUSR1, 300).si_signo;
    return nullptr;
}

TEST_F(TimerTest, ThreadIdTargetsOneThread) {
    // The helper waits for SIGUSR1 while the timer targets the main thread: a thread-directed
    // signal must stay with the main thread (a process-directed one would go to the waiter).
    g_helper_tid = 0;
    g_helper_got = -1;
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, nullptr, WaitForUsr1, nullptr), 0);
    while (g_helper_tid.load() == 0)
        sched_yield();
    KernelSigevent ev = Event(SIGEV_THREAD_ID, SIGUSR1, 5, static_cast<int>(gettid()));
    int id = Create(CLOCK_MONOTONIC, &ev);
    ASSERT_THAT(TimerSet(id, 0, 1 * kMs, 0), SyscallSucceeds());
    pthread_join(th, nullptr);
    EXPECT_EQ(g_helper_got.load(), 0);  // timed out
    siginfo_t info = WaitSignal(SIGUSR1, 2000);
    EXPECT_EQ(info.si_signo, SIGUSR1);
    EXPECT_EQ(info.si_code, SI_TIMER);
    EXPECT_EQ(info.si_value.sival_int, 5);

    // And aimed at the helper, the helper gets it.
    g_helper_tid = 0;
    g_helper_got = -1;
    ASSERT_EQ(pthread_create(&th, nullptr, WaitForUsr1, nullptr), 0);
    while (g_helper_tid.load() == 0)
        sched_yield();
    KernelSigevent to_helper = Event(SIGEV_THREAD_ID, SIGUSR1, 6, g_helper_tid.load());
    int id2 = Create(CLOCK_MONOTONIC, &to_helper);
    ASSERT_THAT(TimerSet(id2, 0, 1 * kMs, 0), SyscallSucceeds());
    pthread_join(th, nullptr);
    EXPECT_EQ(g_helper_got.load(), SIGUSR1);
}

TEST_F(TimerTest, ProcessCpuTimeTimer) {
    KernelSigevent ev = Event(SIGEV_SIGNAL, SIGUSR1);
    int id = Create(CLOCK_PROCESS_CPUTIME_ID, &ev);
    long start = NowNs(CLOCK_PROCESS_CPUTIME_ID);
    ASSERT_THAT(TimerSet(id, 0, 20 * kMs, 0), SyscallSucceeds());
    itimerspec cur{};
    ASSERT_THAT(TimerGet(id, &cur), SyscallSucceeds());
    EXPECT_THAT(Ns(cur.it_value), AllOf(Gt(0), Le(20 * kMs)));
    // Sleeping uses no CPU time: it does not fire.
    timespec nap{0, 30 * kMs};
    nanosleep(&nap, nullptr);
    EXPECT_FALSE(IsPending(SIGUSR1));
    // Spinning does.
    SpinUntilPending(SIGUSR1);
    EXPECT_GE(NowNs(CLOCK_PROCESS_CPUTIME_ID) - start, 20 * kMs);
    siginfo_t info = WaitSignal(SIGUSR1, 0);
    EXPECT_EQ(info.si_signo, SIGUSR1);
    EXPECT_EQ(info.si_code, SI_TIMER);
}

TEST_F(TimerTest, ThreadCpuTimeTimer) {
    KernelSigevent ev = Event(SIGEV_SIGNAL, SIGUSR2);
    int id = Create(CLOCK_THREAD_CPUTIME_ID, &ev);
    long start = NowNs(CLOCK_THREAD_CPUTIME_ID);
    ASSERT_THAT(TimerSet(id, 0, 10 * kMs, 0), SyscallSucceeds());
    SpinUntilPending(SIGUSR2);
    EXPECT_GE(NowNs(CLOCK_THREAD_CPUTIME_ID) - start, 10 * kMs);
    EXPECT_EQ(WaitSignal(SIGUSR2, 0).si_signo, SIGUSR2);
}

TEST_F(TimerTest, ForkedChildHasNoTimers) {
    KernelSigevent ev = Event(SIGEV_NONE, 0);
    int id = Create(CLOCK_MONOTONIC, &ev);
    pid_t pid = ForkAndRun([id] {
        itimerspec cur{};
        return TimerGet(id, &cur) == -1 && errno == EINVAL ? 0 : 1;
    });
    EXPECT_EQ(WaitStatus(pid), 0);
}

TEST_F(TimerTest, ExecDeletesTimers) {
    std::string helper = HelperPath("proc_helper");
    pid_t pid = ForkAndRun([&] {
        KernelSigevent ev = Event(SIGEV_NONE, 0);
        int id = -1;
        if (TimerCreate(CLOCK_MONOTONIC, &ev, &id) != 0)
            return 10;
        std::string arg = std::to_string(id);
        char* argv[] = {const_cast<char*>("x"), const_cast<char*>("timer"), arg.data(), nullptr};
        syscall(SYS_execve, helper.c_str(), argv, nullptr);
        return 127;
    });
    EXPECT_EQ(WaitStatus(pid), W_EXITCODE(1, 0));  // proc_helper: 1 = no such timer
}

TEST_F(TimerTest, LimitedByRlimitSigpending) {
    pid_t pid = ForkAndRun([] {
        struct rlimit lim{4, 4};
        if (setrlimit(RLIMIT_SIGPENDING, &lim) != 0)
            return 10;
        KernelSigevent ev = Event(SIGEV_NONE, 0);
        int id;
        for (int i = 0; i < 5; ++i) {
            if (TimerCreate(CLOCK_MONOTONIC, &ev, &id) != 0)
                return errno == EAGAIN ? 0 : 11;
        }
        return 12;  // all five made it
    });
    EXPECT_EQ(WaitStatus(pid), 0);
}

}  // namespace
}  // namespace moat::conformance
