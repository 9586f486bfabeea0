// Directories and names: getdents64, getdents, getcwd, chdir, fchdir, chroot, readlink,
// readlinkat, umask.

#include "fs/file.h"
#include "fs/fs_context.h"
#include "fs/task_fs.h"
#include "fs/user_io.h"
#include "fs/vfs.h"
#include "fs/vfs/permissions.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <fcntl.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

namespace moat::syscalls {

namespace {

constexpr size_t Align8(size_t n) { return (n + 7) & ~size_t{7}; }

// Formats entries into a bounded sentry buffer in one of the two getdents layouts.
class DirentBuffer final : public fs::DirentSink {
public:
    DirentBuffer(size_t capacity, bool layout64) : m_buf(capacity), m_layout64(layout64) {}

    bool Add(const fs::DirEntry& e, int64_t next_off) override {
        // linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, name, NUL, pad to 8.
        // linux_dirent:   u64 ino, u64 off, u16 reclen, name, NUL, pad, u8 type (last byte).
        size_t reclen = m_layout64 ? Align8(19 + e.name.size() + 1) : Align8(18 + e.name.size() + 2);
        if (m_used + reclen > m_buf.size()) {
            m_rejected = true;
            return false;
        }
        uint8_t* p = m_buf.data() + m_used;
        memset(p, 0, reclen);
        uint64_t ino = e.ino;
        uint16_t rl = static_cast<uint16_t>(reclen);
        memcpy(p, &ino, 8);
        memcpy(p + 8, &next_off, 8);
        memcpy(p + 16, &rl, 2);
        if (m_layout64) {
            p[18] = e.type;
            memcpy(p + 19, e.name.data(), e.name.size());
        } else {
            memcpy(p + 18, e.name.data(), e.name.size());
            p[reclen - 1] = e.type;
        }
        m_used += reclen;
        return true;
    }

