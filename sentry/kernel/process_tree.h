#pragma once
// ProcessTree: the sandbox's PID namespace as a tree — every live task by tid, every thread
// group (live or zombie) by pid, parent/child links, process groups and sessions, zombies and
// their reaping (wait4/waitid), reparenting to PID 1 or the nearest child subreaper, and the
// end of the sandbox when PID 1 dies.
//
// Ownership: the tree holds a shared_ptr to every task and thread group until the group is
// reaped (a parent's wait, or auto-reaping when the parent ignores SIGCHLD or is gone), so a
// Task* from ThreadGroup::tasks() stays valid while its group may still be looked at. Each
// task's host thread also holds a reference while it runs; the threads are detached and
// counted, and Kernel::Run returns once the count is zero.
//
// Lock order: ProcessTree::m_lock → Kernel::m_lock → ThreadGroup::m_lock → WaitQueue → Task's
// block lock. The ThreadGroup fields marked "process tree" are guarded by ProcessTree::m_lock.

#include "platform/base/result.h"
#include "sentry/kernel/forward.h"
#include "sentry/kernel/usage.h"
#include "sentry/kernel/wait_queue.h"

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace moat::kernel {

// clone(2)/clone3(2) arguments after decoding and validation (sys_clone.cc).
struct CloneArgs {
    uint64_t flags = 0;      // CLONE_* without the exit signal
    int exit_signal = 0;     // 0: none
    uint64_t stack = 0;      // the child's rsp; 0 keeps the parent's
    uint64_t tls = 0;        // CLONE_SETTLS: the child's fs_base
    uint64_t parent_tid = 0;  // CLONE_PARENT_SETTID
    uint64_t child_tid = 0;   // CLONE_CHILD_SETTID / CLONE_CHILD_CLEARTID
};

// A vfork parent waits on this until the child execs or exits.
struct VforkDone {
    void Complete();
    bool done();
    WaitQueue queue;

private:
    std::mutex m_lock;
    bool m_done = false;  // guarded by m_lock
};

// What wait4/waitid look for.
struct WaitRequest {
    enum class Which { Any, Pid, Pgid } which = Which::Any;
    pid_t id = 0;     // the pid or pgid (already resolved: 0 → the caller's pgid)
    int options = 0;  // WNOHANG, WEXITED, WNOWAIT, __WCLONE, __WALL, __WNOTHREAD…
};

struct WaitResult {
    pid_t pid = 0;
    int status = 0;  // wait(2) encoding
    uid_t uid = 0;
    int code = 0;       // CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED, CLD_CONTINUED
    int code_status = 0;  // exit code or signal
    ResourceUsage usage;  // the child's own and its reaped children's (wait4's rusage)
};

class ProcessTree {
public:
    static constexpr size_t kDefaultPidsLimit = 4096;

    explicit ProcessTree(Kernel& kernel);
    ~ProcessTree();

    void set_pids_limit(size_t n);
    // Allocates a tid for a new task; EAGAIN when the sandbox already has pids_limit tasks.
    Result<pid_t> AllocateTid();
    // Gives back a tid from AllocateTid whose task was never registered.
    void ReleaseTid();

    // Registers a new task (and its group, when the task leads a new one) and starts its host
    // thread. `parent` is the new group's parent (null only for PID 1). If the sandbox is
    // ending (PID 1 died) or the group is exiting, the task starts only to exit at once.
    void Start(std::shared_ptr<Task> task, ThreadGroup* parent, bool new_group);
    // Blocks the calling host thread until every task of `tg` has exited; its wait status.
    int WaitGroupExit(const std::shared_ptr<ThreadGroup>& tg);

    std::shared_ptr<Task> FindTask(pid_t tid);
    // One live, not exiting task of every process, in tid order (the OOM killer's scan).
    std::vector<std::shared_ptr<Task>> OneTaskPerLiveGroup();
    std::shared_ptr<ThreadGroup> FindGroup(pid_t pid);
    // The exec'ing thread of a multi-threaded group takes over the leader's tid.
    void Retid(Task& task, pid_t new_tid);
    void MarkExec(ThreadGroup& tg);

    // Called by a task's host thread once the task has left its group (`last`: it was the
    // group's last task): zombie, reparenting, the exit signal, PID 1's sandbox-wide kill.
    void TaskExited(Task& task, bool last);

    // A child stopped or continued (job control): wakes its parent's waiters.
    void NotifyParent(ThreadGroup& child);

    // wait4/waitid: a child matching `req`; nullopt when none is ready and WNOHANG; ECHILD
    // when none matches; ERESTARTSYS when interrupted.
    Result<std::optional<WaitResult>> Wait(Task& waiter, const WaitRequest& req);

    // Process groups and sessions (setpgid, setsid, getpgid, getsid).
    Result<void> SetPgid(Task& caller, pid_t pid, pid_t pgid);
    Result<pid_t> SetSid(Task& caller);
    Result<pid_t> Pgid(Task& caller, pid_t pid);
    Result<pid_t> Sid(Task& caller, pid_t pid);

    // PR_SET_CHILD_SUBREAPER.
    void SetChildSubreaper(ThreadGroup& tg, bool on);
    bool ChildSubreaper(ThreadGroup& tg);

    // Blocks until every task's host thread has finished.
    void WaitAllGone();

private:
    // All with m_lock held.
    std::optional<WaitResult> TryWaitLocked(ThreadGroup& tg, const WaitRequest& req, bool& any,
                                            std::vector<std::shared_ptr<Task>>& to_free);
    void ReapLocked(ThreadGroup& parent, ThreadGroup& child, std::vector<std::shared_ptr<Task>>& to_free);
    ThreadGroup* FindReaperLocked(ThreadGroup& dying);
    std::shared_ptr<Task> AnyTaskOfLocked(ThreadGroup& tg);
    void ThreadDone();

    Kernel& m_kernel;
    std::mutex m_lock;
    std::condition_variable m_all_gone;
    std::condition_variable m_group_exit;  // a thread group became a zombie (WaitGroupExit)
    size_t m_pids_limit = kDefaultPidsLimit;                    // guarded by m_lock
    size_t m_task_count = 0;                                    // live tasks + reserved tids; m_lock
    size_t m_live_threads = 0;                                  // guarded by m_lock
    std::map<pid_t, std::shared_ptr<Task>> m_tasks;             // live tasks by tid; m_lock
    std::map<pid_t, std::shared_ptr<ThreadGroup>> m_groups;     // unreaped groups by pid; m_lock
    ThreadGroup* m_init = nullptr;                              // guarded by m_lock
    bool m_ending = false;  // PID 1 died: every task is being killed; m_lock
};

}  // namespace moat::kernel
