// Opening files: open, openat, creat.

#include "fs/fd_table.h"
#include "fs/task_fs.h"
#include "fs/vfs.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <fcntl.h>

#include <vector>

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

// Implements Linux openat2(2): struct open_how checked as copy_struct_from_user and
// build_open_how do, then openat with the RESOLVE_* restrictions.
SyscallResult sys_openat2(kernel::Task& task, const SyscallArgs& args) {
    struct OpenHow {
        uint64_t flags, mode, resolve;
    };
    constexpr size_t kVer0 = sizeof(OpenHow);
    size_t size = args[3];
    if (size < kVer0)
        return Error(EINVAL);
    if (size > 4096)
        return Error(E2BIG);
    OpenHow how{};
    TRY(task.mm().CopyIn(arg_addr(args, 2), &how, kVer0));
    if (size > kVer0) {
        // A newer struct: its extra bytes must be zero (E2BIG otherwise).
        std::vector<uint8_t> rest(size - kVer0);
        TRY(task.mm().CopyIn(mm::UserAddr(args[2] + kVer0), rest.data(), rest.size()));
        for (uint8_t b : rest)
            if (b)
                return Error(E2BIG);
    }
    constexpr uint64_t kValidResolve = fs::kResolveNoXdev | fs::kResolveNoMagicLinks | fs::kResolveNoSymlinks |
                                       fs::kResolveBeneath | fs::kResolveInRoot | fs::kResolveCached;
    constexpr uint64_t kValidFlags = O_RDONLY | O_WRONLY | O_RDWR | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND |
                                     O_NONBLOCK | O_DSYNC | O_SYNC | FASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY |
                                     O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH | O_TMPFILE;
    if (how.flags & ~kValidFlags)
        return Error(EINVAL);
    if (how.resolve & ~kValidResolve)
        return Error(EINVAL);
    if (how.mode & ~uint64_t{07777})
        return Error(EINVAL);
    const bool creates = (how.flags & O_CREAT) || (how.flags & O_TMPFILE) == O_TMPFILE;
    if (!creates && how.mode != 0)
        return Error(EINVAL);
    if ((how.resolve & fs::kResolveBeneath) && (how.resolve & fs::kResolveInRoot))
        return Error(EINVAL);
    if ((how.resolve & fs::kResolveCached) && (how.flags & (O_TRUNC | O_CREAT | O_TMPFILE)))
        return Error(EAGAIN);
    int flags = static_cast<int>(how.flags);
    int normalized = TRY(fs::NormalizeOpenFlags(flags));
    std::string path = TRY(fs::CopyInPath(task, arg_addr(args, 1)));
    auto file = TRY(fs::OpenAtForTask(task, arg_int(args, 0), path, normalized, static_cast<uint32_t>(how.mode),
                                      static_cast<unsigned>(how.resolve)));
    int fd = TRY(task.fd_table().Install(std::move(file), (normalized & O_CLOEXEC) != 0, 0, fs::NofileLimit(task)));
    return static_cast<uint64_t>(fd);
}

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
