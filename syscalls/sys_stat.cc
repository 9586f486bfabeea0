// File attributes and access checks: stat, lstat, fstat, newfstatat, statx, access,
// faccessat, faccessat2.

#include "fs/file.h"
#include "fs/fs_context.h"
#include "fs/task_fs.h"
#include "fs/vfs.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>

namespace moat::syscalls {

namespace {

// The x86-64 kernel's struct stat is glibc's struct stat.
static_assert(sizeof(struct stat) == 144);

struct stat ToStat(const fs::InodeAttr& a) {
    struct stat st;
    memset(&st, 0, sizeof(st));
    st.st_dev = a.dev;
    st.st_ino = a.ino;
    st.st_nlink = a.nlink;
    st.st_mode = a.mode;
    st.st_uid = a.uid;
    st.st_gid = a.gid;
    st.st_rdev = a.rdev;
    st.st_size = a.size;
    st.st_blksize = a.blksize;
    st.st_blocks = a.blocks;
    st.st_atim = a.atime;
    st.st_mtim = a.mtime;
    st.st_ctim = a.ctime;
    return st;
}

struct statx_timestamp ToStatxTime(const struct timespec& t) {
    struct statx_timestamp s;
    memset(&s, 0, sizeof(s));
    s.tv_sec = t.tv_sec;
    s.tv_nsec = static_cast<uint32_t>(t.tv_nsec);
    return s;
}

// Stats what ResolveAt found: the dirfd's own file for an empty path, else the location.
Result<fs::InodeAttr> StatTarget(const fs::AtTarget& t) {
    if (t.file)
        return t.file->Stat();
    return t.path.inode().Stat();
}

SyscallResult DoFstatat(kernel::Task& task, int dirfd, mm::UserAddr path_addr, mm::UserAddr buf, int flags) {
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE))
        return Error(EINVAL);
    std::string path = TRY(fs::CopyInPath(task, path_addr));
    unsigned walk = (flags & AT_SYMLINK_NOFOLLOW) ? 0u : static_cast<unsigned>(fs::kWalkFollow);
    auto target = TRY(fs::ResolveAt(task, dirfd, path, walk, (flags & AT_EMPTY_PATH) != 0));
    fs::InodeAttr attr = TRY(StatTarget(target));
    TRY(task.mm().CopyOutObject(buf, ToStat(attr)));
    return 0;
}

SyscallResult DoAccess(kernel::Task& task, int dirfd, mm::UserAddr path_addr, int mode, int flags) {
    if (mode & ~(R_OK | W_OK | X_OK))
        return Error(EINVAL);
    if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return Error(EINVAL);
    std::string path = TRY(fs::CopyInPath(task, path_addr));
    // Without AT_EACCESS the check uses the real ids (the walk's search checks too).
    kernel::Credentials creds = task.creds();
    if (!(flags & AT_EACCESS)) {
        creds.fsuid = creds.ruid;
        creds.fsgid = creds.rgid;
        // do_faccessat: a real uid 0 checks with its permitted set, any other without
        // capabilities.
        creds.caps.effective = creds.ruid == 0 ? creds.caps.permitted : 0;
    }
    fs::FsCaller caller{&creds, &task};
    unsigned walk = (flags & AT_SYMLINK_NOFOLLOW) ? 0u : static_cast<unsigned>(fs::kWalkFollow);
    auto target = TRY(fs::ResolveAt(task, dirfd, path, walk, (flags & AT_EMPTY_PATH) != 0, &caller));
    if (!target.path.valid())
        return 0;  // a file outside the VFS (stdio): FIXME(#fs-access-stdio) check its mode
    TRY(task.fs_context().vfs().Access(caller, target.path, mode));
    return 0;
}

}  // namespace

// Implements Linux stat(2).
SyscallResult sys_stat(kernel::Task& task, const SyscallArgs& args) {
    return DoFstatat(task, AT_FDCWD, arg_addr(args, 0), arg_addr(args, 1), 0);
}

// Implements Linux lstat(2).
SyscallResult sys_lstat(kernel::Task& task, const SyscallArgs& args) {
    return DoFstatat(task, AT_FDCWD, arg_addr(args, 0), arg_addr(args, 1), AT_SYMLINK_NOFOLLOW);
}

