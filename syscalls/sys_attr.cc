// Changing attributes and data placement: chmod, fchmod, fchmodat, chown, fchown, lchown,
// fchownat, truncate, ftruncate, utime, utimes, futimesat, utimensat, fallocate, fsync,
// fdatasync, sync, syncfs, sync_file_range, fadvise64, readahead.

#include "fs/file.h"
#include "fs/fs_context.h"
#include "fs/task_fs.h"
#include "fs/vfs.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/time.h>
#include <utime.h>

namespace moat::syscalls {

namespace {

fs::Vfs& VfsOf(kernel::Task& task) { return task.fs_context().vfs(); }

// The location an fd-based call acts on; EBADF for O_PATH where Linux's fdget refuses it.
// Files outside the mount tree (pipes) have none: null.
Result<const fs::VfsPath*> PathOfFd(kernel::Task& task, int fd, std::shared_ptr<fs::File>& holder, bool raw) {
    holder = raw ? TRY(fs::GetFileRaw(task, fd)) : TRY(fs::GetFile(task, fd));
    return holder->path();
}

// Resolves (dirfd, path) for the *at attribute calls; AT_EMPTY_PATH allowed when `empty_ok`.
Result<fs::VfsPath> ResolveAttrTarget(kernel::Task& task, int dirfd, mm::UserAddr path_addr, bool follow,
                                      bool empty_ok, std::shared_ptr<fs::File>& holder) {
    std::string path = TRY(fs::CopyInPath(task, path_addr));
    auto t = TRY(fs::ResolveAt(task, dirfd, path, follow ? fs::kWalkFollow : 0u, empty_ok));
    holder = t.file;
    return t.path;
}

SyscallResult ChmodPath(kernel::Task& task, const fs::VfsPath& p, uint32_t mode) {
    if (!p.valid())
        return 0;  // an anonymous inode (pipe): Linux changes its private mode; nothing observable
    TRY(VfsOf(task).Chmod(fs::CallerOf(task), p, mode));
    return 0;
}

SyscallResult ChownPath(kernel::Task& task, const fs::VfsPath& p, uint32_t uid, uint32_t gid) {
    if (!p.valid())
        return 0;
    TRY(VfsOf(task).Chown(fs::CallerOf(task), p, uid, gid));
    return 0;
}

SyscallResult DoFchownat(kernel::Task& task, int dirfd, mm::UserAddr path, uint32_t uid, uint32_t gid, int flags) {
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return Error(EINVAL);
    std::shared_ptr<fs::File> holder;
    auto p = TRY(ResolveAttrTarget(task, dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), flags & AT_EMPTY_PATH, holder));
    return ChownPath(task, p, uid, gid);
}

bool NsecValid(long nsec) { return (nsec >= 0 && nsec <= 999999999) || nsec == UTIME_NOW || nsec == UTIME_OMIT; }

// do_utimes: `path_addr` null means dirfd itself (futimens).
SyscallResult DoUtimes(kernel::Task& task, int dirfd, mm::UserAddr path_addr, const struct timespec* times,
                       int flags) {
    if (times && (!NsecValid(times[0].tv_nsec) || !NsecValid(times[1].tv_nsec)))
        return Error(EINVAL);
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return Error(EINVAL);
    std::shared_ptr<fs::File> holder;
    fs::VfsPath p;
    if (path_addr.get() == 0) {
        if (flags & AT_SYMLINK_NOFOLLOW)
            return Error(EINVAL);
        if (dirfd == AT_FDCWD)
            return Error(EFAULT);
        const fs::VfsPath* fp = TRY(PathOfFd(task, dirfd, holder, /*raw=*/true));
        if (!fp)
            return 0;
        p = *fp;
    } else {
        p = TRY(ResolveAttrTarget(task, dirfd, path_addr, !(flags & AT_SYMLINK_NOFOLLOW), flags & AT_EMPTY_PATH,
                                  holder));
        if (!p.valid())
            return 0;
    }
    TRY(VfsOf(task).Utimes(fs::CallerOf(task), p, times));
    return 0;
}

// utimes/futimesat take struct timeval[2]; null means now.
SyscallResult DoFutimesat(kernel::Task& task, int dirfd, mm::UserAddr path, mm::UserAddr tv_addr) {
    struct timespec ts[2];
    struct timespec* times = nullptr;
    if (tv_addr.get() != 0) {
        struct timeval tv[2];
        TRY(task.mm().CopyIn(tv_addr, tv, sizeof(tv)));
        for (int i = 0; i < 2; ++i) {
            if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000)
                return Error(EINVAL);
            ts[i].tv_sec = tv[i].tv_sec;
            ts[i].tv_nsec = tv[i].tv_usec * 1000;
        }
        times = ts;
    }
    if (path.get() == 0)
        return Error(EFAULT);  // utimes(NULL) is a bad path, not futimes
    return DoUtimes(task, dirfd, path, times, 0);
}

