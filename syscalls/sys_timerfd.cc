// timerfd_create(2), timerfd_settime(2), timerfd_gettime(2); the timer is fs::TimerFdFile.

#include "fs/events/timerfd.h"
#include "fs/fd_table.h"
#include "fs/task_fs.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/timekeeper.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <sys/timerfd.h>
#include <time.h>

namespace moat::syscalls {

namespace {

using Duration = fs::TimerFdFile::Duration;

constexpr int64_t kNsPerSec = 1000000000;

bool ValidTimespec(const timespec& ts) { return ts.tv_sec >= 0 && ts.tv_nsec >= 0 && ts.tv_nsec < kNsPerSec; }

Duration ToDuration(const timespec& ts) {
    // Clamp absurd values (centuries) rather than overflow the clock arithmetic.
    constexpr int64_t kMaxSec = int64_t{1} << 32;
    int64_t sec = ts.tv_sec > kMaxSec ? kMaxSec : ts.tv_sec;
    return Duration(sec * kNsPerSec + ts.tv_nsec);
}

timespec ToTimespec(Duration d) {
    int64_t ns = d.count() < 0 ? 0 : d.count();
    return timespec{ns / kNsPerSec, ns % kNsPerSec};
}

itimerspec ToItimerspec(const fs::TimerFdFile::Setting& s) {
    return itimerspec{ToTimespec(s.interval), ToTimespec(s.value)};
}

Result<std::shared_ptr<fs::TimerFdFile>> GetTimerFd(kernel::Task& t, int fd) {
    auto file = TRY(fs::GetFile(t, fd));
    auto timer = std::dynamic_pointer_cast<fs::TimerFdFile>(file);
    if (!timer)
        return Error(EINVAL);
    return timer;
}

}  // namespace

// Implements Linux timerfd_create(2). The alarm clocks behave as their plain clocks (there is
// no suspend to wake from).
SyscallResult sys_timerfd_create(kernel::Task& t, const SyscallArgs& a) {
    clockid_t clock = arg_int(a, 0);
    int flags = arg_int(a, 1);
    if (flags & ~(TFD_CLOEXEC | TFD_NONBLOCK))
        return Error(EINVAL);
    if (clock == CLOCK_REALTIME_ALARM)
        clock = CLOCK_REALTIME;
    else if (clock == CLOCK_BOOTTIME_ALARM)
        clock = CLOCK_BOOTTIME;
    else if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME)
        return Error(EINVAL);
    auto file = std::make_shared<fs::TimerFdFile>(clock, flags & TFD_NONBLOCK);
    return TRY(t.fd_table().Install(std::move(file), flags & TFD_CLOEXEC, 0, fs::NofileLimit(t)));
}

// Implements Linux timerfd_settime(2). TFD_TIMER_CANCEL_ON_SET is accepted: the sandbox's
// realtime clock is never set, so there is nothing to cancel on.
SyscallResult sys_timerfd_settime(kernel::Task& t, const SyscallArgs& a) {
    int fd = arg_int(a, 0);
    int flags = arg_int(a, 1);
    auto spec = TRY(t.mm().CopyInObject<itimerspec>(arg_addr(a, 2)));
    if ((flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) || !ValidTimespec(spec.it_value) ||
        !ValidTimespec(spec.it_interval))
        return Error(EINVAL);
    auto timer = TRY(GetTimerFd(t, fd));
    bool armed = spec.it_value.tv_sec != 0 || spec.it_value.tv_nsec != 0;
    Duration first = ToDuration(spec.it_value);
    if (armed && (flags & TFD_TIMER_ABSTIME)) {
        auto now = TRY(t.kernel().timekeeper().Now(timer->clock()));
        first -= ToDuration(now);
    }
    auto old = timer->Set(armed, first, ToDuration(spec.it_interval));
    if (a[3])
        TRY(t.mm().CopyOutObject(arg_addr(a, 3), ToItimerspec(old)));
    return 0;
}

// Implements Linux timerfd_gettime(2).
SyscallResult sys_timerfd_gettime(kernel::Task& t, const SyscallArgs& a) {
    auto timer = TRY(GetTimerFd(t, arg_int(a, 0)));
    TRY(t.mm().CopyOutObject(arg_addr(a, 1), ToItimerspec(timer->Get())));
    return 0;
}

}  // namespace moat::syscalls
