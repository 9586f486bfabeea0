// Clocks and sleeping: clock_gettime & co. (the same clocks the vDSO computes), nanosleep,
// sched_yield, getcpu.

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/timekeeper.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <sched.h>
#include <sys/time.h>
#include <time.h>

namespace moat::syscalls {

// Implements Linux clock_gettime(2).
SyscallResult sys_clock_gettime(kernel::Task& t, const SyscallArgs& a) {
    auto ts = TRY(t.kernel().timekeeper().Now(arg_int(a, 0)));
    TRY(t.mm().CopyOutObject(arg_addr(a, 1), ts));
    return 0;
}

// Implements Linux clock_getres(2); a NULL res only validates the clock.
SyscallResult sys_clock_getres(kernel::Task& t, const SyscallArgs& a) {
    auto ts = TRY(t.kernel().timekeeper().Resolution(arg_int(a, 0)));
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

// Implements Linux nanosleep(2).
// FIXME(#3): a signal does not interrupt the sleep yet (no EINTR, no remaining time).
SyscallResult sys_nanosleep(kernel::Task& t, const SyscallArgs& a) {
    struct timespec req = TRY(CopyInTimespec(t, arg_addr(a, 0)));
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &req) == EINTR) {
    }
    return 0;
}

// Implements Linux clock_nanosleep(2), including TIMER_ABSTIME.
// FIXME(#3): not interruptible by signals yet.
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
    int host_flags = flags & TIMER_ABSTIME;
    while (clock_nanosleep(clock, host_flags, &req, host_flags ? nullptr : &req) == EINTR) {
    }
    return 0;
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
