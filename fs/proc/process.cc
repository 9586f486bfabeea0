#include "fs/proc/process.h"

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/process_tree.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"

namespace moat::fs::proc {

Result<ProcessRef> FindProcess(const FsCaller& caller, pid_t pid, pid_t tid) {
    if (!caller.task || pid <= 0 || tid < 0)
        return Error(ENOENT);
    kernel::ProcessTree& tree = caller.task->kernel().processes();
    ProcessRef ref;
    if (caller.task->pid() == pid && (tid == 0 || tid == caller.task->tid()) && !tree.FindTask(caller.task->tid())) {
        // The caller itself, before (or without, in in-process tests) registration in the
        // tree: non-owning references, valid for the caller's own syscall.
        ref.task = std::shared_ptr<kernel::Task>(std::shared_ptr<void>(), caller.task);
        ref.group = std::shared_ptr<kernel::ThreadGroup>(std::shared_ptr<void>(), &caller.task->thread_group());
        return ref;
    }
    if (tid != 0) {
        ref.task = tree.FindTask(tid);
        if (!ref.task || ref.task->pid() != pid)
            return Error(ENOENT);
        ref.group = tree.FindGroup(pid);
        if (!ref.group)
            return Error(ENOENT);
        return ref;
    }
    // /proc/<tid> also names a thread that is not a group leader (hidden from the listing).
    ref.task = tree.FindTask(pid);
    if (ref.task) {
        ref.group = tree.FindGroup(ref.task->pid());
        if (!ref.group)
            return Error(ENOENT);
        return ref;
    }
    ref.group = tree.FindGroup(pid);
    if (!ref.group)
        return Error(ENOENT);
    // The leader has exited: any live thread speaks for the process.
    // FIXME(#fs-procfs): tasks() hands out raw pointers; FindTask takes a reference.
    for (kernel::Task* t : ref.group->tasks()) {
        ref.task = tree.FindTask(t->tid());
        if (ref.task)
            break;
    }
    return ref;
}

Result<void> MayAccess(const FsCaller& caller, const ProcessRef& target) {
    if (!caller.creds || caller.creds->HasCapability(CAP_SYS_PTRACE))
        return {};
    if (!target.task)
        return Error(EACCES);
    if (caller.task && &caller.task->thread_group() == target.group.get())
        return {};
    const kernel::Credentials& c = target.task->creds();
    const kernel::Credentials& me = *caller.creds;
    if (me.fsuid == c.ruid && me.fsuid == c.euid && me.fsuid == c.suid && me.fsgid == c.rgid &&
        me.fsgid == c.egid && me.fsgid == c.sgid)
        return {};
    return Error(EACCES);
}

Owner OwnerOf(const ProcessRef& p) {
    if (!p.task)
        return {};
    return Owner{p.task->creds().euid, p.task->creds().egid};
}

}  // namespace moat::fs::proc
