// inotify: inotify_init, inotify_init1, inotify_add_watch, inotify_rm_watch. The instance and
// its events are fs/inotify/inotify.h's; events come from the Vfs and file hooks (notify.h).

#include "fs/fd_table.h"
#include "fs/inotify/inotify.h"
#include "fs/task_fs.h"
#include "fs/vfs/path_walk.h"
#include "fs/vfs/permissions.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "syscalls/handlers.h"

#include <fcntl.h>
#include <sys/inotify.h>

namespace moat::syscalls {

namespace {

// Every bit inotify_add_watch knows (Linux's ALL_INOTIFY_BITS, IN_MASK_CREATE included).
constexpr uint32_t kInMaskCreate = 0x10000000;
constexpr uint32_t kAllInotifyBits = IN_ALL_EVENTS | IN_UNMOUNT | IN_Q_OVERFLOW | IN_IGNORED | IN_ONLYDIR |
                                     IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_MASK_ADD | kInMaskCreate | IN_ISDIR |
                                     IN_ONESHOT;

SyscallResult InotifyInit(kernel::Task& task, int flags) {
    if (flags & ~(IN_CLOEXEC | IN_NONBLOCK))
        return Error(EINVAL);
    auto file = std::make_shared<fs::InotifyFile>(O_RDONLY | (flags & IN_NONBLOCK), task.kernel().NextAnonInode());
    int fd = TRY(task.fd_table().Install(std::move(file), (flags & IN_CLOEXEC) != 0, 0, fs::NofileLimit(task)));
    return static_cast<uint64_t>(fd);
}

Result<fs::InotifyFile*> InotifyOf(fs::File& file) {
    auto* in = dynamic_cast<fs::InotifyFile*>(&file);
    if (!in)
        return Error(EINVAL);
    return in;
}

}  // namespace

// Implements Linux inotify_init(2).
SyscallResult sys_inotify_init(kernel::Task& task, const SyscallArgs&) { return InotifyInit(task, 0); }

// Implements Linux inotify_init1(2).
SyscallResult sys_inotify_init1(kernel::Task& task, const SyscallArgs& args) {
    return InotifyInit(task, arg_int(args, 0));
}

// Implements Linux inotify_add_watch(2). Differs: events come only from changes made inside
// the sandbox (a host file changed behind it reports nothing).
SyscallResult sys_inotify_add_watch(kernel::Task& task, const SyscallArgs& args) {
    uint32_t mask = arg_uint(args, 2);
    if ((mask & IN_MASK_ADD) && (mask & kInMaskCreate))
        return Error(EINVAL);
    if (!(mask & kAllInotifyBits))
        return Error(EINVAL);
    auto file = TRY(fs::GetFile(task, arg_int(args, 0)));
    fs::InotifyFile* instance = TRY(InotifyOf(*file));
    std::string path = TRY(fs::CopyInPath(task, arg_addr(args, 1)));
    unsigned walk = 0;
    if (!(mask & IN_DONT_FOLLOW))
        walk |= fs::kWalkFollow;
    if (mask & IN_ONLYDIR)
        walk |= fs::kWalkDirectory;
    auto target = TRY(fs::ResolveAt(task, AT_FDCWD, path, walk, /*allow_empty=*/false));
    fs::FsCaller caller = fs::CallerOf(task);
    auto inode = target.path.dentry->inode();
    TRY(fs::CheckPermission(caller.creds, inode->CachedAttr(), fs::kMayRead));
    int wd = TRY(instance->AddWatch(inode, mask));
    return static_cast<uint64_t>(wd);
}

// Implements Linux inotify_rm_watch(2).
SyscallResult sys_inotify_rm_watch(kernel::Task& task, const SyscallArgs& args) {
    auto file = TRY(fs::GetFile(task, arg_int(args, 0)));
    fs::InotifyFile* instance = TRY(InotifyOf(*file));
    TRY(instance->RemoveWatch(arg_int(args, 1)));
    return 0;
}

}  // namespace moat::syscalls
