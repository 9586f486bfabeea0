#pragma once
// fcntl(2) commands served outside sys_fd.cc: record locks (sys_lock.cc) and memfd seals
// (sys_memfd.cc).

#include "fs/file.h"
#include "syscalls/syscall.h"

#include <memory>

namespace moat::syscalls {

// F_GETLK, F_SETLK, F_SETLKW and F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW; `arg` points at a
// struct flock.
SyscallResult FcntlLock(kernel::Task& task, const std::shared_ptr<fs::File>& file, int cmd, mm::UserAddr arg);
// F_ADD_SEALS and F_GET_SEALS.
SyscallResult FcntlSeals(kernel::Task& task, const std::shared_ptr<fs::File>& file, int cmd, uint64_t arg);

}  // namespace moat::syscalls
