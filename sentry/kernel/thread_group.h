#pragma once
// ThreadGroup: a process — the tasks sharing a PID, signal actions, rlimits and exit status.
//
// Lock order: ThreadGroup::m_lock is taken after Kernel::m_lock, never before.

#include "sentry/kernel/forward.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <array>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

namespace moat::kernel {

// The kernel's struct sigaction layout (rt_sigaction), not glibc's.
struct KernelSigaction {
    uint64_t handler = 0;  // SIG_DFL (0), SIG_IGN (1) or an app address
    uint64_t flags = 0;
    uint64_t restorer = 0;
    uint64_t mask = 0;
};

inline constexpr int kNumSignals = 64;

class ThreadGroup {
public:
    ThreadGroup(Kernel& kernel, pid_t pid, pid_t parent_pid);

    Kernel& kernel() { return m_kernel; }
    pid_t pid() const { return m_pid; }
    pid_t parent_pid() const { return m_parent_pid; }
    pid_t pgid() const { return m_pgid; }
    pid_t sid() const { return m_sid; }

    // Signal actions, shared by the group's tasks. signo is 1..64.
    KernelSigaction sigaction(int signo);
    void set_sigaction(int signo, const KernelSigaction& act);

    // rlimits (prlimit64); resource < RLIM_NLIMITS.
    struct rlimit rlimit(int resource);
    void set_rlimit(int resource, const struct rlimit& lim);

    // Exit bookkeeping: the first exit_group (or fatal signal) wins.
    // Wait status in wait(2) encoding: (code << 8) for an exit, signo for a kill (| 0x80 for core).
    bool exiting() const;
    void BeginGroupExit(int wait_status);
    int wait_status() const;
    void AddTask(Task* task);
    void RemoveTask(Task* task);  // returns when the last task left
    std::vector<Task*> tasks();
    // Blocks until every task has left the group.
    void WaitUntilEmpty();

private:
    Kernel& m_kernel;
    pid_t m_pid, m_parent_pid, m_pgid, m_sid;
    mutable std::mutex m_lock;
    std::condition_variable m_empty_cv;
    std::array<KernelSigaction, kNumSignals + 1> m_actions{};  // guarded by m_lock
    std::array<struct rlimit, RLIM_NLIMITS> m_rlimits{};       // guarded by m_lock
    bool m_exiting = false;                                     // guarded by m_lock
    int m_wait_status = 0;                                      // guarded by m_lock
    std::vector<Task*> m_tasks;                                 // guarded by m_lock
};

}  // namespace moat::kernel
