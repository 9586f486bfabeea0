// mount(2) and umount2(2) of the sentry's own filesystems. Linux's fs/namespace.c decides what a
// call means from its flags in this order: remount, bind, propagation change, move, new mount.
// Only filesystems the sentry implements can be mounted: a host block device never is (ENODEV
// for ext4 and friends), so mount cannot reach host storage.

#include "fs/proc/filesystem.h"
#include "fs/tmpfs/filesystem.h"
#include "fs/vfs.h"
#include "fs/vfs/filesystem.h"

#include <sys/mount.h>
#include <unistd.h>

#include <charconv>

namespace moat::fs {

namespace {

constexpr uint64_t kMgcMask = 0xffff0000;  // MS_MGC_MSK
constexpr uint64_t kMgcVal = 0xC0ED0000;   // MS_MGC_VAL
constexpr uint64_t kPropagation = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;

int MountFlagsOf(uint64_t flags) {
    return static_cast<int>(flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
}

// A size option: N, Nk, Nm, Ng or N% of memory, as tmpfs takes it.
// `ram`: what a size in % is a share of (the sandbox's RAM).
Result<uint64_t> ParseSize(std::string_view v, uint64_t ram) {
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end == v.data())
        return Error(EINVAL);
    std::string_view suffix(end, static_cast<size_t>(v.data() + v.size() - end));
    if (suffix.empty())
        return n;
    if (suffix.size() != 1)
        return Error(EINVAL);
    switch (suffix[0]) {
    case 'k': case 'K': return n << 10;
    case 'm': case 'M': return n << 20;
    case 'g': case 'G': return n << 30;
    case '%': return ram / 100 * n;
    default: return Error(EINVAL);
    }
}

Result<uint32_t> ParseNumber(std::string_view v, int base) {
    uint32_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n, base);
    if (ec != std::errc() || end != v.data() + v.size())
        return Error(EINVAL);
    return n;
}

// tmpfs's options: size, nr_inodes, mode, uid, gid (comma separated).
Result<TmpfsOptions> ParseTmpfsOptions(const std::string& data, uint64_t ram) {
    TmpfsOptions o;
    size_t pos = 0;
    while (pos <= data.size()) {
        size_t comma = data.find(',', pos);
        std::string_view opt(data.data() + pos, (comma == std::string::npos ? data.size() : comma) - pos);
        pos = comma == std::string::npos ? data.size() + 1 : comma + 1;
        if (opt.empty())
            continue;
        size_t eq = opt.find('=');
        std::string_view key = opt.substr(0, eq);
        std::string_view val = eq == std::string_view::npos ? std::string_view() : opt.substr(eq + 1);
        if (key == "size")
            o.size_limit = TRY(ParseSize(val, ram));
        else if (key == "nr_inodes")
            o.max_inodes = TRY(ParseSize(val, ram / 4096));
        else if (key == "mode")
            o.root_mode = TRY(ParseNumber(val, 8)) & 07777;
        else if (key == "uid")
            o.root_uid = TRY(ParseNumber(val, 10));
        else if (key == "gid")
            o.root_gid = TRY(ParseNumber(val, 10));
        else if (key == "rw" || key == "ro" || key == "nosuid" || key == "nodev" || key == "noexec" ||
                 key == "relatime" || key == "strictatime" || key == "noatime" || key == "inode64")
            continue;  // flags spelled as options (mount(8) passes some of them through)
        else
            return Error(EINVAL);
    }
    return o;
}

}  // namespace

Result<void> Vfs::PerformMount(const FsCaller& caller, const VfsPath& root, const VfsPath& start, const std::string& source,
                        const VfsPath& target, const std::string& fstype, uint64_t flags, const std::string& data) {
    if ((flags & kMgcMask) == kMgcVal)
        flags &= ~kMgcMask;
    if (flags & MS_REMOUNT) {
        if (!target.is_mount_root())
            return Error(EINVAL);
        target.mount->set_flags(MountFlagsOf(flags));
        return {};
    }
    if (flags & MS_BIND) {
        if (source.empty())
            return Error(ENOENT);
        PathWalker walker(m_mounts, caller, root);
        VfsPath from = TRY(walker.Resolve(start, source, kWalkFollow));
        if (from.inode().is_dir() != target.inode().is_dir())
            return Error(from.inode().is_dir() ? ENOTDIR : EISDIR);
        auto fs = std::static_pointer_cast<FileSystem>(from.mount->filesystem().shared_from_this());
        m_mounts.Add(target, std::move(fs), from.dentry, from.mount->flags());
        return {};
    }
    if (flags & kPropagation) {
        // Mount propagation has no effect inside one sandbox: accepted on a mount's root.
        return target.is_mount_root() ? Result<void>() : Result<void>(Error(EINVAL));
    }
    if (flags & MS_MOVE)
        return Error(EINVAL);  // FIXME(#fs-mount-move): not supported yet

    if (!target.inode().is_dir())
        return Error(ENOTDIR);
    std::shared_ptr<FileSystem> fs;
    std::shared_ptr<Inode> fs_root;
    if (fstype == "tmpfs") {
        TmpfsOptions o = TRY(ParseTmpfsOptions(data, mm::SandboxRamBytes(memory_file())));
        o.memory_file = memory_file();
        auto tmp = TmpfsFileSystem::Create(o);
        fs_root = TRY(tmp->MakeRootInode());
        fs = tmp;
    } else if (fstype == "proc") {
        auto proc = ProcFileSystem::Create();
        fs_root = proc->MakeRootInode();
        fs = proc;
    } else {
        return Error(ENODEV);  // not a filesystem the sandbox has
    }
    AddFileSystem(fs);
    TRY(MountAt(target, std::move(fs), std::move(fs_root), MountFlagsOf(flags)));
    return {};
}

Result<void> Vfs::Unmount(const VfsPath& target, int flags) {
    if (!target.is_mount_root())
        return Error(EINVAL);
    return m_mounts.Remove(target.mount, (flags & MNT_DETACH) != 0);
}

}  // namespace moat::fs
