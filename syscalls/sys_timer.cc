// Timers: setitimer/getitimer/alarm and the POSIX timers (timer_create & co.). The timers
// themselves are the kernel's (sentry/kernel/process_timers.h).

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/process_timers.h"
#include "sentry/kernel/process_tree.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"
#include "syscalls/timer_clock.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>

#include <climits>

namespace moat::syscalls {

namespace {

using Setting = kernel::ProcessTimers::Setting;
constexpr int64_t kNsPerSec = 1'000'000'000;

int64_t ToNs(int64_t sec, int64_t nsec) {
    int64_t ns;
    if (__builtin_mul_overflow(sec, kNsPerSec, &ns))
        return INT64_MAX;  // Linux saturates at KTIME_MAX too
    return kernel::SaturatingAdd(ns, nsec);
}

struct timeval ToTimeval(int64_t ns) {
    int64_t us = ns / 1000 + (ns % 1000 ? 1 : 0);  // round up: an armed timer never reads as zero
    return {static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
}

struct timespec ToTimespec(int64_t ns) { return {static_cast<time_t>(ns / kNsPerSec), static_cast<long>(ns % kNsPerSec)}; }

Result<int64_t> FromTimeval(const struct timeval& tv) {
    if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000)
        return Error(EINVAL);
    return ToNs(tv.tv_sec, int64_t{tv.tv_usec} * 1000);
}

Result<int64_t> FromTimespec(const struct timespec& ts) {
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= kNsPerSec)
        return Error(EINVAL);
    return ToNs(ts.tv_sec, ts.tv_nsec);
}

std::shared_ptr<kernel::ThreadGroup> SelfGroup(kernel::Task& t) { return t.kernel().FindThreadGroup(t.pid()); }

bool ValidItimer(int which) { return which == ITIMER_REAL || which == ITIMER_VIRTUAL || which == ITIMER_PROF; }

// The kernel's struct sigevent (64 bytes; glibc's is the same size).
struct KernelSigevent {
    uint64_t value;
    int32_t signo;
    int32_t notify;
    int32_t tid;  // SIGEV_THREAD_ID
    int32_t pad[11];
};
static_assert(sizeof(KernelSigevent) == 64);

// Linux's good_sigevent: SIGEV_THREAD is SIGEV_SIGNAL to the kernel (glibc runs the thread).
Result<kernel::TimerEvent> ValidateEvent(kernel::Task& t, const KernelSigevent& ev) {
    kernel::TimerEvent event;
    event.notify = ev.notify;
    event.signo = ev.signo;
    event.value = ev.value;
    switch (ev.notify) {
    case SIGEV_NONE:
        return event;
    case SIGEV_THREAD_ID: {
        std::shared_ptr<kernel::Task> target = t.kernel().processes().FindTask(ev.tid);
        if (!target || &target->thread_group() != &t.thread_group())
            return Error(EINVAL);
        event.thread = target;
        break;
    }
    case SIGEV_SIGNAL:
    case SIGEV_THREAD:
        event.notify = SIGEV_SIGNAL;
        break;
    default:
        return Error(EINVAL);
    }
    if (ev.signo <= 0 || ev.signo > kernel::kNumSignals)
        return Error(EINVAL);
    return event;
}

}  // namespace

// Implements Linux getitimer(2).
SyscallResult sys_getitimer(kernel::Task& t, const SyscallArgs& a) {
    int which = arg_int(a, 0);
    if (!ValidItimer(which))
        return Error(EINVAL);
    Setting cur = t.thread_group().timers()->GetItimer(which);
    struct itimerval it{ToTimeval(cur.interval_ns), ToTimeval(cur.value_ns)};
    TRY(t.mm().CopyOutObject(arg_addr(a, 1), it));
    return 0;
}

// Implements Linux setitimer(2): ITIMER_REAL counts on the monotonic clock, ITIMER_VIRTUAL on
// the process's user CPU time, ITIMER_PROF on its user and system CPU time. A NULL new value
// disarms, as Linux allows.
SyscallResult sys_setitimer(kernel::Task& t, const SyscallArgs& a) {
    int which = arg_int(a, 0);
    if (!ValidItimer(which))
        return Error(EINVAL);
    struct itimerval it{};
    if (a[1])
        it = TRY(t.mm().CopyInObject<struct itimerval>(arg_addr(a, 1)));
    Setting setting{TRY(FromTimeval(it.it_value)), TRY(FromTimeval(it.it_interval))};
    auto tg = SelfGroup(t);
    if (!tg)
        return Error(ESRCH);
    Setting old = tg->timers()->SetItimer(t.kernel(), tg, which, setting);
    if (a[2]) {
        struct itimerval out{ToTimeval(old.interval_ns), ToTimeval(old.value_ns)};
        TRY(t.mm().CopyOutObject(arg_addr(a, 2), out));
    }
    return 0;
}

