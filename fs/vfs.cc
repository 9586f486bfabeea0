#include "fs/vfs.h"

#include "fs/dev/devfs.h"
#include "fs/devpts/filesystem.h"
#include "fs/host/filesystem.h"
#include "fs/inotify/notify.h"
#include "fs/overlay/filesystem.h"
#include "fs/pipe/pipe.h"
#include "fs/tmpfs/filesystem.h"
#include "fs/proc/filesystem.h"
#include "fs/sys/filesystem.h"
#include "fs/vfs/directory_file.h"
#include "fs/vfs/permissions.h"
#include "platform/base/log.h"

namespace moat::fs {

namespace {

// Linux's VALID_OPEN_FLAGS.
constexpr int kValidOpenFlags = O_RDONLY | O_WRONLY | O_RDWR | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND |
                                O_NONBLOCK | O_SYNC | O_DSYNC | O_ASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY |
                                O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH | O_TMPFILE;
constexpr int kPathFlags = O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC;
// The kernel's __O_TMPFILE bit alone (glibc's __O_TMPFILE includes O_DIRECTORY).
constexpr int kTmpFileBit = 020000000;

int AccessMaskOf(int flags) {
    int mask = 0;
    switch (flags & O_ACCMODE) {
    case O_RDONLY: mask = kMayRead; break;
    case O_WRONLY: mask = kMayWrite; break;
    default: mask = kMayRead | kMayWrite; break;  // O_RDWR, and 3 (ioctl-only) needs both
    }
    if (flags & O_TRUNC)
        mask |= kMayWrite;
    return mask;
}

bool IsDataType(uint32_t type) { return type == S_IFREG || type == S_IFDIR || type == S_IFLNK; }

}  // namespace

Result<int> NormalizeOpenFlags(int flags) {
    flags &= kValidOpenFlags;
    flags |= O_LARGEFILE;  // force_o_largefile() on 64-bit
    if (flags & O_PATH)
        return flags & kPathFlags;
    if ((flags & (O_CREAT | O_DIRECTORY)) == (O_CREAT | O_DIRECTORY))
        return Error(EINVAL);
    if (flags & kTmpFileBit) {
        if ((flags & (O_TMPFILE | O_CREAT)) != O_TMPFILE)
            return Error(EINVAL);
        if ((flags & O_ACCMODE) == O_RDONLY)
            return Error(EINVAL);
    }
    return flags;
}

int StatusFlagsOf(int flags) { return flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC); }

Result<std::unique_ptr<Vfs>> Vfs::Create(const VfsOptions& opts) {
    auto host = TRY(HostFileSystem::Create(HostIo::Direct(), opts.host_root, /*read_only=*/true,
                                           opts.dentry_cache_capacity));
    auto root_inode = TRY(host->TakeRootInode());
    if (!root_inode->is_dir())
        return Error(ENOTDIR);
    std::unique_ptr<Vfs> vfs(new Vfs());
    UniqueFd console;
    if (opts.console_fd >= 0) {
        console = UniqueFd(fcntl(opts.console_fd, F_DUPFD_CLOEXEC, 3));
        if (!console.valid())
            return Error(errno);
    }
    auto devpts = DevptsFileSystem::Create();
    vfs->m_filesystems.push_back(devpts);
    vfs->m_devices = std::make_unique<Devices>(std::move(console), std::move(devpts));
    vfs->m_filesystems.push_back(host);
    if (opts.writable_root && opts.memory_file) {
        // The host tree as the read-only lower layer under an in-memory upper layer: the
        // sandbox may change anything, and every change vanishes with it.
        host->set_memory_file(opts.memory_file);
        TmpfsOptions upper_opts;
        upper_opts.size_limit = opts.tmpfs_size_limit;
        upper_opts.root_mode = root_inode->CachedAttr().mode & 07777;
        upper_opts.memory_file = opts.memory_file;
        auto upper = TmpfsFileSystem::Create(upper_opts);
        auto overlay = TRY(OverlayFileSystem::Create(std::move(root_inode), TRY(upper->MakeRootInode())));
        vfs->m_filesystems.push_back(upper);
        vfs->m_filesystems.push_back(overlay);
        vfs->m_mounts.SetRoot(overlay, Dentry::CreateRoot(overlay->MakeRootInode()), kMountNoDev);
    } else {
        vfs->m_mounts.SetRoot(host, Dentry::CreateRoot(std::move(root_inode)), kMountReadOnly | kMountNoDev);
    }

    TRY(vfs->MountSpecialFilesystems(opts));
    return vfs;
}

