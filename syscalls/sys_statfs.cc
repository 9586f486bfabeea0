// Filesystem statistics: statfs, fstatfs. Sizes come from the filesystem (tmpfs its limits and
// use, the host its own numbers); f_flags from the mount, as Linux's ST_* flags.

#include "fs/file.h"
#include "fs/task_fs.h"
#include "fs/vfs/filesystem.h"
#include "fs/vfs/path_walk.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <fcntl.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

#include <cstring>
#include <string>

namespace moat::syscalls {

namespace {

constexpr int kStValid = 0x0020;  // ST_VALID: f_flags is meaningful (Linux 2.6.36+)

// The magic numbers of filesystems that report none themselves.
int64_t MagicOf(const std::string& name) {
    if (name == "proc")
        return 0x9fa0;  // PROC_SUPER_MAGIC
    if (name == "sysfs")
        return 0x62656572;  // SYSFS_MAGIC
    if (name == "devpts")
        return 0x1cd1;  // DEVPTS_SUPER_MAGIC
    if (name == "overlay")
        return 0x794c7630;  // OVERLAYFS_SUPER_MAGIC
    if (name == "tmpfs")
        return 0x01021994;  // TMPFS_MAGIC
    return 0xEF53;  // EXT4_SUPER_MAGIC: what the host's root most often is
}

Result<struct statfs> StatFsOf(const fs::VfsPath& p) {
    fs::FileSystem& fsys = p.mount->filesystem();
    fs::FsStatistics s = TRY(fsys.StatFs());
    struct statfs out;
    memset(&out, 0, sizeof(out));
    out.f_type = s.type ? s.type : MagicOf(fsys.name());
    out.f_bsize = s.block_size;
    out.f_frsize = s.block_size;
    out.f_blocks = s.blocks;
    out.f_bfree = s.blocks_free;
    out.f_bavail = s.blocks_avail;
    out.f_files = s.files;
    out.f_ffree = s.files_free;
    out.f_namelen = s.name_max;
    uint64_t dev = fsys.anon_dev();
    out.f_fsid.__val[0] = static_cast<int>(dev & 0xffffffff);
    out.f_fsid.__val[1] = static_cast<int>(dev >> 32);
    int flags = kStValid;
    int mf = p.mount->flags();
    if (p.mount->read_only())
        flags |= ST_RDONLY;
    if (mf & fs::kMountNoSuid)
        flags |= ST_NOSUID;
    if (mf & fs::kMountNoDev)
        flags |= ST_NODEV;
    if (mf & fs::kMountNoExec)
        flags |= ST_NOEXEC;
    out.f_flags = flags;
    return out;
}

}  // namespace

// Implements Linux statfs(2).
SyscallResult sys_statfs(kernel::Task& task, const SyscallArgs& args) {
    std::string path = TRY(fs::CopyInPath(task, arg_addr(args, 0)));
    auto t = TRY(fs::ResolveAt(task, AT_FDCWD, path, fs::kWalkFollow, false));
    struct statfs st = TRY(StatFsOf(t.path));
    TRY(task.mm().CopyOutObject(arg_addr(args, 1), st));
    return 0;
}

// Implements Linux fstatfs(2). O_PATH descriptions are accepted; files outside the mount tree
// (pipes) report pipefs.
SyscallResult sys_fstatfs(kernel::Task& task, const SyscallArgs& args) {
    auto file = TRY(fs::GetFileRaw(task, arg_int(args, 0)));
    struct statfs st;
    if (const fs::VfsPath* p = file->path()) {
        st = TRY(StatFsOf(*p));
    } else {
        memset(&st, 0, sizeof(st));
        st.f_type = 0x50495045;  // PIPEFS_MAGIC
        st.f_bsize = st.f_frsize = 4096;
        st.f_namelen = 255;
        st.f_flags = kStValid;
    }
    TRY(task.mm().CopyOutObject(arg_addr(args, 1), st));
    return 0;
}

}  // namespace moat::syscalls
