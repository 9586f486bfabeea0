// Opening files: open, openat, creat.

#include "fs/fd_table.h"
#include "fs/task_fs.h"
#include "fs/vfs.h"
#include "sentry/kernel/task.h"
#include "syscalls/handlers.h"

#include <fcntl.h>

namespace moat::syscalls {

namespace {

SyscallResult DoOpenAt(kernel::Task& task, int dirfd, mm::UserAddr path_addr, int flags, uint32_t mode) {
    // build_open_flags (EINVAL) comes before the path is copied in.
    int normalized = TRY(fs::NormalizeOpenFlags(flags));
    std::string path = TRY(fs::CopyInPath(task, path_addr));
    auto file = TRY(fs::OpenAtForTask(task, dirfd, path, normalized, mode));
    int fd = TRY(task.fd_table().Install(std::move(file), (normalized & O_CLOEXEC) != 0, 0, fs::NofileLimit(task)));
    return static_cast<uint64_t>(fd);
}

}  // namespace

// Implements Linux openat(2). Differs: no filesystem can create files yet — creating on the
// read-only host root is EROFS (after EEXIST, as Linux orders them); O_TMPFILE is EROFS there.
SyscallResult sys_openat(kernel::Task& task, const SyscallArgs& args) {
    return DoOpenAt(task, arg_int(args, 0), arg_addr(args, 1), arg_int(args, 2), arg_uint(args, 3));
}

// Implements Linux open(2): openat(AT_FDCWD, …).
SyscallResult sys_open(kernel::Task& task, const SyscallArgs& args) {
    return DoOpenAt(task, AT_FDCWD, arg_addr(args, 0), arg_int(args, 1), arg_uint(args, 2));
}

// Implements Linux creat(2): open(path, O_CREAT|O_WRONLY|O_TRUNC, mode).
SyscallResult sys_creat(kernel::Task& task, const SyscallArgs& args) {
    return DoOpenAt(task, AT_FDCWD, arg_addr(args, 0), O_CREAT | O_WRONLY | O_TRUNC, arg_uint(args, 1));
}

}  // namespace moat::syscalls
