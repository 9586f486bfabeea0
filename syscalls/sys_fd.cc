// File descriptors: close, close_range, dup, dup2, dup3, fcntl.

#include "fs/fd_table.h"
#include "fs/task_fs.h"
#include "sentry/kernel/task.h"
#include "syscalls/fcntl_ops.h"
#include "syscalls/handlers.h"

#include <fcntl.h>
#include <linux/close_range.h>

namespace moat::syscalls {

namespace {
// F_SETFL may change these (Linux's SETFL_MASK).
constexpr int kSetflMask = O_APPEND | O_ASYNC | O_NONBLOCK | O_DIRECT | O_NOATIME;

SyscallResult DupFrom(kernel::Task& task, int fd, uint64_t min_fd, bool cloexec) {
    int limit = fs::NofileLimit(task);
    if (min_fd >= static_cast<uint64_t>(limit))
        return Error(EINVAL);
    auto file = TRY(fs::GetFileRaw(task, fd));
    int newfd = TRY(task.fd_table().Install(std::move(file), cloexec, static_cast<int>(min_fd), limit));
    return static_cast<uint64_t>(newfd);
}
}  // namespace

// Implements Linux close(2).
SyscallResult sys_close(kernel::Task& task, const SyscallArgs& args) {
    TRY(task.fd_table().Close(arg_int(args, 0)));
    return 0;
}

// Implements Linux close_range(2). Differs: CLOSE_RANGE_UNSHARE is accepted but the table
// stays shared. FIXME(#kernel-unshare-files)
SyscallResult sys_close_range(kernel::Task& task, const SyscallArgs& args) {
    unsigned first = arg_uint(args, 0), last = arg_uint(args, 1), flags = arg_uint(args, 2);
    if (flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC))
        return Error(EINVAL);
    if (first > last)
        return Error(EINVAL);
    task.fd_table().CloseRange(first, last, (flags & CLOSE_RANGE_CLOEXEC) != 0);
    return 0;
}

// Implements Linux dup(2).
SyscallResult sys_dup(kernel::Task& task, const SyscallArgs& args) {
    auto file = TRY(fs::GetFileRaw(task, arg_int(args, 0)));
    int fd = TRY(task.fd_table().Install(std::move(file), false, 0, fs::NofileLimit(task)));
    return static_cast<uint64_t>(fd);
}

// Implements Linux dup3(2).
SyscallResult sys_dup3(kernel::Task& task, const SyscallArgs& args) {
    unsigned oldfd = arg_uint(args, 0), newfd = arg_uint(args, 1);
    int flags = arg_int(args, 2);
    if (flags & ~O_CLOEXEC)
        return Error(EINVAL);
    if (oldfd == newfd)
        return Error(EINVAL);
    int limit = fs::NofileLimit(task);
    if (newfd >= static_cast<unsigned>(limit))
        return Error(EBADF);
    auto file = TRY(fs::GetFileRaw(task, static_cast<int>(oldfd)));
    int fd = TRY(task.fd_table().InstallAt(static_cast<int>(newfd), std::move(file), (flags & O_CLOEXEC) != 0, limit));
    return static_cast<uint64_t>(fd);
}

// Implements Linux dup2(2).
SyscallResult sys_dup2(kernel::Task& task, const SyscallArgs& args) {
    unsigned oldfd = arg_uint(args, 0), newfd = arg_uint(args, 1);
    if (oldfd == newfd) {
        TRY(fs::GetFileRaw(task, static_cast<int>(oldfd)));
        return newfd;
    }
    SyscallArgs dup3_args = args;
    dup3_args[2] = 0;
    return sys_dup3(task, dup3_args);
}

// Implements Linux fcntl(2) for F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL,
// the record locks (F_GETLK/F_SETLK/F_SETLKW and the F_OFD_* ones, sys_lock.cc) and memfd seals
// (F_ADD_SEALS/F_GET_SEALS, sys_memfd.cc). Differs: leases, owners and pipe sizes are not
// implemented (EINVAL). FIXME(#fs-fcntl-owners)
SyscallResult sys_fcntl(kernel::Task& task, const SyscallArgs& args) {
    int fd = arg_int(args, 0);
    int cmd = arg_int(args, 1);
    uint64_t arg = args[2];
    auto [file, cloexec] = TRY(task.fd_table().GetWithFlags(fd));
    // O_PATH descriptions allow only these (check_fcntl_cmd).
    if (file->is_path_only() && cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC && cmd != F_GETFD && cmd != F_SETFD &&
        cmd != F_GETFL)
        return Error(EBADF);
    switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
        return DupFrom(task, fd, arg, cmd == F_DUPFD_CLOEXEC);
    case F_GETFD:
        return cloexec ? FD_CLOEXEC : 0;
    case F_SETFD:
        TRY(task.fd_table().SetCloexec(fd, (arg & FD_CLOEXEC) != 0));
        return 0;
    case F_GETFL:
        return static_cast<uint64_t>(static_cast<uint32_t>(file->status_flags()));
    case F_SETFL: {
        int want = static_cast<int>(arg);
        int flags = file->status_flags();
        file->set_status_flags((flags & ~kSetflMask) | (want & kSetflMask));
        return 0;
    }
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
        return FcntlLock(task, file, cmd, mm::UserAddr(arg));
    case F_ADD_SEALS:
    case F_GET_SEALS:
        return FcntlSeals(task, file, cmd, arg);
    default:
        return Error(EINVAL);
    }
}

}  // namespace moat::syscalls
