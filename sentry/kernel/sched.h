#pragma once
// What the app set with sched_setaffinity, sched_setscheduler, sched_setparam and
// setpriority (syscalls/sys_sched.cc). The host schedules the app threads; the sentry records
// these so that the matching get calls, /proc and clone children see them.
//
// Any thread may read or write another task's state (setpriority on a process group,
// sched_setaffinity on another tid): every field is guarded by SchedState::lock, a leaf.

#include <sched.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace moat::kernel {

struct SchedState {
    mutable std::mutex lock;
    int nice = 0;                    // guarded by lock; -20..19
    int policy = SCHED_OTHER;        // guarded by lock; SCHED_OTHER/FIFO/RR/BATCH/IDLE
    bool reset_on_fork = false;      // guarded by lock; SCHED_RESET_ON_FORK
    int priority = 0;                // guarded by lock; sched_param.sched_priority (1..99 for FIFO/RR)
    std::vector<uint64_t> affinity;  // guarded by lock; CPU bitmap, empty = every sandbox CPU

    // A clone child's copy (Linux's sched_fork: SCHED_RESET_ON_FORK drops RT policies and
    // negative nice values in the child).
    void InheritFrom(const SchedState& parent) {
        std::scoped_lock both(lock, parent.lock);
        nice = parent.nice;
        policy = parent.policy;
        priority = parent.priority;
        affinity = parent.affinity;
        reset_on_fork = false;
        if (parent.reset_on_fork) {
            if (policy == SCHED_FIFO || policy == SCHED_RR) {
                policy = SCHED_OTHER;
                priority = 0;
            }
            if (nice < 0)
                nice = 0;
        }
    }
};

// Per process (per address space, as Linux keeps it in the mm): membarrier registrations.
struct MembarrierState {
    std::atomic<int> registered{0};  // MEMBARRIER_CMD_REGISTER_* bits seen
};

// The sandbox's CPUs: the host's online CPUs when the sentry started (at least 1).
int SandboxCpuCount();

}  // namespace moat::kernel