Result<void> Vfs::MountSpecialFilesystems(const VfsOptions& opts) {
    PathWalker walker(m_mounts, FsCaller{}, root());
    auto dir_exists = [&](std::string_view path) { return walker.Resolve(root(), path, kWalkDirectory).ok(); };
    if (opts.mount_proc) {
        if (dir_exists("/proc")) {
            auto mp = TRY(walker.Resolve(root(), "/proc", kWalkDirectory));
            auto proc = ProcFileSystem::Create();
            m_filesystems.push_back(proc);
            TRY(MountAt(mp, proc, proc->MakeRootInode(), kMountNoSuid | kMountNoDev | kMountNoExec));
        } else {
            log::debug("fs: no /proc directory in the root; procfs not mounted");
        }
    }
    if (opts.mount_sys && dir_exists("/sys")) {
        auto mp = TRY(walker.Resolve(root(), "/sys", kWalkDirectory));
        auto sys = SysFileSystem::Create();
        m_filesystems.push_back(sys);
        TRY(MountAt(mp, sys, sys->MakeRootInode(), kMountReadOnly | kMountNoSuid | kMountNoDev | kMountNoExec));
    }
    if (!opts.memory_file)
        return {};
    m_memory_file.store(opts.memory_file, std::memory_order_release);
    TmpfsOptions internal_opts;
    internal_opts.size_limit = opts.tmpfs_size_limit;
    internal_opts.memory_file = opts.memory_file;
    auto internal = TmpfsFileSystem::Create(internal_opts);
    m_filesystems.push_back(internal);
    auto internal_root = Dentry::CreateRoot(TRY(internal->MakeRootInode()));
    m_internal_root = VfsPath{std::make_shared<Mount>(-1, internal, internal_root, nullptr, nullptr, 0), internal_root};
    if (opts.mount_dev && dir_exists("/dev")) {
        auto dev = TRY(MountTmpfs("/dev", 0755, 1 << 20, kMountNoSuid | kMountNoExec));
        TRY(PopulateDevfs(*dev->root()->inode()));
        TRY(MountTmpfs("/dev/shm", 01777, opts.tmpfs_size_limit, kMountNoSuid | kMountNoDev));
        auto& devpts = m_devices->devpts();
        PathWalker pts_walker(m_mounts, FsCaller{}, root());
        auto pts = TRY(pts_walker.Resolve(root(), "/dev/pts", kWalkDirectory));
        TRY(MountAt(pts, devpts, devpts->MakeRootInode(), kMountNoSuid | kMountNoExec));
    }
    if (opts.mount_tmp && dir_exists("/tmp"))
        TRY(MountTmpfs("/tmp", 01777, opts.tmpfs_size_limit, kMountNoSuid | kMountNoDev));
    return {};
}

Result<std::shared_ptr<Mount>> Vfs::MountTmpfs(std::string_view path, uint32_t mode, uint64_t size_limit,
                                                int flags) {
    PathWalker walker(m_mounts, FsCaller{}, root());
    VfsPath mp = TRY(walker.Resolve(root(), path, kWalkFollow | kWalkDirectory));
    TmpfsOptions topts;
    topts.size_limit = size_limit;
    topts.root_mode = mode;
    topts.memory_file = memory_file();
    auto tmpfs = TmpfsFileSystem::Create(topts);
    AddFileSystem(tmpfs);
    return MountAt(mp, tmpfs, TRY(tmpfs->MakeRootInode()), flags);
}

void Vfs::AddFileSystem(std::shared_ptr<FileSystem> fs) {
    std::lock_guard lock(m_filesystems_lock);
    m_filesystems.push_back(std::move(fs));
}

Vfs::~Vfs() {
    // The dentry caches hold inodes which hold their filesystems: break the cycle.
    for (auto& fs : m_filesystems)
        fs->dentry_cache().Clear();
}

void Vfs::set_memory_file(mm::MemoryFile* mf) {
    m_memory_file.store(mf, std::memory_order_release);
    std::lock_guard lock(m_filesystems_lock);
    for (auto& fs : m_filesystems) {
        if (auto* host = dynamic_cast<HostFileSystem*>(fs.get()))
            host->set_memory_file(mf);
        else if (auto* tmp = dynamic_cast<TmpfsFileSystem*>(fs.get()))
            tmp->set_memory_file(mf);
    }
}

