#include "sentry/kernel/process_tree.h"

#include "platform/base/log.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/signals.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <set>
#include <thread>

namespace moat::kernel {

void VforkDone::Complete() {
    {
        std::lock_guard lock(m_lock);
        m_done = true;
    }
    queue.Notify();
}

bool VforkDone::done() {
    std::lock_guard lock(m_lock);
    return m_done;
}

ProcessTree::ProcessTree(Kernel& kernel) : m_kernel(kernel) {}

ProcessTree::~ProcessTree() {
    // Break the parent → children references so zombies and their tasks are freed here, while
    // the kernel (memory file, platform) is still alive.
    std::map<pid_t, std::shared_ptr<ThreadGroup>> groups;
    {
        std::lock_guard lock(m_lock);
        groups.swap(m_groups);
        m_tasks.clear();
    }
    for (auto& [pid, tg] : groups) {
        tg->children.clear();
        tg->task_refs.clear();
    }
}

void ProcessTree::set_pids_limit(size_t n) {
    std::lock_guard lock(m_lock);
    m_pids_limit = n;
}

Result<pid_t> ProcessTree::AllocateTid() {
    {
        std::lock_guard lock(m_lock);
        if (m_task_count >= m_pids_limit)
            return Error(EAGAIN);
        ++m_task_count;
    }
    return m_kernel.AllocatePid();
}

void ProcessTree::ReleaseTid() {
    std::lock_guard lock(m_lock);
    --m_task_count;
}

void ProcessTree::Start(std::shared_ptr<Task> task, ThreadGroup* parent, bool new_group) {
    std::shared_ptr<ThreadGroup> tg_ref;
    {
        std::lock_guard lock(m_lock);
        ThreadGroup& tg = task->thread_group();
        if (new_group) {
            tg_ref = m_kernel.FindThreadGroup(tg.pid());
            m_groups[tg.pid()] = tg_ref;
            tg.parent = parent;
            tg.set_parent_pid(parent ? parent->pid() : 0);
            if (parent)
                parent->children.push_back(tg_ref);
            else if (!m_init)
                m_init = &tg;
        }
        tg.task_refs.push_back(task);
        m_tasks[task->tid()] = task;
        if (m_ending && &tg != m_init)
            tg.BeginGroupExit(SIGKILL);
        ++m_live_threads;
    }
    std::thread([this, task = std::move(task)]() mutable {
        task->Run();
        task.reset();
        ThreadDone();
    }).detach();
}

void ProcessTree::ThreadDone() {
    std::lock_guard lock(m_lock);
    if (--m_live_threads == 0)
        m_all_gone.notify_all();
}

int ProcessTree::WaitGroupExit(const std::shared_ptr<ThreadGroup>& tg) {
    std::unique_lock lock(m_lock);
    m_group_exit.wait(lock, [&] { return tg->zombie; });
    return tg->wait_status();
}

void ProcessTree::WaitAllGone() {
    std::unique_lock lock(m_lock);
    m_all_gone.wait(lock, [&] { return m_live_threads == 0; });
}

std::shared_ptr<Task> ProcessTree::FindTask(pid_t tid) {
    std::lock_guard lock(m_lock);
    auto it = m_tasks.find(tid);
    return it == m_tasks.end() ? nullptr : it->second;
}

std::shared_ptr<ThreadGroup> ProcessTree::FindGroup(pid_t pid) {
    std::lock_guard lock(m_lock);
    auto it = m_groups.find(pid);
    return it == m_groups.end() ? nullptr : it->second;
}

void ProcessTree::Retid(Task& task, pid_t new_tid) {
    std::lock_guard lock(m_lock);
    auto it = m_tasks.find(task.tid());
    if (it == m_tasks.end() || it->second.get() != &task)
        return;
    auto ref = it->second;
    m_tasks.erase(it);
    task.set_tid(new_tid);
    m_tasks[new_tid] = std::move(ref);
}

void ProcessTree::MarkExec(ThreadGroup& tg) {
    std::lock_guard lock(m_lock);
    tg.did_exec = true;
}

std::vector<std::shared_ptr<Task>> ProcessTree::OneTaskPerLiveGroup() {
    std::lock_guard lock(m_lock);
    std::vector<std::shared_ptr<Task>> out;
    std::set<const ThreadGroup*> seen;
    for (auto& [tid, t] : m_tasks) {
        ThreadGroup& tg = t->thread_group();
        if (t->exiting() || tg.zombie || seen.contains(&tg) || tg.exiting())
            continue;
        seen.insert(&tg);
        out.push_back(t);
    }
    return out;
}

std::shared_ptr<Task> ProcessTree::AnyTaskOfLocked(ThreadGroup& tg) {
    for (auto& [tid, t] : m_tasks)
        if (&t->thread_group() == &tg && !t->exiting())
            return t;
    return nullptr;
}

ThreadGroup* ProcessTree::FindReaperLocked(ThreadGroup& dying) {
    for (ThreadGroup* p = dying.parent; p; p = p->parent)
        if (p->child_subreaper && !p->zombie)
            return p;
    if (m_init && !m_init->zombie && m_init != &dying)
        return m_init;
    return nullptr;
}

namespace {
// The exit signal's siginfo, as do_notify_parent fills it: how the child ended, its pid, uid
// and exit code or signal (what SIGCHLD handlers and signalfd readers look at).
siginfo_t ChildExitInfo(ThreadGroup& child) {
    int ws = child.wait_status();
    int code = (ws & 0x7f) == 0 ? CLD_EXITED : (ws & 0x80) ? CLD_DUMPED : CLD_KILLED;
    siginfo_t info = MakeSigInfo(child.exit_signal, code, child.pid(), child.exit_uid);
    info.si_status = code == CLD_EXITED ? (ws >> 8) & 0xff : ws & 0x7f;
    return info;
}
}  // namespace

void ProcessTree::TaskExited(Task& task, bool last) {
    ThreadGroup& tg = task.thread_group();
    std::vector<std::pair<std::shared_ptr<Task>, siginfo_t>> signals;  // sent after unlocking
    std::vector<std::shared_ptr<Task>> to_free;
    {
        std::lock_guard lock(m_lock);
        auto it = m_tasks.find(task.tid());
        if (it != m_tasks.end() && it->second.get() == &task)
            m_tasks.erase(it);
        --m_task_count;
        if (last) {
            // The last thread's exit(2) code is the group's status unless exit_group or a
            // fatal signal set one first.
            tg.BeginGroupExit((task.exit_code & 0xff) << 8);
            tg.zombie = true;
            m_group_exit.notify_all();
            tg.exit_uid = task.creds().ruid;

            // Orphans go to the nearest subreaper or to PID 1.
            ThreadGroup* reaper = FindReaperLocked(tg);
            for (auto& child : tg.children) {
                child->parent = reaper;
                child->set_parent_pid(reaper ? reaper->pid() : 0);
                for (auto& [tid, t] : m_tasks)
                    if (&t->thread_group() == child.get() && t->pdeathsig)
                        signals.emplace_back(t, MakeSigInfo(t->pdeathsig, SI_USER, tg.pid(), tg.exit_uid));
                if (reaper) {
                    reaper->children.push_back(child);
                } else if (child->zombie) {
                    for (auto& ref : child->task_refs)
                        to_free.push_back(std::move(ref));
                    child->task_refs.clear();
                    m_groups.erase(child->pid());
                }
            }
            tg.children.clear();
            if (reaper)
                reaper->child_wait.Notify();

            if (ThreadGroup* parent = tg.parent) {
                KernelSigaction act = parent->sigaction(SIGCHLD);
                bool autoreap = tg.exit_signal == SIGCHLD &&
                                (act.handler == reinterpret_cast<uint64_t>(SIG_IGN) || (act.flags & SA_NOCLDWAIT));
                if (tg.exit_signal > 0 && act.handler != reinterpret_cast<uint64_t>(SIG_IGN))
                    if (auto target = AnyTaskOfLocked(*parent))
                        signals.emplace_back(std::move(target), ChildExitInfo(tg));
                if (autoreap)
                    ReapLocked(*parent, tg, to_free);
                parent->child_wait.Notify();
            } else if (&tg != m_init) {
                // An orphan with no reaper left (PID 1 is gone): nobody will wait for it.
                for (auto& ref : tg.task_refs)
                    to_free.push_back(std::move(ref));
                tg.task_refs.clear();
                m_groups.erase(tg.pid());
            }

            if (&tg == m_init) {
                // Like the death of a PID namespace's init: every other task is killed.
                m_ending = true;
                for (auto& [tid, t] : m_tasks) {
                    t->thread_group().BeginGroupExit(SIGKILL);
                    t->Interrupt();
                }
            }
        }
    }
    tg.thread_exit_wait.Notify();
    for (auto& [target, info] : signals)
        (void)SendSignal(*target, info);
    // Freed outside the lock: a Task's destructor releases its memory manager and files.
    to_free.clear();
}

void ProcessTree::ReapLocked(ThreadGroup& parent, ThreadGroup& child, std::vector<std::shared_ptr<Task>>& to_free) {
    // The child's CPU time and faults (and its own reaped children's) become the parent's
    // RUSAGE_CHILDREN, as Linux's cutime/cstime.
    parent.usage.AddChildUsage(GroupUsage(child, true));
    for (auto& ref : child.task_refs)
        to_free.push_back(std::move(ref));
    child.task_refs.clear();
    child.parent = nullptr;
    pid_t pid = child.pid();
    // `child` may be freed by the erase below: nothing touches it afterwards.
    m_groups.erase(pid);
    std::erase_if(parent.children, [&](const std::shared_ptr<ThreadGroup>& c) { return c->pid() == pid; });
}

std::optional<WaitResult> ProcessTree::TryWaitLocked(ThreadGroup& tg, const WaitRequest& req, bool& any,
                                                     std::vector<std::shared_ptr<Task>>& to_free) {
    any = false;
    for (size_t i = 0; i < tg.children.size(); ++i) {
        ThreadGroup& child = *tg.children[i];
        if (req.which == WaitRequest::Which::Pid && child.pid() != req.id)
            continue;
        if (req.which == WaitRequest::Which::Pgid && child.pgid() != req.id)
            continue;
        // A "clone" child reports to its parent with a signal other than SIGCHLD.
        bool clone_child = child.exit_signal != SIGCHLD;
        if (!(req.options & __WALL) && clone_child != ((req.options & __WCLONE) != 0))
            continue;
        any = true;
        if (!child.zombie && (req.options & (WUNTRACED | WCONTINUED))) {
            // Job-control reports (the signals code sets them; a report is consumed unless
            // WNOWAIT). WSTOPPED (waitid) is the same bit as WUNTRACED.
            std::lock_guard slock(child.signal_lock());
            auto& st = child.stop_state();
            WaitResult r;
            r.pid = child.pid();
            if (auto t = AnyTaskOfLocked(child))
                r.uid = t->creds().ruid;
            if ((req.options & WUNTRACED) && st.stop_report) {
                r.status = (st.stop_signo << 8) | 0x7f;
                r.code = CLD_STOPPED;
                r.code_status = st.stop_signo;
                if (!(req.options & WNOWAIT))
                    st.stop_report = false;
                return r;
            }
            if ((req.options & WCONTINUED) && st.continue_report) {
                r.status = 0xffff;
                r.code = CLD_CONTINUED;
                r.code_status = SIGCONT;
                if (!(req.options & WNOWAIT))
                    st.continue_report = false;
                return r;
            }
        }
        if (!child.zombie || !(req.options & WEXITED))
            continue;
        WaitResult r;
        r.pid = child.pid();
        r.status = child.wait_status();
        r.uid = child.exit_uid;
        r.usage = GroupUsage(child, true);
        if ((r.status & 0x7f) == 0) {
            r.code = CLD_EXITED;
            r.code_status = (r.status >> 8) & 0xff;
        } else {
            r.code = (r.status & 0x80) ? CLD_DUMPED : CLD_KILLED;
            r.code_status = r.status & 0x7f;
        }
        if (!(req.options & WNOWAIT))
            ReapLocked(tg, child, to_free);
        return r;
    }
    return std::nullopt;
}

Result<std::optional<WaitResult>> ProcessTree::Wait(Task& waiter, const WaitRequest& req) {
    ThreadGroup& tg = waiter.thread_group();
    std::optional<Result<std::optional<WaitResult>>> outcome;
    std::vector<std::shared_ptr<Task>> to_free;
    auto ready = [&]() -> bool {
        std::lock_guard lock(m_lock);
        bool any = false;
        auto r = TryWaitLocked(tg, req, any, to_free);
        if (r) {
            outcome = r;
            return true;
        }
        if (!any) {
            outcome = Result<std::optional<WaitResult>>(Error(ECHILD));
            return true;
        }
        if (req.options & WNOHANG) {
            outcome = std::optional<WaitResult>{};
            return true;
        }
        return false;
    };
    Result<void> blocked;
    if (req.options & (WUNTRACED | WCONTINUED)) {
        // FIXME(#3): until every stop/continue calls NotifyParent, look again every 20 ms.
        for (;;) {
            blocked = waiter.Block(tg.child_wait, ready, std::chrono::steady_clock::now() + std::chrono::milliseconds(20));
            if (blocked.ok() || blocked.error() != ETIMEDOUT)
                break;
        }
    } else {
        blocked = waiter.Block(tg.child_wait, ready);
    }
    to_free.clear();
    if (!blocked.ok())
        return Error(blocked.error());
    return *outcome;
}

void ProcessTree::NotifyParent(ThreadGroup& child) {
    std::lock_guard lock(m_lock);
    if (child.parent)
        child.parent->child_wait.Notify();
}

Result<void> ProcessTree::SetPgid(Task& caller, pid_t pid, pid_t pgid) {
    if (pgid < 0)
        return Error(EINVAL);
    std::lock_guard lock(m_lock);
    ThreadGroup& me = caller.thread_group();
    if (pid == 0)
        pid = me.pid();
    if (pgid == 0)
        pgid = pid;
    ThreadGroup* target = nullptr;
    if (pid == me.pid()) {
        target = &me;
    } else {
        for (auto& c : me.children)
            if (c->pid() == pid && !c->zombie)
                target = c.get();
        if (!target)
            return Error(ESRCH);
        if (target->sid() != me.sid())
            return Error(EPERM);
        if (target->did_exec)
            return Error(EACCES);
    }
    if (target->sid() == target->pid())  // a session leader
        return Error(EPERM);
    if (pgid != target->pid()) {
        bool exists = false;
        for (auto& [p, g] : m_groups)
            if (!g->zombie && g->pgid() == pgid && g->sid() == me.sid())
                exists = true;
        if (!exists)
            return Error(EPERM);
    }
    target->set_pgid(pgid);
    return {};
}

Result<pid_t> ProcessTree::SetSid(Task& caller) {
    std::lock_guard lock(m_lock);
    ThreadGroup& me = caller.thread_group();
    // EPERM if any process group already has the caller's pid as its id (it leads one).
    for (auto& [p, g] : m_groups)
        if (g->pgid() == me.pid())
            return Error(EPERM);
    me.set_sid(me.pid());
    me.set_pgid(me.pid());
    me.set_controlling_tty(nullptr);  // a new session starts without a terminal
    return me.pid();
}

Result<pid_t> ProcessTree::Pgid(Task& caller, pid_t pid) {
    if (pid == 0)
        return caller.thread_group().pgid();
    std::lock_guard lock(m_lock);
    auto it = m_groups.find(pid);
    if (it == m_groups.end())
        return Error(ESRCH);
    return it->second->pgid();
}

Result<pid_t> ProcessTree::Sid(Task& caller, pid_t pid) {
    if (pid == 0)
        return caller.thread_group().sid();
    std::lock_guard lock(m_lock);
    auto it = m_groups.find(pid);
    if (it == m_groups.end())
        return Error(ESRCH);
    return it->second->sid();
}

void ProcessTree::SetChildSubreaper(ThreadGroup& tg, bool on) {
    std::lock_guard lock(m_lock);
    tg.child_subreaper = on;
}

bool ProcessTree::ChildSubreaper(ThreadGroup& tg) {
    std::lock_guard lock(m_lock);
    return tg.child_subreaper;
}

}  // namespace moat::kernel
