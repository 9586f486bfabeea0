#pragma once
// Every x86-64 syscall's handler, declared weak: a family file (sys_*.cc) that defines
// `moat::syscalls::sys_NAME` plugs it into the table; an undefined one is a null pointer and
// the table reports the call as unimplemented (ENOSYS, counted).
//
// This keeps the table generated from syscall_names.inc and lets each family file stand
// alone. syscalls/ is an OBJECT library so every definition is linked.

#include "syscalls/syscall.h"

namespace moat::syscalls {

#define X(nr, name) SyscallResult sys_##name(kernel::Task&, const SyscallArgs&) __attribute__((weak));
#include "syscalls/syscall_names.inc"
#undef X

}  // namespace moat::syscalls
