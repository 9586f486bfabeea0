#include "fs/task_fs.h"

#include "fs/fd_table.h"
#include "fs/fs_context.h"
#include "fs/vfs.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"

#include <fcntl.h>
#include <sys/resource.h>

#include <algorithm>

namespace moat::fs {

FsCaller CallerOf(kernel::Task& task) { return FsCaller{&task.creds(), &task}; }

Result<std::string> CopyInPath(kernel::Task& task, mm::UserAddr addr) {
    std::string s = TRY(task.mm().CopyInString(addr, kPathMax));
    if (s.size() >= kPathMax)
        return Error(ENAMETOOLONG);
    return s;
}

Result<std::shared_ptr<File>> GetFileRaw(kernel::Task& task, int fd) { return task.fd_table().Get(fd); }

Result<std::shared_ptr<File>> GetFile(kernel::Task& task, int fd) {
    auto file = TRY(task.fd_table().Get(fd));
    if (file->is_path_only())
        return Error(EBADF);
    return file;
}

namespace {
// The directory a relative walk starts from.
Result<VfsPath> StartOf(kernel::Task& task, int dirfd) {
    if (dirfd == AT_FDCWD)
        return task.fs_context().cwd();
    auto file = TRY(task.fd_table().Get(dirfd));
    const VfsPath* p = file->path();
    if (!p || !p->inode().is_dir())
        return Error(ENOTDIR);
    return *p;
}
}  // namespace

Result<AtTarget> ResolveAt(kernel::Task& task, int dirfd, const std::string& path, unsigned walk_flags,
                           bool allow_empty, const FsCaller* caller) {
    FsContext& fsc = task.fs_context();
    if (path.empty()) {
        if (!allow_empty)
            return Error(ENOENT);
        if (dirfd == AT_FDCWD)
            return AtTarget{fsc.cwd(), nullptr};
        auto file = TRY(task.fd_table().Get(dirfd));
        AtTarget t;
        if (file->path())
            t.path = *file->path();
        t.file = std::move(file);
        return t;
    }
    VfsPath root = fsc.root();
    VfsPath start = path.front() == '/' ? root : TRY(StartOf(task, dirfd));
    VfsPath p = TRY(fsc.vfs().Resolve(caller ? *caller : CallerOf(task), root, start, path, walk_flags));
    return AtTarget{std::move(p), nullptr};
}

Result<WalkStart> WalkStartOf(kernel::Task& task, int dirfd, const std::string& path) {
    FsContext& fsc = task.fs_context();
    VfsPath root = fsc.root();
    VfsPath start = (!path.empty() && path.front() == '/') ? root : TRY(StartOf(task, dirfd));
    return WalkStart{std::move(root), std::move(start)};
}

Result<std::shared_ptr<File>> OpenAtForTask(kernel::Task& task, int dirfd, const std::string& path, int flags,
                                            uint32_t mode, unsigned resolve) {
    if (path.empty())
        return Error(ENOENT);
    FsContext& fsc = task.fs_context();
    VfsPath root = fsc.root();
    // openat2's RESOLVE_BENEATH/RESOLVE_IN_ROOT walk from dirfd even for an absolute path.
    const bool from_dirfd = path.front() != '/' || (resolve & (kResolveBeneath | kResolveInRoot));
    VfsPath start = from_dirfd ? TRY(StartOf(task, dirfd)) : root;
    return fsc.vfs().OpenAt(CallerOf(task), root, start, path, flags, mode & ~fsc.umask(), resolve);
}

int NofileLimit(kernel::Task& task) {
    struct rlimit lim = task.thread_group().rlimit(RLIMIT_NOFILE);
    return static_cast<int>(std::min<uint64_t>(lim.rlim_cur, kMaxFds));
}

}  // namespace moat::fs
