// Changing the tree of names: mknod, mknodat, mkdir, mkdirat, symlink, symlinkat, link, linkat,
// unlink, unlinkat, rmdir, rename, renameat, renameat2. The checks are the Vfs's; this file
// decodes arguments in Linux's order (flags, then paths).

#include "fs/fs_context.h"
#include "fs/task_fs.h"
#include "fs/vfs.h"
#include "sentry/kernel/task.h"
#include "syscalls/handlers.h"

#include <fcntl.h>
#include <linux/fs.h>

namespace moat::syscalls {

namespace {

fs::Vfs& VfsOf(kernel::Task& task) { return task.fs_context().vfs(); }
uint32_t Umask(kernel::Task& task) { return task.fs_context().umask(); }

SyscallResult DoMknodat(kernel::Task& task, int dirfd, mm::UserAddr path_addr, uint32_t mode, uint64_t dev) {
    std::string path = TRY(fs::CopyInPath(task, path_addr));
    if (path.empty())
        return Error(ENOENT);
    auto at = TRY(fs::WalkStartOf(task, dirfd, path));
    // The umask applies to the permission bits only.
    uint32_t m = (mode & S_IFMT) | (mode & 07777 & ~Umask(task));
    TRY(VfsOf(task).Mknod(fs::CallerOf(task), at.root, at.start, path, m, dev));
    return 0;
}

SyscallResult DoMkdirat(kernel::Task& task, int dirfd, mm::UserAddr path_addr, uint32_t mode) {
    std::string path = TRY(fs::CopyInPath(task, path_addr));
    if (path.empty())
        return Error(ENOENT);
    auto at = TRY(fs::WalkStartOf(task, dirfd, path));
    TRY(VfsOf(task).Mkdir(fs::CallerOf(task), at.root, at.start, path, mode & 01777 & ~Umask(task)));
    return 0;
}

SyscallResult DoSymlinkat(kernel::Task& task, mm::UserAddr target_addr, int dirfd, mm::UserAddr path_addr) {
    std::string target = TRY(fs::CopyInPath(task, target_addr));
    std::string path = TRY(fs::CopyInPath(task, path_addr));
    if (target.empty() || path.empty())
        return Error(ENOENT);
    auto at = TRY(fs::WalkStartOf(task, dirfd, path));
    TRY(VfsOf(task).Symlink(fs::CallerOf(task), at.root, at.start, path, target));
    return 0;
}

SyscallResult DoLinkat(kernel::Task& task, int old_dirfd, mm::UserAddr old_addr, int new_dirfd, mm::UserAddr new_addr,
                       int flags) {
    if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
        return Error(EINVAL);
    std::string old_path = TRY(fs::CopyInPath(task, old_addr));
    // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH.
    const bool empty_ok = (flags & AT_EMPTY_PATH) && task.creds().HasCapability(CAP_DAC_READ_SEARCH);
    auto old = TRY(fs::ResolveAt(task, old_dirfd, old_path, (flags & AT_SYMLINK_FOLLOW) ? fs::kWalkFollow : 0u,
                                 empty_ok));
    if (!old.path.valid())
        return Error(EXDEV);  // an fd outside the mount tree (a pipe)
    std::string new_path = TRY(fs::CopyInPath(task, new_addr));
    if (new_path.empty())
        return Error(ENOENT);
    auto at = TRY(fs::WalkStartOf(task, new_dirfd, new_path));
    TRY(VfsOf(task).Link(fs::CallerOf(task), old.path, at.root, at.start, new_path));
    return 0;
}

SyscallResult DoUnlinkat(kernel::Task& task, int dirfd, mm::UserAddr path_addr, int flags) {
    if (flags & ~AT_REMOVEDIR)
        return Error(EINVAL);
    std::string path = TRY(fs::CopyInPath(task, path_addr));
    if (path.empty())
        return Error(ENOENT);
    auto at = TRY(fs::WalkStartOf(task, dirfd, path));
    if (flags & AT_REMOVEDIR)
        TRY(VfsOf(task).Rmdir(fs::CallerOf(task), at.root, at.start, path));
    else
        TRY(VfsOf(task).Unlink(fs::CallerOf(task), at.root, at.start, path));
    return 0;
}

SyscallResult DoRenameat2(kernel::Task& task, int old_dirfd, mm::UserAddr old_addr, int new_dirfd,
                          mm::UserAddr new_addr, unsigned flags) {
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
        return Error(EINVAL);
    std::string old_path = TRY(fs::CopyInPath(task, old_addr));
    std::string new_path = TRY(fs::CopyInPath(task, new_addr));
    if (old_path.empty() || new_path.empty())
        return Error(ENOENT);
    auto from = TRY(fs::WalkStartOf(task, old_dirfd, old_path));
    auto to = TRY(fs::WalkStartOf(task, new_dirfd, new_path));
    static_assert(RENAME_NOREPLACE == fs::kRenameNoReplace && RENAME_EXCHANGE == fs::kRenameExchange &&
                  RENAME_WHITEOUT == fs::kRenameWhiteout);
    TRY(VfsOf(task).Rename(fs::CallerOf(task), from.root, from.start, old_path, to.start, new_path, flags));
    return 0;
}

}  // namespace

// Implements Linux mknodat(2).
SyscallResult sys_mknodat(kernel::Task& task, const SyscallArgs& args) {
    return DoMknodat(task, arg_int(args, 0), arg_addr(args, 1), arg_uint(args, 2), arg_uint(args, 3));
}

// Implements Linux mknod(2).
SyscallResult sys_mknod(kernel::Task& task, const SyscallArgs& args) {
    return DoMknodat(task, AT_FDCWD, arg_addr(args, 0), arg_uint(args, 1), arg_uint(args, 2));
}

// Implements Linux mkdirat(2).
SyscallResult sys_mkdirat(kernel::Task& task, const SyscallArgs& args) {
    return DoMkdirat(task, arg_int(args, 0), arg_addr(args, 1), arg_uint(args, 2));
}

// Implements Linux mkdir(2).
SyscallResult sys_mkdir(kernel::Task& task, const SyscallArgs& args) {
    return DoMkdirat(task, AT_FDCWD, arg_addr(args, 0), arg_uint(args, 1));
}

// Implements Linux symlinkat(2).
SyscallResult sys_symlinkat(kernel::Task& task, const SyscallArgs& args) {
    return DoSymlinkat(task, arg_addr(args, 0), arg_int(args, 1), arg_addr(args, 2));
}

// Implements Linux symlink(2).
SyscallResult sys_symlink(kernel::Task& task, const SyscallArgs& args) {
    return DoSymlinkat(task, arg_addr(args, 0), AT_FDCWD, arg_addr(args, 1));
}

// Implements Linux linkat(2).
SyscallResult sys_linkat(kernel::Task& task, const SyscallArgs& args) {
    return DoLinkat(task, arg_int(args, 0), arg_addr(args, 1), arg_int(args, 2), arg_addr(args, 3),
                    arg_int(args, 4));
}

// Implements Linux link(2).
SyscallResult sys_link(kernel::Task& task, const SyscallArgs& args) {
    return DoLinkat(task, AT_FDCWD, arg_addr(args, 0), AT_FDCWD, arg_addr(args, 1), 0);
}

// Implements Linux unlinkat(2).
SyscallResult sys_unlinkat(kernel::Task& task, const SyscallArgs& args) {
    return DoUnlinkat(task, arg_int(args, 0), arg_addr(args, 1), arg_int(args, 2));
}

// Implements Linux unlink(2).
SyscallResult sys_unlink(kernel::Task& task, const SyscallArgs& args) {
    return DoUnlinkat(task, AT_FDCWD, arg_addr(args, 0), 0);
}

// Implements Linux rmdir(2).
SyscallResult sys_rmdir(kernel::Task& task, const SyscallArgs& args) {
    return DoUnlinkat(task, AT_FDCWD, arg_addr(args, 0), AT_REMOVEDIR);
}

// Implements Linux renameat2(2).
SyscallResult sys_renameat2(kernel::Task& task, const SyscallArgs& args) {
    return DoRenameat2(task, arg_int(args, 0), arg_addr(args, 1), arg_int(args, 2), arg_addr(args, 3),
                       arg_uint(args, 4));
}

// Implements Linux renameat(2).
SyscallResult sys_renameat(kernel::Task& task, const SyscallArgs& args) {
    return DoRenameat2(task, arg_int(args, 0), arg_addr(args, 1), arg_int(args, 2), arg_addr(args, 3), 0);
}

// Implements Linux rename(2).
SyscallResult sys_rename(kernel::Task& task, const SyscallArgs& args) {
    return DoRenameat2(task, AT_FDCWD, arg_addr(args, 0), AT_FDCWD, arg_addr(args, 1), 0);
}

}  // namespace moat::syscalls
