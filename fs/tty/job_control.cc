#include "fs/tty/job_control.h"

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/signals.h"
#include "sentry/kernel/thread_group.h"

namespace moat::fs {

void SignalProcessGroup(kernel::Kernel& kernel, pid_t pgrp, int signo) {
    if (pgrp <= 0)
        return;
    siginfo_t info = kernel::MakeSigInfo(signo, SI_KERNEL);
    kernel.ForEachThreadGroup([&](kernel::ThreadGroup& tg) {
        if (tg.pgid() == pgrp && !tg.tasks().empty())
            (void)kernel::SendGroupSignal(tg, info);
    });
}

void SignalProcess(kernel::Kernel& kernel, pid_t pid, int signo) {
    auto tg = kernel.FindThreadGroup(pid);
    if (tg && !tg->tasks().empty())
        (void)kernel::SendGroupSignal(*tg, kernel::MakeSigInfo(signo, SI_KERNEL));
}

bool ProcessGroupOrphaned(kernel::Kernel& kernel, pid_t pgrp) {
    bool orphaned = true;
    kernel.ForEachThreadGroup([&](kernel::ThreadGroup& tg) {
        if (!orphaned || tg.pgid() != pgrp || tg.tasks().empty())
            return;
        auto parent = kernel.FindThreadGroup(tg.parent_pid());
        if (parent && parent->pgid() != pgrp && parent->sid() == tg.sid())
            orphaned = false;
    });
    return orphaned;
}

pid_t SessionOfProcessGroup(kernel::Kernel& kernel, pid_t pgrp) {
    pid_t sid = 0;
    kernel.ForEachThreadGroup([&](kernel::ThreadGroup& tg) {
        if (!sid && tg.pgid() == pgrp && !tg.tasks().empty())
            sid = tg.sid();
    });
    if (sid)
        return sid;
    auto tg = kernel.FindThreadGroup(pgrp);
    return tg && !tg->tasks().empty() ? tg->sid() : 0;
}

}  // namespace moat::fs
