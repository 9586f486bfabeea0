// Process groups and sessions: getpgrp, getpgid, setpgid, getsid, setsid. The rules (EPERM,
// ESRCH, EACCES, EINVAL) are Linux's and live in ProcessTree (sentry/kernel/process_tree.cc).

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/process_tree.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "syscalls/handlers.h"

namespace moat::syscalls {

// Implements Linux getpgrp(2).
SyscallResult sys_getpgrp(kernel::Task& t, const SyscallArgs&) { return static_cast<uint64_t>(t.thread_group().pgid()); }

// Implements Linux getpgid(2).
SyscallResult sys_getpgid(kernel::Task& t, const SyscallArgs& a) {
    return static_cast<uint64_t>(TRY(t.kernel().processes().Pgid(t, arg_int(a, 0))));
}

// Implements Linux getsid(2).
SyscallResult sys_getsid(kernel::Task& t, const SyscallArgs& a) {
    return static_cast<uint64_t>(TRY(t.kernel().processes().Sid(t, arg_int(a, 0))));
}

// Implements Linux setpgid(2).
SyscallResult sys_setpgid(kernel::Task& t, const SyscallArgs& a) {
    TRY(t.kernel().processes().SetPgid(t, arg_int(a, 0), arg_int(a, 1)));
    return 0;
}

// Implements Linux setsid(2).
SyscallResult sys_setsid(kernel::Task& t, const SyscallArgs&) {
    return static_cast<uint64_t>(TRY(t.kernel().processes().SetSid(t)));
}

}  // namespace moat::syscalls
