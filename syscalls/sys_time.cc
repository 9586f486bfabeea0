// Clocks and sleeping: clock_gettime & co. (the same clocks the vDSO computes), nanosleep,
// clock_nanosleep, sched_yield, getcpu. The timers are in sys_timer.cc.

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/interval_timer.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/timekeeper.h"
#include "sentry/kernel/wait_queue.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/cpu_clock.h"
#include "syscalls/handlers.h"
#include "syscalls/timer_clock.h"

#include <sched.h>
#include <sys/time.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <optional>

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

int64_t ToNs(const struct timespec& ts) {
    int64_t ns;
    if (__builtin_mul_overflow(static_cast<int64_t>(ts.tv_sec), int64_t{1'000'000'000}, &ns))
        return INT64_MAX;
    return kernel::SaturatingAdd(ns, ts.tv_nsec);
}

struct timespec ToTimespec(int64_t ns) {
    ns = std::max<int64_t>(ns, 0);
    return {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

// Sleeps until `clock` reads `target` or a signal. A relative sleep that a signal interrupts
// writes the time left to `rem` (if any) and returns ERESTART_RESTARTBLOCK: restart_syscall
// resumes it towards the same target, a handler makes it EINTR. An absolute one returns
// ERESTARTNOHAND (restarting it with the same arguments is right).
//
// The task blocks on the host's steady clock for as long as the clock needs at most to get
// there (a CPU clock: if every thread ran), then looks again: so an absolute REALTIME sleep
// ends when REALTIME says so, whatever the other clocks did meanwhile.
SyscallResult SleepUntil(kernel::Task& t, const kernel::TimerClock& clock, int64_t target, bool absolute,
                         mm::UserAddr rem) {
    kernel::WaitQueue never;
    for (;;) {
        std::optional<int64_t> now = clock.Now();
        if (!now || *now >= target)
            return 0;  // there (or the clock's process is gone: it never will be)
        auto deadline = std::chrono::steady_clock::now() + clock.WaitFor(target - *now);
        auto r = t.Block(never, [] { return false; }, deadline);
        if (!r.ok() && r.error() == ETIMEDOUT)
            continue;
        break;  // interrupted
    }
    if (absolute)
        return Error(ERESTARTNOHAND);
    if (!rem.is_null())
        TRY(t.mm().CopyOutObject(rem, ToTimespec(target - clock.Now().value_or(target))));
    t.restart_block = [clock, target, rem](kernel::Task& task) -> Result<uint64_t> {
        return SleepUntil(task, clock, target, false, rem);
    };
    return Error(ERESTART_RESTARTBLOCK);
}

SyscallResult SleepFor(kernel::Task& t, const kernel::TimerClock& clock, const struct timespec& req, mm::UserAddr rem) {
    std::optional<int64_t> now = clock.Now();
    if (!now)
        return 0;
    return SleepUntil(t, clock, kernel::SaturatingAdd(*now, ToNs(req)), false, rem);
}
}  // namespace

// Implements Linux nanosleep(2), on CLOCK_MONOTONIC.
SyscallResult sys_nanosleep(kernel::Task& t, const SyscallArgs& a) {
    struct timespec req = TRY(CopyInTimespec(t, arg_addr(a, 0)));
    return SleepFor(t, kernel::TimerClock::Wall(t.kernel().timekeeper(), CLOCK_MONOTONIC), req, arg_addr(a, 1));
}

// Implements Linux clock_nanosleep(2): REALTIME, MONOTONIC, BOOTTIME and TAI, and the CPU
// time of a process (CLOCK_PROCESS_CPUTIME_ID, or another process's clock id), relative or
// TIMER_ABSTIME. The remaining time is written only for an interrupted relative sleep.
// Differs: the ALARM clocks fail with EOPNOTSUPP, as on a Linux without an RTC.
SyscallResult sys_clock_nanosleep(kernel::Task& t, const SyscallArgs& a) {
    clockid_t clock = arg_int(a, 0);
    int flags = arg_int(a, 1);
    // Linux's order: an unknown clock is EINVAL; a clock that cannot sleep (its k_clock has
    // no nsleep) EOPNOTSUPP; then the timespec; then the clock's own checks.
    if (clock == CLOCK_THREAD_CPUTIME_ID || IsClockWithoutTimers(clock) || IsPosixClockFd(clock))
        return Error(EOPNOTSUPP);
    bool known = clock < 0 || clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC || clock == CLOCK_BOOTTIME ||
                 clock == CLOCK_TAI || clock == CLOCK_PROCESS_CPUTIME_ID || IsAlarmClock(clock);
    if (!known)
        return Error(EINVAL);
    struct timespec req = TRY(CopyInTimespec(t, arg_addr(a, 2)));
    if (IsAlarmClock(clock))
        return Error(EOPNOTSUPP);
    // A thread cannot sleep on its own CPU clock (it would never wake).
    if (IsPerThreadCpuClock(clock) && (CpuClockPid(clock) == 0 || CpuClockPid(clock) == t.tid()))
        return Error(EINVAL);
    kernel::TimerClock sleep_clock = TRY(TimerClockFor(t, clock));
    if (flags & TIMER_ABSTIME)
        return SleepUntil(t, sleep_clock, ToNs(req), true, mm::UserAddr());
    return SleepFor(t, sleep_clock, req, arg_addr(a, 3));
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
