#pragma once
// The capability and privilege options of prctl(2) (sys_capability.cc), for sys_prctl.

#include "syscalls/syscall.h"

#include <optional>

namespace moat::syscalls {

// PR_CAPBSET_READ/DROP, PR_CAP_AMBIENT, PR_GET/SET_KEEPCAPS, PR_GET/SET_NO_NEW_PRIVS and
// PR_GET_SECUREBITS; nullopt for any other option.
std::optional<SyscallResult> CapabilityPrctl(kernel::Task& t, const SyscallArgs& a);

}  // namespace moat::syscalls
