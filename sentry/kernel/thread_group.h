#pragma once
// ThreadGroup: a process — the tasks sharing a PID, signal actions, rlimits and exit status.
//
// Lock order: ThreadGroup::m_lock is taken after Kernel::m_lock, never before.

#include "sentry/kernel/forward.h"
#include "sentry/kernel/sched.h"
#include "sentry/kernel/usage.h"
#include "sentry/kernel/signals.h"
#include "sentry/kernel/event_queue.h"
#include "sentry/kernel/wait_queue.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <cstdint>
#include <mutex>
#include <vector>

namespace moat::kernel {

class ProcessTimers;
class Terminal;

// The kernel's struct sigaction layout (rt_sigaction), not glibc's.
struct KernelSigaction {
    uint64_t handler = 0;  // SIG_DFL (0), SIG_IGN (1) or an app address
    uint64_t flags = 0;
    uint64_t restorer = 0;
    uint64_t mask = 0;
};

inline constexpr int kNumSignals = 64;

// The signal actions (Linux's sighand_struct): shared by a group's tasks, and by processes
// cloned with CLONE_SIGHAND but not CLONE_THREAD. exec gives a process its own copy.
class SignalHandlers {
public:
    KernelSigaction get(int signo) const;  // signo is 1..64
    void set(int signo, const KernelSigaction& act);
    std::shared_ptr<SignalHandlers> Copy() const;

private:
    mutable std::mutex m_lock;
    std::array<KernelSigaction, kNumSignals + 1> m_actions{};  // guarded by m_lock
};

class ThreadGroup {
public:
    ThreadGroup(Kernel& kernel, pid_t pid, pid_t parent_pid);

    Kernel& kernel() { return m_kernel; }
    pid_t pid() const { return m_pid; }
    pid_t parent_pid() const { return m_parent_pid.load(); }
    pid_t pgid() const { return m_pgid.load(); }
    pid_t sid() const { return m_sid.load(); }
    // Changed only under ProcessTree's lock (setpgid, setsid, reparenting).
    void set_parent_pid(pid_t p) { m_parent_pid.store(p); }
    void set_pgid(pid_t p) { m_pgid.store(p); }
    void set_sid(pid_t s) { m_sid.store(s); }

    // ---- Process tree (process_tree.h); guarded by ProcessTree's lock ----
    ThreadGroup* parent = nullptr;                      // null for PID 1 and once reaped
    std::vector<std::shared_ptr<ThreadGroup>> children;  // live and zombie children
    std::vector<std::shared_ptr<Task>> task_refs;        // every task ever in the group, until reaped
    int exit_signal = SIGCHLD;                           // sent to the parent when the group ends
    bool zombie = false;                                 // every task has exited; wait status final
    uid_t exit_uid = 0;                                  // the last task's real uid (waitid's si_uid)
    bool did_exec = false;                               // setpgid on a child after exec: EACCES
    bool child_subreaper = false;                        // PR_SET_CHILD_SUBREAPER
    // The group's waiters (wait4/waitid) sleep here; a child's exit notifies it.
    WaitQueue child_wait;
    // A thread of the group waiting for the others to end (a multi-threaded execve).
    WaitQueue thread_exit_wait;

    // /proc/[pid]/oom_score_adj (-1000..1000) and the floor below which only CAP_SYS_RESOURCE
    // may lower it (Linux's signal->oom_score_adj_min). Inherited by fork, kept by exec.
    std::atomic<int> oom_score_adj{0};
    std::atomic<int> oom_score_adj_min{0};

    // Resource usage of exited tasks and reaped children (usage.h), membarrier registrations.
    UsageAccount usage;
    MembarrierState membarrier;

    // Signal actions, shared by the group's tasks. signo is 1..64.
    KernelSigaction sigaction(int signo);
    void set_sigaction(int signo, const KernelSigaction& act);
    // The table itself (clone with or without CLONE_SIGHAND, exec's private copy).
    std::shared_ptr<SignalHandlers> signal_handlers();
    void set_signal_handlers(std::shared_ptr<SignalHandlers> handlers);

    // rlimits (prlimit64); resource < RLIM_NLIMITS.
    struct rlimit rlimit(int resource);
    // Records the host's limits as the sandbox's initial ones, before confinement lowers the
    // sentry's own (sentry/sandbox): the app sees what a process started from a shell sees.
    static void CaptureHostRlimits();
    // After CaptureHostRlimits: one initial limit set by the command line (--open-files).
    static void SetInitialRlimit(int resource, const struct rlimit& lim);
    void set_rlimit(int resource, const struct rlimit& lim);

    // Exit bookkeeping: the first exit_group (or fatal signal) wins.
    // Wait status in wait(2) encoding: (code << 8) for an exit, signo for a kill (| 0x80 for core).
    bool exiting() const;
    void BeginGroupExit(int wait_status);
    int wait_status() const;
    void AddTask(Task* task);
    bool RemoveTask(Task* task);  // true when the last task left
    std::vector<Task*> tasks();
    // Blocks until every task has left the group.
    void WaitUntilEmpty();

    // ---- Signals (signals.h). Fields below are guarded by signal_lock(), a leaf lock. ----
    std::mutex& signal_lock() { return m_signal_lock; }
    PendingSignals& shared_pending() { return m_shared_pending; }
    // Job control. A stop signal's default action stops every task of the group until SIGCONT
    // or SIGKILL. `stop_report`/`continue_report` are set on each change for the parent's
    // waitpid(WUNTRACED / WCONTINUED), which clears them once reported.
    struct StopState {
        bool stopped = false;
        int stop_signo = 0;
        bool stop_report = false;
        bool continue_report = false;
    };
    StopState& stop_state() { return m_stop; }
    // Notified on every stop/continue change (stopped tasks wait on it; so can the parent).
    WaitQueue& stop_queue() { return m_stop_queue; }
    // setitimer(2)'s and the POSIX timers (process_timers.h), made on first use.
    std::shared_ptr<ProcessTimers> timers();
    // The controlling terminal (terminal.h), or null; guarded by signal_lock().
    std::shared_ptr<Terminal> controlling_tty();
    void set_controlling_tty(std::shared_ptr<Terminal> tty);
    // Notified (POLLIN) whenever a signal becomes pending on the group or one of its tasks:
    // what signalfds hang their waiters on (Linux's sighand->signalfd_wqh).
    const std::shared_ptr<EventQueue>& signalfd_events() { return m_signalfd_events; }

private:
    Kernel& m_kernel;
    pid_t m_pid;
    std::atomic<pid_t> m_parent_pid, m_pgid, m_sid;
    mutable std::mutex m_lock;
    std::condition_variable m_empty_cv;
    std::shared_ptr<SignalHandlers> m_handlers;                 // guarded by m_lock; never null
    std::array<struct rlimit, RLIM_NLIMITS> m_rlimits{};       // guarded by m_lock
    bool m_exiting = false;                                     // guarded by m_lock
    int m_wait_status = 0;                                      // guarded by m_lock
    std::vector<Task*> m_tasks;                                 // guarded by m_lock
    std::mutex m_signal_lock;
    PendingSignals m_shared_pending;  // guarded by m_signal_lock
    StopState m_stop;                 // guarded by m_signal_lock
    WaitQueue m_stop_queue;
    std::shared_ptr<Terminal> m_controlling_tty;  // guarded by m_signal_lock
    std::shared_ptr<ProcessTimers> m_timers;  // guarded by m_lock
    const std::shared_ptr<EventQueue> m_signalfd_events = std::make_shared<EventQueue>();
};

}  // namespace moat::kernel
