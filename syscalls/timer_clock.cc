#include "syscalls/timer_clock.h"

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/process_tree.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"

namespace moat::syscalls {

namespace {

// Linux's CPU clock id encoding (include/linux/posix-timers.h): ~pid << 3 | perthread << 2 | type.
constexpr clockid_t kCpuClockTypeMask = 3;
static_assert(static_cast<int>(kernel::CpuClockKind::Prof) == 0 && static_cast<int>(kernel::CpuClockKind::Virt) == 1 &&
              static_cast<int>(kernel::CpuClockKind::Sched) == 2);

Result<kernel::TimerClock> CpuClockOf(kernel::Task& t, pid_t pid, bool thread, kernel::CpuClockKind kind) {
    if (thread) {
        std::shared_ptr<kernel::Task> target = t.kernel().processes().FindTask(pid == 0 ? t.tid() : pid);
        if (!target || &target->thread_group() != &t.thread_group())
            return Error(EINVAL);
        return kernel::TimerClock::ThreadCpu(target, kind);
    }
    std::shared_ptr<kernel::ThreadGroup> group = t.kernel().processes().FindGroup(pid == 0 ? t.pid() : pid);
    if (!group)
        return Error(EINVAL);
    return kernel::TimerClock::ProcessCpu(group, kind);
}

}  // namespace

Result<kernel::TimerClock> TimerClockFor(kernel::Task& t, clockid_t clock) {
    switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_BOOTTIME:
    case CLOCK_TAI:
        return kernel::TimerClock::Wall(t.kernel().timekeeper(), clock);
    case CLOCK_PROCESS_CPUTIME_ID:
        return CpuClockOf(t, 0, false, kernel::CpuClockKind::Sched);
    case CLOCK_THREAD_CPUTIME_ID:
        return CpuClockOf(t, 0, true, kernel::CpuClockKind::Sched);
    default:
        break;
    }
    if (IsClockWithoutTimers(clock) || IsAlarmClock(clock) || IsPosixClockFd(clock))
        return Error(EOPNOTSUPP);
    if (clock >= 0)
        return Error(EINVAL);
    auto kind = static_cast<kernel::CpuClockKind>(clock & kCpuClockTypeMask);
    return CpuClockOf(t, CpuClockPid(clock), IsPerThreadCpuClock(clock), kind);
}

}  // namespace moat::syscalls
