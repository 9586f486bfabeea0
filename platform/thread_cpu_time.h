#pragma once
// CPU time of host threads that run application code (for Context::CpuTime), shared by the
// backends whose application threads are host threads of a stub process.

#include "platform/platform.h"

#include <sys/types.h>

namespace moat::platform {

// One host thread's utime/stime from /proc/<pid>/task/<tid>/stat, scaled to its exact
// runtime from .../schedstat (as Linux's cputime_adjust does). Zeros if it is gone.
Context::CpuTimes HostThreadCpuTime(pid_t pid, pid_t tid);

// Splitting the runtime in the ticks' proportion can move time between user and system, so
// like Linux's cputime_adjust, never report either below what was reported before.
// `reported` is the last answer, updated.
Context::CpuTimes MonotonicCpuTimes(Context::CpuTimes now, Context::CpuTimes& reported);

}  // namespace moat::platform