// Implements Linux fstat(2). O_PATH descriptions may be stat'ed.
SyscallResult sys_fstat(kernel::Task& task, const SyscallArgs& args) {
    auto file = TRY(fs::GetFileRaw(task, arg_int(args, 0)));
    fs::InodeAttr attr = TRY(file->Stat());
    TRY(task.mm().CopyOutObject(arg_addr(args, 1), ToStat(attr)));
    return 0;
}

// Implements Linux newfstatat(2).
SyscallResult sys_newfstatat(kernel::Task& task, const SyscallArgs& args) {
    return DoFstatat(task, arg_int(args, 0), arg_addr(args, 1), arg_addr(args, 2), arg_int(args, 3));
}

// Implements Linux statx(2). Reports STATX_BASIC_STATS and STATX_MNT_ID whatever the mask
// asked (as Linux does); no btime from the host yet.
SyscallResult sys_statx(kernel::Task& task, const SyscallArgs& args) {
    int dirfd = arg_int(args, 0);
    int flags = arg_int(args, 2);
    unsigned mask = arg_uint(args, 3);
    if (mask & STATX__RESERVED)
        return Error(EINVAL);
    if ((flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE)
        return Error(EINVAL);
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE))
        return Error(EINVAL);
    std::string path = TRY(fs::CopyInPath(task, arg_addr(args, 1)));
    unsigned walk = (flags & AT_SYMLINK_NOFOLLOW) ? 0u : static_cast<unsigned>(fs::kWalkFollow);
    auto target = TRY(fs::ResolveAt(task, dirfd, path, walk, (flags & AT_EMPTY_PATH) != 0));
    fs::InodeAttr a = TRY(StatTarget(target));

    struct statx sx;
    memset(&sx, 0, sizeof(sx));
    sx.stx_mask = STATX_BASIC_STATS;
    sx.stx_blksize = static_cast<uint32_t>(a.blksize);
    sx.stx_nlink = static_cast<uint32_t>(a.nlink);
    sx.stx_uid = a.uid;
    sx.stx_gid = a.gid;
    sx.stx_mode = static_cast<uint16_t>(a.mode);
    sx.stx_ino = a.ino;
    sx.stx_size = static_cast<uint64_t>(a.size);
    sx.stx_blocks = static_cast<uint64_t>(a.blocks);
    sx.stx_atime = ToStatxTime(a.atime);
    sx.stx_mtime = ToStatxTime(a.mtime);
    sx.stx_ctime = ToStatxTime(a.ctime);
    if (a.has_btime) {
        sx.stx_mask |= STATX_BTIME;
        sx.stx_btime = ToStatxTime(a.btime);
    }
    sx.stx_rdev_major = major(a.rdev);
    sx.stx_rdev_minor = minor(a.rdev);
    sx.stx_dev_major = major(a.dev);
    sx.stx_dev_minor = minor(a.dev);
    sx.stx_attributes_mask = STATX_ATTR_MOUNT_ROOT;
    if (target.path.valid()) {
        sx.stx_mask |= STATX_MNT_ID;
        sx.stx_mnt_id = static_cast<uint64_t>(target.path.mount->id());
        if (target.path.is_mount_root())
            sx.stx_attributes |= STATX_ATTR_MOUNT_ROOT;
    }
    TRY(task.mm().CopyOutObject(arg_addr(args, 4), sx));
    return 0;
}

// Implements Linux access(2).
SyscallResult sys_access(kernel::Task& task, const SyscallArgs& args) {
    return DoAccess(task, AT_FDCWD, arg_addr(args, 0), arg_int(args, 1), 0);
}

// Implements Linux faccessat(2) (the syscall has no flags argument).
SyscallResult sys_faccessat(kernel::Task& task, const SyscallArgs& args) {
    return DoAccess(task, arg_int(args, 0), arg_addr(args, 1), arg_int(args, 2), 0);
}

// Implements Linux faccessat2(2).
SyscallResult sys_faccessat2(kernel::Task& task, const SyscallArgs& args) {
    return DoAccess(task, arg_int(args, 0), arg_addr(args, 1), arg_int(args, 2), arg_int(args, 3));
}

}  // namespace moat::syscalls
