// Clocks and sleeping: clock_gettime & co. (the same clocks the vDSO computes), nanosleep,
// sched_yield, getcpu.

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/real_timer.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/timekeeper.h"
#include "sentry/kernel/wait_queue.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/cpu_clock.h"
#include "syscalls/handlers.h"

#include <sched.h>
#include <sys/time.h>
#include <time.h>

#include <chrono>

namespace moat::syscalls {

// Implements Linux clock_gettime(2). The CPU-time clocks are the app threads' (cpu_clock.h).
SyscallResult sys_clock_gettime(kernel::Task& t, const SyscallArgs& a) {
    clockid_t clock = arg_int(a, 0);
    auto ts = TRY(IsCpuClock(clock) ? CpuClockNow(t, clock) : t.kernel().timekeeper().Now(clock));
    TRY(t.mm().CopyOutObject(arg_addr(a, 1), ts));
    return 0;
}

// Implements Linux clock_getres(2); a NULL res only validates the clock.
SyscallResult sys_clock_getres(kernel::Task& t, const SyscallArgs& a) {
    clockid_t clock = arg_int(a, 0);
    if (IsCpuClock(clock))
        TRY(CpuClockNow(t, clock));  // validates the id (glibc's clock_getcpuclockid asks this)
    auto ts = IsCpuClock(clock) ? timespec{0, 1} : TRY(t.kernel().timekeeper().Resolution(clock));
    if (a[1])
        TRY(t.mm().CopyOutObject(arg_addr(a, 1), ts));
    return 0;
}

// Implements Linux gettimeofday(2); the timezone is always UTC (zeros).
SyscallResult sys_gettimeofday(kernel::Task& t, const SyscallArgs& a) {
    if (a[0]) {
        auto ts = TRY(t.kernel().timekeeper().Now(CLOCK_REALTIME));
        struct timeval tv{ts.tv_sec, ts.tv_nsec / 1000};
        TRY(t.mm().CopyOutObject(arg_addr(a, 0), tv));
    }
    if (a[1]) {
        struct timezone tz{};
        TRY(t.mm().CopyOutObject(arg_addr(a, 1), tz));
    }
    return 0;
}

// Implements Linux time(2).
SyscallResult sys_time(kernel::Task& t, const SyscallArgs& a) {
    auto ts = TRY(t.kernel().timekeeper().Now(CLOCK_REALTIME));
    if (a[0])
        TRY(t.mm().CopyOutObject<int64_t>(arg_addr(a, 0), ts.tv_sec));
    return static_cast<uint64_t>(ts.tv_sec);
}

namespace {
Result<struct timespec> CopyInTimespec(kernel::Task& t, mm::UserAddr addr) {
    auto ts = TRY(t.mm().CopyInObject<struct timespec>(addr));
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
        return Error(EINVAL);
    return ts;
}

bool IsSleepClock(clockid_t c) {
    return c == CLOCK_REALTIME || c == CLOCK_MONOTONIC || c == CLOCK_BOOTTIME || c == CLOCK_TAI ||
           c == CLOCK_PROCESS_CPUTIME_ID;
}
}  // namespace

namespace {
using SteadyTime = std::chrono::steady_clock::time_point;

struct timespec Remaining(SteadyTime deadline) {
    auto left = deadline - std::chrono::steady_clock::now();
    if (left.count() < 0)
        return {0, 0};
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    return {static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}

SteadyTime DeadlineAfter(const struct timespec& ts) {
    return std::chrono::steady_clock::now() + std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// Sleeps until `deadline` or a signal. A relative sleep that a signal interrupts writes the
// remaining time to `rem` (if any) and returns ERESTART_RESTARTBLOCK: restart_syscall
// resumes it with the time left, a handler makes it EINTR. An absolute one returns
// ERESTARTNOHAND (restarting it with the same arguments is right).
SyscallResult SleepUntil(kernel::Task& t, SteadyTime deadline, bool absolute, mm::UserAddr rem) {
    kernel::WaitQueue never;
    auto r = t.Block(never, [] { return false; }, deadline);
    if (r.ok() || r.error() == ETIMEDOUT)
        return 0;
    if (absolute)
        return Error(ERESTARTNOHAND);
    if (!rem.is_null())
        TRY(t.mm().CopyOutObject(rem, Remaining(deadline)));
    t.restart_block = [deadline, rem](kernel::Task& task) -> Result<uint64_t> {
        return SleepUntil(task, deadline, false, rem);
    };
    return Error(ERESTART_RESTARTBLOCK);
}
}  // namespace

// Implements Linux nanosleep(2).
SyscallResult sys_nanosleep(kernel::Task& t, const SyscallArgs& a) {
    struct timespec req = TRY(CopyInTimespec(t, arg_addr(a, 0)));
    return SleepUntil(t, DeadlineAfter(req), false, arg_addr(a, 1));
}

// Implements Linux clock_nanosleep(2), including TIMER_ABSTIME. Every clock sleeps on the
// sentry's monotonic clock; an absolute deadline is converted once, at the start.
SyscallResult sys_clock_nanosleep(kernel::Task& t, const SyscallArgs& a) {
    clockid_t clock = arg_int(a, 0);
    int flags = arg_int(a, 1);
    // Valid clocks that cannot sleep give EOPNOTSUPP; unknown ones EINVAL.
    if (clock == CLOCK_THREAD_CPUTIME_ID || clock == CLOCK_MONOTONIC_RAW || clock == CLOCK_REALTIME_COARSE ||
        clock == CLOCK_MONOTONIC_COARSE)
        return Error(EOPNOTSUPP);
    if (clock == CLOCK_REALTIME_ALARM)
        clock = CLOCK_REALTIME;
    else if (clock == CLOCK_BOOTTIME_ALARM)
        clock = CLOCK_BOOTTIME;
    if (!IsSleepClock(clock))
        return Error(EINVAL);
    struct timespec req = TRY(CopyInTimespec(t, arg_addr(a, 2)));
    if (clock == CLOCK_PROCESS_CPUTIME_ID)
        clock = CLOCK_MONOTONIC;  // FIXME(#3): a CPU-time sleep needs the sandbox's CPU accounting.
    if (!(flags & TIMER_ABSTIME))
        return SleepUntil(t, DeadlineAfter(req), false, arg_addr(a, 3));
    auto now = TRY(t.kernel().timekeeper().Now(clock));
    int64_t left_ns = (req.tv_sec - now.tv_sec) * 1000000000ll + (req.tv_nsec - now.tv_nsec);
    if (left_ns <= 0)
        return 0;
    return SleepUntil(t, std::chrono::steady_clock::now() + std::chrono::nanoseconds(left_ns), true, mm::UserAddr());
}

namespace {
using TimerDuration = kernel::RealTimer::Duration;

struct timeval ToTimeval(TimerDuration d) {
    auto us = (d.count() + 999) / 1000;  // round up: an armed timer never reads as zero
    return {static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
}

Result<TimerDuration> FromTimeval(const struct timeval& tv) {
    if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000)
        return Error(EINVAL);
    return TimerDuration(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
}

std::shared_ptr<kernel::ThreadGroup> SelfGroup(kernel::Task& t) { return t.kernel().FindThreadGroup(t.pid()); }
}  // namespace

// Implements Linux getitimer(2): ITIMER_REAL only; the CPU-time timers are not there yet.
SyscallResult sys_getitimer(kernel::Task& t, const SyscallArgs& a) {
    if (arg_int(a, 0) != ITIMER_REAL)
        return Error(EINVAL);
    auto [left, interval] = t.thread_group().real_timer()->Get();
    struct itimerval it{ToTimeval(interval), ToTimeval(left)};
    TRY(t.mm().CopyOutObject(arg_addr(a, 1), it));
    return 0;
}

// Implements Linux setitimer(2): ITIMER_REAL only (SIGALRM to the process).
SyscallResult sys_setitimer(kernel::Task& t, const SyscallArgs& a) {
    if (arg_int(a, 0) != ITIMER_REAL)
        return Error(EINVAL);
    struct itimerval it{};
    if (a[1])
        it = TRY(t.mm().CopyInObject<struct itimerval>(arg_addr(a, 1)));
    TimerDuration value = TRY(FromTimeval(it.it_value));
    TimerDuration interval = TRY(FromTimeval(it.it_interval));
    auto tg = SelfGroup(t);
    if (!tg)
        return Error(ESRCH);
    auto [old_left, old_interval] = tg->real_timer()->Set(tg, value, interval);
    if (a[2]) {
        struct itimerval old{ToTimeval(old_interval), ToTimeval(old_left)};
        TRY(t.mm().CopyOutObject(arg_addr(a, 2), old));
    }
    return 0;
}

// Implements Linux alarm(2).
SyscallResult sys_alarm(kernel::Task& t, const SyscallArgs& a) {
    auto tg = SelfGroup(t);
    if (!tg)
        return Error(ESRCH);
    auto [old_left, old_interval] = tg->real_timer()->Set(tg, std::chrono::seconds(arg_uint(a, 0)), TimerDuration{0});
    // Seconds left, rounded to the nearest, and never 0 for an armed timer.
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(old_left).count();
    uint64_t secs = static_cast<uint64_t>((ms + 500) / 1000);
    if (old_left.count() > 0 && secs == 0)
        secs = 1;
    return secs;
}

// Implements Linux sched_yield(2).
SyscallResult sys_sched_yield(kernel::Task&, const SyscallArgs&) {
    sched_yield();
    return 0;
}

// Implements Linux getcpu(2): the sandbox reports CPU 0, node 0 (as its vDSO does).
SyscallResult sys_getcpu(kernel::Task& t, const SyscallArgs& a) {
    if (a[0])
        TRY(t.mm().CopyOutObject<uint32_t>(arg_addr(a, 0), 0));
    if (a[1])
        TRY(t.mm().CopyOutObject<uint32_t>(arg_addr(a, 1), 0));
    return 0;
}

}  // namespace moat::syscalls
