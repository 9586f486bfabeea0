#include "sentry/kernel/signals.h"

#include "platform/base/log.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"

#include <signal.h>

namespace moat::kernel {

DefaultAction DefaultActionOf(int signo) {
    switch (signo) {
    case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE:
    case SIGSEGV: case SIGXCPU: case SIGXFSZ: case SIGSYS:
        return DefaultAction::CoreDump;
    case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
        return DefaultAction::Stop;
    case SIGCONT:
        return DefaultAction::Continue;
    case SIGCHLD: case SIGURG: case SIGWINCH:
        return DefaultAction::Ignore;
    default:
        return DefaultAction::Terminate;
    }
}

void SendSignalToGroup(Task& target, int signo) {
    KernelSigaction act = target.thread_group().sigaction(signo);
    if (signo != SIGKILL && signo != SIGSTOP) {
        if (act.handler == reinterpret_cast<uint64_t>(SIG_IGN))
            return;
        if (act.handler != reinterpret_cast<uint64_t>(SIG_DFL)) {
            // FIXME(#3): run the handler once signal delivery lands.
            log::debug("[{}] signal {} has a handler; delivery is not implemented yet", target.tid(), signo);
            return;
        }
    }
    switch (DefaultActionOf(signo)) {
    case DefaultAction::Ignore:
    case DefaultAction::Continue:
        return;
    case DefaultAction::Stop:
        // FIXME(#3): job-control stops.
        return;
    case DefaultAction::Terminate:
    case DefaultAction::CoreDump:
        // No core file is written, so the wait status never has the core bit (0x80).
        target.ExitGroup(signo);
        return;
    }
}

}  // namespace moat::kernel
