#pragma once
// Terminal: a controlling terminal as the process tree sees it (Linux's signal->tty). The
// kernel only stores the association and tells the terminal when a session ends; the terminal
// itself (fs/tty: pseudo-terminals) owns its session and foreground process group.
//
// Association: ThreadGroup::controlling_tty() — inherited by fork, dropped by setsid(2), set
// by the terminal (TIOCSCTTY, open without O_NOCTTY by a session leader), cleared for a whole
// session on hangup or when the session leader exits.

#include "sentry/kernel/forward.h"

#include <sys/types.h>

namespace moat::kernel {

class Terminal {
public:
    virtual ~Terminal() = default;
    // The leader of session `sid` exited while this was its controlling terminal (Linux's
    // disassociate_ctty(1)): SIGHUP to the foreground group; the terminal forgets the session.
    virtual void SessionLeaderExited(pid_t sid) = 0;
};

// Every process of session `sid` whose controlling terminal is `tty` (any, when null) loses it
// (Linux's session_clear_tty).
void ClearSessionTty(Kernel& kernel, pid_t sid, const Terminal* tty);

// A session leader's last thread has exited (do_exit's disassociate_ctty(1)).
void SessionLeaderExited(ThreadGroup& leader);

}  // namespace moat::kernel
