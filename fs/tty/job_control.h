#pragma once
// Process-group helpers the terminal needs (Linux's kill_pgrp, is_current_pgrp_orphaned).
// Called without any fs lock held.

#include "sentry/kernel/forward.h"

#include <sys/types.h>

namespace moat::fs {

// Sends `signo` from the kernel (SI_KERNEL) to every live process of group `pgrp`.
void SignalProcessGroup(kernel::Kernel& kernel, pid_t pgrp, int signo);
// Sends `signo` from the kernel to the process `pid`, if it lives.
void SignalProcess(kernel::Kernel& kernel, pid_t pid, int signo);
// An orphaned process group: no member has a parent in another group of the same session.
bool ProcessGroupOrphaned(kernel::Kernel& kernel, pid_t pgrp);
// The session of process group `pgrp` (or of the process `pgrp` when no group has that id);
// 0 when neither exists.
pid_t SessionOfProcessGroup(kernel::Kernel& kernel, pid_t pgrp);

}  // namespace moat::fs