// What fsync-like calls accept: Linux's f_op->fsync exists for regular files and directories.
Result<std::shared_ptr<fs::File>> SyncableFile(kernel::Task& task, int fd) {
    auto file = TRY(fs::GetFile(task, fd));
    fs::Inode* inode = file->inode();
    if (!inode || !(inode->is_regular() || inode->is_dir()))
        return Error(EINVAL);
    return file;
}

}  // namespace

// Implements Linux chmod(2).
SyscallResult sys_chmod(kernel::Task& task, const SyscallArgs& args) {
    std::shared_ptr<fs::File> holder;
    auto p = TRY(ResolveAttrTarget(task, AT_FDCWD, arg_addr(args, 0), true, false, holder));
    return ChmodPath(task, p, arg_uint(args, 1));
}

// Implements Linux fchmodat(2). The raw call has no flags (glibc emulates AT_SYMLINK_NOFOLLOW).
SyscallResult sys_fchmodat(kernel::Task& task, const SyscallArgs& args) {
    std::shared_ptr<fs::File> holder;
    auto p = TRY(ResolveAttrTarget(task, arg_int(args, 0), arg_addr(args, 1), true, false, holder));
    return ChmodPath(task, p, arg_uint(args, 2));
}

// Implements Linux fchmod(2).
SyscallResult sys_fchmod(kernel::Task& task, const SyscallArgs& args) {
    std::shared_ptr<fs::File> holder;
    const fs::VfsPath* p = TRY(PathOfFd(task, arg_int(args, 0), holder, /*raw=*/false));
    return p ? ChmodPath(task, *p, arg_uint(args, 1)) : 0;
}

// Implements Linux chown(2).
SyscallResult sys_chown(kernel::Task& task, const SyscallArgs& args) {
    return DoFchownat(task, AT_FDCWD, arg_addr(args, 0), arg_uint(args, 1), arg_uint(args, 2), 0);
}

// Implements Linux lchown(2).
SyscallResult sys_lchown(kernel::Task& task, const SyscallArgs& args) {
    return DoFchownat(task, AT_FDCWD, arg_addr(args, 0), arg_uint(args, 1), arg_uint(args, 2), AT_SYMLINK_NOFOLLOW);
}

// Implements Linux fchownat(2).
SyscallResult sys_fchownat(kernel::Task& task, const SyscallArgs& args) {
    return DoFchownat(task, arg_int(args, 0), arg_addr(args, 1), arg_uint(args, 2), arg_uint(args, 3),
                      arg_int(args, 4));
}

// Implements Linux fchown(2).
SyscallResult sys_fchown(kernel::Task& task, const SyscallArgs& args) {
    std::shared_ptr<fs::File> holder;
    const fs::VfsPath* p = TRY(PathOfFd(task, arg_int(args, 0), holder, /*raw=*/false));
    return p ? ChownPath(task, *p, arg_uint(args, 1), arg_uint(args, 2)) : 0;
}

// Implements Linux truncate(2).
SyscallResult sys_truncate(kernel::Task& task, const SyscallArgs& args) {
    int64_t length = static_cast<int64_t>(args[1]);
    if (length < 0)
        return Error(EINVAL);
    std::shared_ptr<fs::File> holder;
    auto p = TRY(ResolveAttrTarget(task, AT_FDCWD, arg_addr(args, 0), true, false, holder));
    TRY(VfsOf(task).Truncate(fs::CallerOf(task), p, length, /*by_fd=*/false));
    return 0;
}

// Implements Linux ftruncate(2).
SyscallResult sys_ftruncate(kernel::Task& task, const SyscallArgs& args) {
    int64_t length = static_cast<int64_t>(args[1]);
    if (length < 0)
        return Error(EINVAL);
    auto file = TRY(fs::GetFile(task, arg_int(args, 0)));
    const fs::VfsPath* p = file->path();
    if (!p || !file->writable() || !p->inode().is_regular())
        return Error(EINVAL);
    TRY(VfsOf(task).Truncate(fs::CallerOf(task), *p, length, /*by_fd=*/true));
    return 0;
}

// Implements Linux utimensat(2).
SyscallResult sys_utimensat(kernel::Task& task, const SyscallArgs& args) {
    struct timespec ts[2];
    struct timespec* times = nullptr;
    if (arg_addr(args, 2).get() != 0) {
        TRY(task.mm().CopyIn(arg_addr(args, 2), ts, sizeof(ts)));
        times = ts;
    }
    return DoUtimes(task, arg_int(args, 0), arg_addr(args, 1), times, arg_int(args, 3));
}

// Implements Linux futimesat(2).
SyscallResult sys_futimesat(kernel::Task& task, const SyscallArgs& args) {
    return DoFutimesat(task, arg_int(args, 0), arg_addr(args, 1), arg_addr(args, 2));
}

