// Task::Clone: clone(2), fork(2), vfork(2) and clone3(2) after the syscall layer validated
// the flags (syscalls/sys_clone.cc).

#include "fs/fd_table.h"
#include "fs/fs_context.h"
#include "platform/base/log.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/process_tree.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"

#include <linux/sched.h>

namespace moat::kernel {

Result<std::shared_ptr<Task>> Task::Clone(const CloneArgs& args) {
    const uint64_t flags = args.flags;
    ProcessTree& tree = m_kernel.processes();

    // Everything that can fail comes before the tid is taken and the task exists.
    // The child starts with the parent's FPU state; the Context lives on this (the parent's)
    // host thread, and the child's own Context gets it before its first Switch.
    std::vector<uint8_t> fpu = TRY(m_context->GetFpu());
    std::shared_ptr<mm::MemoryManager> mm = (flags & CLONE_VM) ? m_mm : TRY(m_mm->Fork());
    std::shared_ptr<fs::FdTable> fds = (flags & CLONE_FILES) ? m_fd_table : TRY(m_fd_table->Fork());
    std::shared_ptr<fs::FsContext> fsc = (flags & CLONE_FS) ? m_fs_context : m_fs_context->Fork();

    pid_t tid = TRY(tree.AllocateTid());

    std::shared_ptr<ThreadGroup> tg;
    ThreadGroup* parent = nullptr;
    const bool new_group = !(flags & CLONE_THREAD);
    if (!new_group) {
        tg = m_tg;
    } else {
        // CLONE_PARENT: a sibling, reporting to our parent with our own exit signal.
        tg = std::make_shared<ThreadGroup>(m_kernel, tid, 0);
        tg->exit_signal = (flags & CLONE_PARENT) ? m_tg->exit_signal : args.exit_signal;
        for (int r = 0; r < RLIM_NLIMITS; ++r)
            tg->set_rlimit(r, m_tg->rlimit(r));
        tg->oom_score_adj.store(m_tg->oom_score_adj.load());
        tg->oom_score_adj_min.store(m_tg->oom_score_adj_min.load());
        // CLONE_SIGHAND: one table for both processes; otherwise the child's own copy
        // (CLONE_CLEAR_SIGHAND: with handled signals back to SIG_DFL).
        if (flags & CLONE_SIGHAND) {
            tg->set_signal_handlers(m_tg->signal_handlers());
        } else {
            auto handlers = m_tg->signal_handlers()->Copy();
            for (int sig = 1; (flags & CLONE_CLEAR_SIGHAND) && sig <= kNumSignals; ++sig)
                if (handlers->get(sig).handler > 1)
                    handlers->set(sig, KernelSigaction{});
            tg->set_signal_handlers(std::move(handlers));
        }
        tg->set_pgid(m_tg->pgid());
        tg->set_sid(m_tg->sid());
        tg->set_controlling_tty(m_tg->controlling_tty());
        m_kernel.RegisterThreadGroup(tg);
        // The parent link is set by ProcessTree::Start under its lock.
        parent = (flags & CLONE_PARENT) ? nullptr : m_tg.get();
    }

    auto child = std::make_shared<Task>(m_kernel, tg, tid);
    child->set_mm(std::move(mm));
    child->set_fd_table(std::move(fds));
    child->set_fs_context(std::move(fsc));
    child->m_creds = m_creds;
    child->set_signal_mask(signal_mask());
    child->comm = comm;
    child->sched.InheritFrom(sched);
    child->initial_fpu = std::move(fpu);
    // Linux keeps the alternate signal stack only when the child cannot be using it at once.
    if (!(flags & CLONE_VM) || (flags & CLONE_VFORK))
        child->altstack = altstack;

    child->m_regs = m_regs;
    child->m_regs.rax = 0;
    if (args.stack)
        child->m_regs.rsp = args.stack;
    if (flags & CLONE_SETTLS)
        child->m_regs.fs_base = args.tls;

    // Linux ignores failures to store these.
    if (flags & CLONE_CHILD_SETTID)
        (void)child->mm().CopyOutObject<int32_t>(mm::UserAddr(args.child_tid), tid);
    if (flags & CLONE_CHILD_CLEARTID)
        child->clear_child_tid = args.child_tid;
    if (flags & CLONE_PARENT_SETTID)
        (void)m_mm->CopyOutObject<int32_t>(mm::UserAddr(args.parent_tid), tid);

    std::shared_ptr<VforkDone> vfork;
    if (flags & CLONE_VFORK) {
        vfork = std::make_shared<VforkDone>();
        child->vfork_done = vfork;
    }

    if (new_group && (flags & CLONE_PARENT)) {
        // Our parent becomes the child's; looked up now, linked under the tree lock.
        std::shared_ptr<ThreadGroup> grand = m_kernel.FindThreadGroup(m_tg->parent_pid());
        parent = grand.get();
    }
    log::debug("[{}] clone flags {:#x} → {}", m_tid, flags, tid);
    tree.Start(child, parent, new_group);

    if (vfork) {
        // Linux waits killably: only a fatal signal ends the wait early. Any other signal
        // stays pending and is delivered once vfork returns (after the child's exec or exit).
        while (!Block(vfork->queue, [&] { return vfork->done(); }).ok()) {
            if (m_exiting || m_tg->exiting() || exit_requested())
                break;
            clear_wake_for_signal();
        }
    }
    return child;
}

}  // namespace moat::kernel