    const uint8_t* data() const { return m_buf.data(); }
    size_t used() const { return m_used; }
    // The entries that lie wholly within the first `n` bytes: their size, and the directory
    // position after the last of them (its d_off).
    std::pair<size_t, int64_t> WholeEntriesWithin(size_t n) const {
        size_t at = 0;
        int64_t next_off = 0;
        while (at < m_used) {
            uint16_t reclen;
            memcpy(&reclen, m_buf.data() + at + 16, 2);
            if (at + reclen > n)
                break;
            memcpy(&next_off, m_buf.data() + at + 8, 8);
            at += reclen;
        }
        return {at, next_off};
    }
    bool rejected() const { return m_rejected; }

private:
    std::vector<uint8_t> m_buf;
    bool m_layout64;
    size_t m_used = 0;
    bool m_rejected = false;
};

SyscallResult DoGetdents(kernel::Task& task, const SyscallArgs& args, bool layout64) {
    auto file = TRY(fs::GetFile(task, arg_int(args, 0)));
    if (!file->is_directory())
        return Error(ENOTDIR);
    size_t count = arg_uint(args, 2);
    // Linux checks the whole buffer is user memory (access_ok) before reading the directory.
    auto segs = TRY(fs::ImportBuffer(arg_addr(args, 1), count));
    DirentBuffer buf(std::min(count, fs::kIoChunk), layout64);
    int64_t before = TRY(file->Seek(0, SEEK_CUR));
    TRY(file->GetDents(fs::CallerOf(task), buf));
    if (buf.used() == 0)
        return buf.rejected() ? Error(EINVAL) : SyscallResult(uint64_t{0});
    // Linux's filldir writes entry by entry: a buffer that runs into a bad page gets the entries
    // that fit whole, and the directory moves past those only (EFAULT when none fit).
    fs::UserIoDst dst(task.mm(), std::move(segs));
    auto put = dst.Put({buf.data(), buf.used()});
    size_t landed = put.ok() ? *put : 0;
    if (landed == buf.used())
        return buf.used();
    auto [whole, next_off] = buf.WholeEntriesWithin(landed);
    (void)file->Seek(whole ? next_off : before, SEEK_SET);
    if (whole == 0)
        return Error(EFAULT);
    return whole;
}

SyscallResult DoReadlinkat(kernel::Task& task, int dirfd, mm::UserAddr path_addr, mm::UserAddr buf, int bufsiz) {
    if (bufsiz <= 0)
        return Error(EINVAL);
    std::string path = TRY(fs::CopyInPath(task, path_addr));
    // An empty path reads the symlink dirfd itself (an O_PATH|O_NOFOLLOW fd of it).
    auto target = TRY(fs::ResolveAt(task, dirfd, path, 0, /*allow_empty=*/true));
    if (!target.path.valid() || !target.path.inode().is_symlink())
        return Error(path.empty() ? ENOENT : EINVAL);
    std::string link = TRY(task.fs_context().vfs().ReadLink(fs::CallerOf(task), target.path));
    size_t n = std::min(link.size(), static_cast<size_t>(bufsiz));
    TRY(task.mm().CopyOut(buf, link.data(), n));
    return n;
}

Result<void> ChangeDir(kernel::Task& task, const fs::VfsPath& dir) {
    if (!dir.inode().is_dir())
        return Error(ENOTDIR);
    TRY(fs::CheckPermission(&task.creds(), dir.inode().CachedAttr(), fs::kMayExec));
    task.fs_context().set_cwd(dir);
    return {};
}

}  // namespace

// Implements Linux getdents64(2).
SyscallResult sys_getdents64(kernel::Task& task, const SyscallArgs& args) { return DoGetdents(task, args, true); }

// Implements Linux getdents(2) (the old struct linux_dirent layout, d_type in the last byte).
SyscallResult sys_getdents(kernel::Task& task, const SyscallArgs& args) { return DoGetdents(task, args, false); }

// Implements Linux getcwd(2): the cwd as seen from the task's root; "(unreachable)" prefix
// for a cwd outside it.
SyscallResult sys_getcwd(kernel::Task& task, const SyscallArgs& args) {
    fs::FsContext& fsc = task.fs_context();
    bool reachable = true;
    std::string path = fs::PathFrom(fsc.cwd(), fsc.root(), &reachable);
    if (!reachable)
        path = "(unreachable)" + path;
    size_t len = path.size() + 1;
    if (len > args[1])
        return Error(ERANGE);
    TRY(task.mm().CopyOut(arg_addr(args, 0), path.c_str(), len));
    return len;
}

// Implements Linux chdir(2).
SyscallResult sys_chdir(kernel::Task& task, const SyscallArgs& args) {
    std::string path = TRY(fs::CopyInPath(task, arg_addr(args, 0)));
    auto target = TRY(fs::ResolveAt(task, AT_FDCWD, path, fs::kWalkFollow | fs::kWalkDirectory, false));
    TRY(ChangeDir(task, target.path));
    return 0;
}

// Implements Linux fchdir(2). O_PATH descriptions are accepted.
SyscallResult sys_fchdir(kernel::Task& task, const SyscallArgs& args) {
    auto file = TRY(fs::GetFileRaw(task, arg_int(args, 0)));
    if (!file->path())
        return Error(ENOTDIR);
    TRY(ChangeDir(task, *file->path()));
    return 0;
}

// Implements Linux chroot(2): the walk, then permission to search it, then CAP_SYS_CHROOT (the
// sandbox's root holds it). The cwd stays where it is (outside the new root, as on Linux).
SyscallResult sys_chroot(kernel::Task& task, const SyscallArgs& args) {
    std::string path = TRY(fs::CopyInPath(task, arg_addr(args, 0)));
    auto target = TRY(fs::ResolveAt(task, AT_FDCWD, path, fs::kWalkFollow | fs::kWalkDirectory, false));
    TRY(fs::CheckPermission(&task.creds(), target.path.inode().CachedAttr(), fs::kMayExec));
    if (!task.creds().HasCapability(CAP_SYS_CHROOT))
        return Error(EPERM);
    task.fs_context().set_root(target.path);
    return 0;
}

// Implements Linux readlink(2).
SyscallResult sys_readlink(kernel::Task& task, const SyscallArgs& args) {
    return DoReadlinkat(task, AT_FDCWD, arg_addr(args, 0), arg_addr(args, 1), arg_int(args, 2));
}

// Implements Linux readlinkat(2).
SyscallResult sys_readlinkat(kernel::Task& task, const SyscallArgs& args) {
    return DoReadlinkat(task, arg_int(args, 0), arg_addr(args, 1), arg_addr(args, 2), arg_int(args, 3));
}

// Implements Linux umask(2).
SyscallResult sys_umask(kernel::Task& task, const SyscallArgs& args) {
    return task.fs_context().SwapUmask(arg_uint(args, 0) & 0777);
}

}  // namespace moat::syscalls
