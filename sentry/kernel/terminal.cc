#include "sentry/kernel/terminal.h"

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/thread_group.h"

#include <memory>

namespace moat::kernel {

void ClearSessionTty(Kernel& kernel, pid_t sid, const Terminal* tty) {
    kernel.ForEachThreadGroup([&](ThreadGroup& tg) {
        if (tg.sid() != sid)
            return;
        if (!tty || tg.controlling_tty().get() == tty)
            tg.set_controlling_tty(nullptr);
    });
}

void SessionLeaderExited(ThreadGroup& leader) {
    std::shared_ptr<Terminal> tty = leader.controlling_tty();
    if (tty)
        tty->SessionLeaderExited(leader.sid());
    ClearSessionTty(leader.kernel(), leader.sid(), nullptr);
}

}  // namespace moat::kernel
