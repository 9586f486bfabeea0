// Host-level privileged operations the sandbox never has: the workload is root of its own
// sandbox, but, like a container's root, without CAP_SYS_BOOT, CAP_SYS_MODULE, CAP_SYS_RAWIO,
// CAP_SYS_PACCT or the swap and kexec powers of the host's CAP_SYS_ADMIN. Each call fails with
// EPERM, what Linux gives a process without the capability, after nothing else is checked.
// tests/security/guest/escape_probe_test.cc probes them.

#include "syscalls/handlers.h"

namespace moat::syscalls {

namespace {
SyscallResult NotPermitted() { return Error(EPERM); }
}  // namespace

// Implements Linux reboot(2): EPERM (no CAP_SYS_BOOT).
SyscallResult sys_reboot(kernel::Task&, const SyscallArgs&) { return NotPermitted(); }

// Implements Linux swapon(2) and swapoff(2): EPERM (no CAP_SYS_ADMIN over the host's swap).
SyscallResult sys_swapon(kernel::Task&, const SyscallArgs&) { return NotPermitted(); }
SyscallResult sys_swapoff(kernel::Task&, const SyscallArgs&) { return NotPermitted(); }

// Implements Linux iopl(2) and ioperm(2): EPERM (no CAP_SYS_RAWIO).
SyscallResult sys_iopl(kernel::Task&, const SyscallArgs&) { return NotPermitted(); }
SyscallResult sys_ioperm(kernel::Task&, const SyscallArgs&) { return NotPermitted(); }

// Implements Linux init_module(2), finit_module(2) and delete_module(2): EPERM (no
// CAP_SYS_MODULE).
SyscallResult sys_init_module(kernel::Task&, const SyscallArgs&) { return NotPermitted(); }
SyscallResult sys_finit_module(kernel::Task&, const SyscallArgs&) { return NotPermitted(); }
SyscallResult sys_delete_module(kernel::Task&, const SyscallArgs&) { return NotPermitted(); }

// Implements Linux kexec_load(2) and kexec_file_load(2): EPERM (no CAP_SYS_BOOT).
SyscallResult sys_kexec_load(kernel::Task&, const SyscallArgs&) { return NotPermitted(); }
SyscallResult sys_kexec_file_load(kernel::Task&, const SyscallArgs&) { return NotPermitted(); }

// Implements Linux acct(2): EPERM (no CAP_SYS_PACCT).
SyscallResult sys_acct(kernel::Task&, const SyscallArgs&) { return NotPermitted(); }

}  // namespace moat::syscalls
