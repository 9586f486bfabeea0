#pragma once
// --strace: one line per syscall in strace's format, written after the call returns
// (`openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3`).

#include "syscalls/syscall.h"

#include <cstdint>
#include <string>

namespace moat::syscalls {

// Formats the call and its result. `result` is the raw return value (negative errno for
// errors). For calls that do not return (exit_group, a successful execve of the old image)
// pass `returns = false` to print ` = ?`.
std::string FormatSyscall(kernel::Task& task, uint64_t nr, const SyscallArgs& args, int64_t result, bool returns);

}  // namespace moat::syscalls
