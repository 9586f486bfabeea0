// mount, umount2: the sentry's own filesystems only (see fs/vfs_mount.cc).

#include "fs/fs_context.h"
#include "fs/task_fs.h"
#include "fs/vfs.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <fcntl.h>
#include <sys/mount.h>

namespace moat::syscalls {

namespace {

// copy_mount_string: a null pointer is an empty string.
Result<std::string> CopyInOptionalString(kernel::Task& task, mm::UserAddr addr, size_t max) {
    if (addr.get() == 0)
        return std::string();
    return task.mm().CopyInString(addr, max);
}

bool MayMount(kernel::Task& task) { return task.creds().HasCapability(CAP_SYS_ADMIN); }

}  // namespace

// Implements Linux mount(2).
SyscallResult sys_mount(kernel::Task& task, const SyscallArgs& args) {
    std::string fstype = TRY(CopyInOptionalString(task, arg_addr(args, 2), 4096));
    std::string source = TRY(CopyInOptionalString(task, arg_addr(args, 0), 4096));
    // copy_mount_options: at most a page of options.
    std::string data = TRY(CopyInOptionalString(task, arg_addr(args, 4), 4095));
    std::string target_path = TRY(fs::CopyInPath(task, arg_addr(args, 1)));
    auto target = TRY(fs::ResolveAt(task, AT_FDCWD, target_path, fs::kWalkFollow, false));
    uint64_t flags = args[3];
    if (flags & MS_NOUSER)
        return Error(EINVAL);
    if (!MayMount(task))
        return Error(EPERM);
    auto at = TRY(fs::WalkStartOf(task, AT_FDCWD, source));
    TRY(task.fs_context().vfs().PerformMount(fs::CallerOf(task), at.root, at.start, source, target.path, fstype, flags,
                                      data));
    return 0;
}

// Implements Linux umount2(2).
SyscallResult sys_umount2(kernel::Task& task, const SyscallArgs& args) {
    int flags = arg_int(args, 1);
    if (flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW))
        return Error(EINVAL);
    if (!MayMount(task))
        return Error(EPERM);
    if ((flags & MNT_EXPIRE) && (flags & (MNT_FORCE | MNT_DETACH)))
        return Error(EINVAL);
    std::string path = TRY(fs::CopyInPath(task, arg_addr(args, 0)));
    auto target = TRY(fs::ResolveAt(task, AT_FDCWD, path, (flags & UMOUNT_NOFOLLOW) ? 0u : fs::kWalkFollow, false));
    TRY(task.fs_context().vfs().Unmount(target.path, flags));
    return 0;
}

}  // namespace moat::syscalls
