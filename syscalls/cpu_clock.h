#pragma once
// The CPU-time clocks, shared by clock_gettime (sys_time.cc) and the accounting calls
// (sys_accounting.cc, which defines it).

#include "platform/base/result.h"
#include "sentry/kernel/forward.h"

#include <time.h>

namespace moat::syscalls {

// True for the clocks CpuClockNow serves: CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID and
// the negative dynamic CPU-clock ids (clock_getcpuclockid, pthread_getcpuclockid).
inline bool IsCpuClock(clockid_t clock) {
    return clock < 0 || clock == CLOCK_PROCESS_CPUTIME_ID || clock == CLOCK_THREAD_CPUTIME_ID;
}
// The clock's value from the app threads' CPU time; EINVAL for a bad or foreign id.
Result<struct timespec> CpuClockNow(kernel::Task& t, clockid_t clock);

}  // namespace moat::syscalls
