#pragma once
// Resource usage for getrusage(2), times(2), wait4(2) and the CPU-time clocks.
//
// A task's CPU time is the host's account of the app thread that runs it (the platform
// Context's CpuTime: for ptrace, the stub thread's utime/stime scaled to its exact runtime)
// plus what earlier contexts of the task used. A thread group adds the tasks that already
// left it (`exited`) and, for RUSAGE_CHILDREN, the reaped children (`children`, which
// includes their own reaped children, as Linux's cutime/cstime do).
//
// Locks: UsageAccount::m_lock → Task's context lock (both leaves otherwise).

#include "sentry/kernel/forward.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>

namespace moat::kernel {

struct ResourceUsage {
    uint64_t user_ns = 0, sys_ns = 0;
    uint64_t minflt = 0, majflt = 0;
    uint64_t nvcsw = 0, nivcsw = 0;
    uint64_t maxrss_kb = 0;  // the largest, not a sum

    ResourceUsage& operator+=(const ResourceUsage& o) {
        user_ns += o.user_ns;
        sys_ns += o.sys_ns;
        minflt += o.minflt;
        majflt += o.majflt;
        nvcsw += o.nvcsw;
        nivcsw += o.nivcsw;
        maxrss_kb = std::max(maxrss_kb, o.maxrss_kb);
        return *this;
    }
    struct rusage ToRusage() const;
};

// Per thread group: what its finished tasks and its reaped children used.
class UsageAccount {
public:
    // A child process was reaped (wait4/waitid, or auto-reaped): add GroupUsage(child, true).
    void AddChildUsage(const ResourceUsage& u) {
        std::lock_guard lock(m_lock);
        m_children += u;
    }
    ResourceUsage children() const {
        std::lock_guard lock(m_lock);
        return m_children;
    }
    // Records a resident-set size seen (getrusage's ru_maxrss is the high-water mark).
    void NoteRss(uint64_t kb) {
        std::lock_guard lock(m_lock);
        m_exited.maxrss_kb = std::max(m_exited.maxrss_kb, kb);
    }

private:
    friend class Task;  // adds an exiting task's final usage (task_usage.cc)
    friend ResourceUsage GroupUsage(ThreadGroup& tg, bool including_children);
    // Taken before a Task's context lock, so that a task is counted either live or exited.
    mutable std::mutex m_lock;
    ResourceUsage m_exited;    // guarded by m_lock
    ResourceUsage m_children;  // guarded by m_lock
};

// RUSAGE_THREAD of one task: its CPU time and faults (no RSS: the caller adds its own mm's).
ResourceUsage TaskUsage(Task& task);
// RUSAGE_SELF of a thread group: its live tasks + the ones that exited. With
// `including_children`, plus RUSAGE_CHILDREN (what a parent adds when it reaps this group).
ResourceUsage GroupUsage(ThreadGroup& tg, bool including_children = false);

}  // namespace moat::kernel
