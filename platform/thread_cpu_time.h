#pragma once
// CPU time of host threads that run application code (for Context::CpuTime), shared by the
// backends whose application threads are host threads of a stub process.

#include "platform/platform.h"

#include <sys/types.h>

#include <mutex>

namespace moat::platform {

// One host thread's utime/stime from /proc/<pid>/task/<tid>/stat, scaled to its exact
// runtime from .../schedstat (as Linux's cputime_adjust does). Zeros if it is gone.
Context::CpuTimes HostThreadCpuTime(pid_t pid, pid_t tid);

// Splitting the runtime in the ticks' proportion can move time between user and system, so
// like Linux's cputime_adjust, never report either below what was reported before.
// `reported` is the last answer, updated.
Context::CpuTimes MonotonicCpuTimes(Context::CpuTimes now, Context::CpuTimes& reported);

// The host thread a Context runs app code on, as other threads see it: CpuTime and Interrupt
// may be called from any thread while the context's own thread sets and retires the target.
// A context may run several host threads over its life (exec makes a new stub); their CPU
// time adds up. Lock: m_lock is a leaf.
class HostThreadTarget {
public:
    void Set(pid_t pid, pid_t tid);
    // Before the thread goes: adds its CPU time to the retired total and clears the target,
    // at once, so CpuTime never counts it twice or loses it.
    void Retire();
    // The CPU time of every thread this context ran, never going backwards.
    Context::CpuTimes CpuTime();
    // tgkill(`signo`) to the current thread, if any.
    void Signal(int signo);

private:
    std::mutex m_lock;
    pid_t m_pid = 0;                // guarded by m_lock
    pid_t m_tid = 0;                // guarded by m_lock
    Context::CpuTimes m_retired;   // guarded by m_lock: threads this context ran before
    Context::CpuTimes m_reported;  // guarded by m_lock: the last CpuTime() answer
};

}  // namespace moat::platform