// Implements Linux utimes(2).
SyscallResult sys_utimes(kernel::Task& task, const SyscallArgs& args) {
    return DoFutimesat(task, AT_FDCWD, arg_addr(args, 0), arg_addr(args, 1));
}

// Implements Linux utime(2): whole seconds; null means now.
SyscallResult sys_utime(kernel::Task& task, const SyscallArgs& args) {
    struct timespec ts[2];
    struct timespec* times = nullptr;
    if (arg_addr(args, 1).get() != 0) {
        struct utimbuf buf;
        TRY(task.mm().CopyIn(arg_addr(args, 1), &buf, sizeof(buf)));
        ts[0] = {buf.actime, 0};
        ts[1] = {buf.modtime, 0};
        times = ts;
    }
    return DoUtimes(task, AT_FDCWD, arg_addr(args, 0), times, 0);
}

// Implements Linux fallocate(2): vfs_fallocate's checks, then the file's own.
SyscallResult sys_fallocate(kernel::Task& task, const SyscallArgs& args) {
    int mode = arg_int(args, 1);
    int64_t offset = static_cast<int64_t>(args[2]);
    int64_t len = static_cast<int64_t>(args[3]);
    auto file = TRY(fs::GetFile(task, arg_int(args, 0)));
    if (offset < 0 || len <= 0)
        return Error(EINVAL);
    constexpr int kKnown = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_NO_HIDE_STALE |
                           FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_INSERT_RANGE |
                           FALLOC_FL_UNSHARE_RANGE;
    if (mode & ~kKnown)
        return Error(EOPNOTSUPP);
    if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))
        return Error(EOPNOTSUPP);
    if (!file->writable())
        return Error(EBADF);
    fs::Inode* inode = file->inode();
    if (!inode)
        return Error(ESPIPE);
    if (inode->is_dir())
        return Error(EISDIR);
    if (!inode->is_regular())
        return Error(ENODEV);
    int64_t end;
    if (__builtin_add_overflow(offset, len, &end))
        return Error(EFBIG);
    TRY(file->Fallocate(mode, offset, len));
    return 0;
}

// Implements Linux fsync(2).
SyscallResult sys_fsync(kernel::Task& task, const SyscallArgs& args) {
    auto file = TRY(SyncableFile(task, arg_int(args, 0)));
    TRY(file->Sync(false));
    return 0;
}

// Implements Linux fdatasync(2).
SyscallResult sys_fdatasync(kernel::Task& task, const SyscallArgs& args) {
    auto file = TRY(SyncableFile(task, arg_int(args, 0)));
    TRY(file->Sync(true));
    return 0;
}

// Implements Linux sync(2): writes through already reached the host; nothing is pending.
SyscallResult sys_sync(kernel::Task&, const SyscallArgs&) { return 0; }

// Implements Linux syncfs(2).
SyscallResult sys_syncfs(kernel::Task& task, const SyscallArgs& args) {
    TRY(fs::GetFile(task, arg_int(args, 0)));
    return 0;
}

// Implements Linux sync_file_range(2).
SyscallResult sys_sync_file_range(kernel::Task& task, const SyscallArgs& args) {
    int64_t offset = static_cast<int64_t>(args[1]);
    int64_t nbytes = static_cast<int64_t>(args[2]);
    unsigned flags = arg_uint(args, 3);
    constexpr unsigned kValid = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
    int64_t end;
    if ((flags & ~kValid) || offset < 0 || nbytes < 0 || __builtin_add_overflow(offset, nbytes, &end))
        return Error(EINVAL);
    auto file = TRY(fs::GetFile(task, arg_int(args, 0)));
    fs::Inode* inode = file->inode();
    if (!inode || !(inode->is_regular() || inode->is_dir() || inode->is_symlink() || S_ISBLK(inode->type())))
        return Error(ESPIPE);
    if (flags & SYNC_FILE_RANGE_WRITE)
        TRY(file->Sync(true));
    return 0;
}

// Implements Linux fadvise64(2): advice is accepted and ignored, after Linux's checks.
SyscallResult sys_fadvise64(kernel::Task& task, const SyscallArgs& args) {
    auto file = TRY(fs::GetFile(task, arg_int(args, 0)));
    int64_t len = static_cast<int64_t>(args[2]);
    int advice = arg_int(args, 3);
    if (!file->inode() || S_ISFIFO(file->inode()->type()))
        return Error(ESPIPE);
    if (advice < POSIX_FADV_NORMAL || advice > POSIX_FADV_NOREUSE || len < 0)
        return Error(EINVAL);
    return 0;
}

// Implements Linux readahead(2): a hint; the page cache fills on use.
SyscallResult sys_readahead(kernel::Task& task, const SyscallArgs& args) {
    auto file = TRY(fs::GetFile(task, arg_int(args, 0)));
    if (!file->readable())
        return Error(EBADF);
    if (!file->inode() || !file->inode()->is_regular())
        return Error(EINVAL);
    return 0;
}

}  // namespace moat::syscalls