// Implements Linux alarm(2).
SyscallResult sys_alarm(kernel::Task& t, const SyscallArgs& a) {
    auto tg = SelfGroup(t);
    if (!tg)
        return Error(ESRCH);
    Setting setting{ToNs(arg_uint(a, 0), 0), 0};
    Setting old = tg->timers()->SetItimer(t.kernel(), tg, ITIMER_REAL, setting);
    // Seconds left, rounded to the nearest, and never 0 for an armed timer.
    uint64_t secs = static_cast<uint64_t>((old.value_ns / 1'000'000 + 500) / 1000);
    if (old.value_ns > 0 && secs == 0)
        secs = 1;
    return secs;
}

// Implements Linux timer_create(2). The ALARM clocks fail with EOPNOTSUPP (no RTC).
SyscallResult sys_timer_create(kernel::Task& t, const SyscallArgs& a) {
    clockid_t clock = arg_int(a, 0);
    std::optional<KernelSigevent> ev;
    if (a[1])
        ev = TRY(t.mm().CopyInObject<KernelSigevent>(arg_addr(a, 1)));
    kernel::TimerClock timer_clock = TRY(TimerClockFor(t, clock));
    std::optional<kernel::TimerEvent> event;
    if (ev)
        event = TRY(ValidateEvent(t, *ev));
    auto tg = SelfGroup(t);
    if (!tg)
        return Error(ESRCH);
    // Each timer's siginfo is preallocated against RLIMIT_SIGPENDING, as in Linux.
    struct rlimit lim = tg->rlimit(RLIMIT_SIGPENDING);
    size_t limit = lim.rlim_cur == RLIM_INFINITY ? SIZE_MAX : static_cast<size_t>(lim.rlim_cur);
    auto timers = tg->timers();
    int id = TRY(timers->CreateTimer(t.kernel(), tg, std::move(timer_clock), std::move(event), limit));
    if (auto r = t.mm().CopyOutObject<int32_t>(arg_addr(a, 2), id); !r.ok()) {
        (void)timers->DeleteTimer(id);
        return Error(r.error());
    }
    return 0;
}

// Implements Linux timer_settime(2): relative or TIMER_ABSTIME, with an interval; a zero
// it_value disarms. Other flag bits are ignored, as in Linux.
SyscallResult sys_timer_settime(kernel::Task& t, const SyscallArgs& a) {
    int id = arg_int(a, 0);
    int flags = arg_int(a, 1);
    if (!a[2])
        return Error(EINVAL);
    auto spec = TRY(t.mm().CopyInObject<struct itimerspec>(arg_addr(a, 2)));
    Setting setting{TRY(FromTimespec(spec.it_value)), TRY(FromTimespec(spec.it_interval))};
    Setting old = TRY(t.thread_group().timers()->SetTimer(id, setting, (flags & TIMER_ABSTIME) != 0));
    if (a[3]) {
        struct itimerspec out{ToTimespec(old.interval_ns), ToTimespec(old.value_ns)};
        TRY(t.mm().CopyOutObject(arg_addr(a, 3), out));
    }
    return 0;
}

// Implements Linux timer_gettime(2).
SyscallResult sys_timer_gettime(kernel::Task& t, const SyscallArgs& a) {
    Setting cur = TRY(t.thread_group().timers()->GetTimer(arg_int(a, 0)));
    struct itimerspec out{ToTimespec(cur.interval_ns), ToTimespec(cur.value_ns)};
    TRY(t.mm().CopyOutObject(arg_addr(a, 1), out));
    return 0;
}

// Implements Linux timer_getoverrun(2): the overrun count of the timer's last dequeued signal.
SyscallResult sys_timer_getoverrun(kernel::Task& t, const SyscallArgs& a) {
    int overrun = TRY(t.thread_group().timers()->TimerOverrun(arg_int(a, 0)));
    return static_cast<uint64_t>(overrun);
}

// Implements Linux timer_delete(2). A signal the timer already queued stays pending.
SyscallResult sys_timer_delete(kernel::Task& t, const SyscallArgs& a) {
    TRY(t.thread_group().timers()->DeleteTimer(arg_int(a, 0)));
    return 0;
}

}  // namespace moat::syscalls