VfsPath Vfs::root() const {
    auto m = m_mounts.root_mount();
    return VfsPath{m, m->root()};
}

Result<std::shared_ptr<Mount>> Vfs::MountAt(const VfsPath& mountpoint, std::shared_ptr<FileSystem> fs,
                                            std::shared_ptr<Inode> root, int flags) {
    if (!mountpoint.inode().is_dir() || !root->is_dir())
        return Error(ENOTDIR);
    return m_mounts.Add(mountpoint, std::move(fs), Dentry::CreateRoot(std::move(root)), flags);
}

Result<VfsPath> Vfs::Resolve(const FsCaller& caller, const VfsPath& root, const VfsPath& start, std::string_view path,
                             unsigned walk_flags) {
    if (path.size() >= kPathMax)
        return Error(ENAMETOOLONG);
    PathWalker walker(m_mounts, caller, root);
    return walker.Resolve(start, path, walk_flags);
}

Result<std::shared_ptr<File>> Vfs::OpenAt(const FsCaller& caller, const VfsPath& root, const VfsPath& start,
                                          std::string_view path, int flags, uint32_t mode, unsigned resolve) {
    flags = TRY(NormalizeOpenFlags(flags));
    if (path.size() >= kPathMax)
        return Error(ENAMETOOLONG);
    const bool start_is_root = resolve & (kResolveBeneath | kResolveInRoot);
    PathWalker walker(m_mounts, caller, start_is_root ? start : root);
    walker.set_resolve(resolve);

    if (flags & kTmpFileBit) {
        // O_TMPFILE names the directory to create an unnamed file in.
        VfsPath dir = TRY(walker.Resolve(start, path, kWalkFollow | kWalkDirectory));
        return OpenTmpFile(caller, dir, flags, mode);
    }

    const bool creat = flags & O_CREAT;
    const bool excl = creat && (flags & O_EXCL);
    // O_CREAT|O_EXCL never follows a final symlink (it is EEXIST, even dangling).
    const bool follow = !(flags & O_NOFOLLOW) && !excl;

    TRY(walker.WalkParent(start, path));
    VfsPath target;
    for (;;) {
        if (creat && walker.last_type() == PathWalker::LastType::Normal) {
            if (walker.trailing_slash())
                return Error(EISDIR);
            // Creation and the check that the name is free happen under the namespace lock.
            std::unique_lock lock(m_rename_lock);
            auto found = TRY(walker.LookupLastOptional());
            if (!found) {
                // Linux: a removed directory takes no entries (ENOENT), then write access to the
                // mount (EROFS), then permission on the directory, then the filesystem's create.
                const VfsPath& dir = walker.dir();
                if (dir.dentry->dead())
                    return Error(ENOENT);
                if (dir.mount->read_only())
                    return Error(EROFS);
                TRY(CheckPermission(caller.creds, dir.inode().CachedAttr(), kMayWrite | kMayExec));
                VfsPath created = TRY(CreateForOpen(walker, mode));
                lock.unlock();
                return OpenChecked(caller, created, flags, /*created=*/true);
            }
            if (excl)
                return Error(EEXIST);
            target = std::move(*found);
        } else {
            target = TRY(walker.LookupLast());
        }
        if (target.inode().is_symlink() && walker.last_type() != PathWalker::LastType::Bind &&
            (follow || walker.trailing_slash())) {
            TRY(walker.FollowLast(target));
            continue;
        }
        break;
    }

    Inode& inode = target.inode();
    if (creat && inode.is_dir())
        return Error(EISDIR);
    if (((flags & O_DIRECTORY) || walker.trailing_slash()) && !inode.is_dir())
        return Error(ENOTDIR);
    return OpenPath(caller, target, flags);
}

Result<std::shared_ptr<File>> Vfs::OpenPath(const FsCaller& caller, const VfsPath& target, int flags) {
    return OpenChecked(caller, target, flags, /*created=*/false);
}

