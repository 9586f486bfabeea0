#pragma once
// Which clock a timer (timer_create) or a sleep (clock_nanosleep) counts on, from a clockid_t.

#include "platform/base/result.h"
#include "sentry/kernel/forward.h"
#include "sentry/kernel/interval_timer.h"

#include <sys/types.h>
#include <time.h>

namespace moat::syscalls {

// Valid clocks that have neither timers nor sleeps (Linux's k_clocks without timer_create and
// nsleep): MONOTONIC_RAW and the COARSE clocks.
inline bool IsClockWithoutTimers(clockid_t c) {
    return c == CLOCK_MONOTONIC_RAW || c == CLOCK_REALTIME_COARSE || c == CLOCK_MONOTONIC_COARSE;
}
inline bool IsAlarmClock(clockid_t c) { return c == CLOCK_REALTIME_ALARM || c == CLOCK_BOOTTIME_ALARM; }
// A negative id names a CPU clock of a pid (below) or, with type 3, a posix-clock fd (PTP
// devices): the sandbox has none, and Linux gives those neither timers nor sleeps either.
inline bool IsPosixClockFd(clockid_t c) { return c < 0 && (c & 3) == 3; }
// A CPU clock id's pid and per-thread bit (Linux's ~pid << 3 | perthread << 2 | type).
inline pid_t CpuClockPid(clockid_t c) { return static_cast<pid_t>(~c >> 3); }
inline bool IsPerThreadCpuClock(clockid_t c) { return c == CLOCK_THREAD_CPUTIME_ID || (c < 0 && (c & 4)); }

// The clock, with timer_create's errors: EINVAL for an unknown id, a CPU clock of a process
// that does not exist or of a thread outside the caller's process; EOPNOTSUPP for a clock
// without timers, a posix-clock fd, and the ALARM clocks (the sandbox has no RTC, as Linux
// without one).
Result<kernel::TimerClock> TimerClockFor(kernel::Task& t, clockid_t clock);

}  // namespace moat::syscalls