Result<std::shared_ptr<File>> Vfs::OpenChecked(const FsCaller& caller, const VfsPath& target, int flags,
                                               bool created) {
    Inode& inode = target.inode();
    if ((flags & O_DIRECTORY) && !inode.is_dir())
        return Error(ENOTDIR);
    if (flags & O_PATH)
        return std::make_shared<File>(StatusFlagsOf(flags), target);

    const bool read_only = target.mount->read_only();
    if ((flags & O_TRUNC) && inode.is_regular() && read_only)
        return Error(EROFS);

    // may_open; a file this open created is not checked again (FMODE_CREATED).
    int mask = created ? 0 : AccessMaskOf(flags);
    switch (inode.type()) {
    case S_IFLNK:
        return Error(ELOOP);
    case S_IFDIR:
        if (mask & kMayWrite)
            return Error(EISDIR);
        break;
    case S_IFCHR:
    case S_IFBLK:
        if (target.mount->flags() & kMountNoDev)
            return Error(EACCES);
        break;
    default:
        break;
    }
    if ((mask & kMayWrite) && IsDataType(inode.type()) && read_only)
        return Error(EROFS);
    InodeAttr attr = inode.CachedAttr();
    TRY(CheckPermission(caller.creds, attr, mask));
    // get_write_access: a running executable is not opened for writing.
    if ((mask & kMayWrite) && inode.is_regular() && inode.write_denied())
        return Error(ETXTBSY);
    if ((flags & O_NOATIME) && caller.creds && caller.creds->fsuid != 0 && caller.creds->fsuid != attr.uid)
        return Error(EPERM);

    int status = StatusFlagsOf(flags);
    if (inode.is_dir()) {
        NotifyPath(target, IN_OPEN);
        return std::shared_ptr<File>(std::make_shared<DirectoryFile>(status, target));
    }
    std::shared_ptr<File> file;
    switch (inode.type()) {
    case S_IFCHR: file = TRY(m_devices->OpenChar(caller, attr.rdev, flags, target)); break;
    case S_IFBLK: return Error(ENXIO);  // the sandbox has no block devices
    case S_IFIFO: {
        // A filesystem may open its own FIFOs (procfs's fd links reopen the same pipe);
        // otherwise the FIFO is the sandbox's: a pipe shared by every open of the inode.
        auto own = inode.Open(caller, target, status);
        if (own.ok())
            file = own.release_value();
        else if (own.error() == ENXIO)
            file = TRY(OpenFifo(target, status));
        else
            return Error(own.error());
        break;
    }
    default: file = TRY(inode.Open(caller, target, status)); break;
    }
    // handle_truncate: after the open checks, before the file is used.
    if ((flags & O_TRUNC) && !created && inode.is_regular()) {
        SetAttrRequest req;
        req.mask = SetAttrRequest::kSize | SetAttrRequest::kMtime;
        req.mtime = FsNow();
        TRY(inode.SetAttr(caller, req));
        NotifyPath(target, IN_MODIFY);
    }
    NotifyPath(target, IN_OPEN);
    return file;
}

Result<std::shared_ptr<File>> Vfs::OpenFifo(const VfsPath& target, int status) {
    const Inode* key = target.dentry->inode().get();
    std::shared_ptr<Pipe> pipe;
    {
        std::lock_guard lock(m_fifos_lock);
        std::erase_if(m_fifos, [](const auto& kv) { return kv.second.expired(); });
        auto& slot = m_fifos[key];
        pipe = slot.lock();
        if (!pipe) {
            pipe = std::make_shared<Pipe>(target.inode().CachedAttr().ino);
            slot = pipe;
        }
    }
    const int mode = status & O_ACCMODE;
    const bool nonblock = status & O_NONBLOCK;
    // A writer that would wait for a reader forever is ENXIO when it may not wait.
    if (mode == O_WRONLY && nonblock && !pipe->has_readers())
        return Error(ENXIO);
    auto file = std::make_shared<PipeFile>(pipe, status & ~(O_CREAT | O_EXCL | O_TRUNC), target);
    if (!nonblock && mode != O_RDWR)
        TRY(pipe->WaitForPeer(/*peer_is_writer=*/mode == O_RDONLY));
    return std::shared_ptr<File>(std::move(file));
}

Result<std::string> Vfs::ReadLink(const FsCaller& caller, const VfsPath& link) {
    if (!link.inode().is_symlink())
        return Error(EINVAL);
    return link.inode().ReadLink(caller);
}

Result<void> Vfs::Access(const FsCaller& caller, const VfsPath& target, int mode) {
    if (mode == F_OK)
        return {};
    Inode& inode = target.inode();
    if ((mode & W_OK) && IsDataType(inode.type()) && target.mount->read_only())
        return Error(EROFS);
    int mask = 0;
    if (mode & R_OK)
        mask |= kMayRead;
    if (mode & W_OK)
        mask |= kMayWrite;
    if (mode & X_OK)
        mask |= kMayExec;
    return CheckPermission(caller.creds, inode.CachedAttr(), mask);
}

}  // namespace moat::fs
