#pragma once
// Vfs: the mount tree of the sandbox and the syscall-shaped operations on it (open, stat,
// readlink, access…), each doing Linux's checks in Linux's order. One per Kernel.
//
// Lock order (all of fs/; see README.md): FsContext::m_lock and FdTable::m_lock are leaves
// taken only to copy out references; File::m_pos_lock → inode locks (HostInode::m_lock →
// HostFileSystem::m_inodes_lock) → HostPageCache::m_lock → MemoryFile; Dentry::m_lock,
// DentryCache::m_lock and MountTable::m_lock are leaves.

#include "fs/dev/char_devices.h"
#include "fs/file.h"
#include "fs/lock/file_locks.h"
#include "fs/vfs/caller.h"
#include "fs/vfs/mount.h"
#include "fs/vfs/mount_table.h"
#include "fs/vfs/path_walk.h"
#include "platform/base/result.h"
#include "sentry/mm/memory_file.h"

#include <atomic>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <string_view>

namespace moat::fs {

struct VfsOptions {
    // The host directory that becomes the sandbox's "/" (its lower layer when writable_root).
    std::string host_root = "/";
    // Recently used host dentries kept cached (each holds one host O_PATH fd).
    size_t dentry_cache_capacity = 1024;
    // Mount the sentry's procfs at /proc (when the root has a /proc directory).
    bool mount_proc = true;
    // A host terminal to serve as the sandbox's /dev/tty and /dev/console (dup'ed), or -1.
    int console_fd = -1;
    // The root: the host tree read-only under an in-memory overlay (needs memory_file), or
    // the host tree alone, read-only.
    bool writable_root = true;
    // Where tmpfs data lives (the memory file); without it no tmpfs is mounted.
    mm::MemoryFile* memory_file = nullptr;
    // Mount the sandbox's own /dev (devices + /dev/shm) and /tmp (tmpfs), where the root has
    // those directories.
    bool mount_dev = true;
    // A fresh tmpfs at /tmp hides the host's /tmp (a build tree or a cwd there): off by default,
    // since the overlay already keeps /tmp's writes in memory.
    bool mount_tmp = false;
    // Bytes each tmpfs may hold (0: unlimited, bounded by the sandbox's memory).
    uint64_t tmpfs_size_limit = 0;
    // Mount the sentry's minimal sysfs at /sys (when the root has a /sys directory).
    bool mount_sys = true;
};

class Vfs {
public:
    static Result<std::unique_ptr<Vfs>> Create(const VfsOptions& opts);
    ~Vfs();
    Vfs(const Vfs&) = delete;
    Vfs& operator=(const Vfs&) = delete;

    // The memory file the page cache allocates frames from. Until it is set, regular files
    // cannot be mapped (mappable() is null). Set it before the first process starts.
    void set_memory_file(mm::MemoryFile* mf);
    mm::MemoryFile* memory_file() const { return m_memory_file.load(std::memory_order_acquire); }

    // The top of the mount tree.
    VfsPath root() const;
    // The root of the sandbox's internal tmpfs, mounted nowhere (Linux's shm_mnt): memfd files
    // live there. Invalid when the Vfs has no memory file.
    VfsPath internal_root() const { return m_internal_root; }
    // Which POSIX lock owner waits for which (F_SETLKW's EDEADLK), sandbox-wide.
    LockWaitGraph& lock_waits() { return m_lock_waits; }
    MountTable& mount_table() { return m_mounts; }

    // Keeps `fs`, mounted by code outside Vfs::Create (fs/binds.cc), with the Vfs's own
    // filesystems: set_memory_file reaches it and ~Vfs breaks its dentry-cache cycle while the
    // memory file is still alive. Only before the first process starts.
    void AdoptFileSystem(std::shared_ptr<FileSystem> fs) { m_filesystems.push_back(std::move(fs)); }

    // Mounts `fs` with root inode `root` on the directory `mountpoint`.
    Result<std::shared_ptr<Mount>> MountAt(const VfsPath& mountpoint, std::shared_ptr<FileSystem> fs,
                                           std::shared_ptr<Inode> root, int flags);

    // ---- Operations. `root` is the caller's root (chroot), `start` where a relative path
    // begins (cwd or a dirfd's directory). `path` is non-empty and shorter than PATH_MAX. ----

    // openat(2): `flags` and `mode` as the app passed them (unknown flag bits ignored).
    // `resolve` holds openat2's RESOLVE_* restrictions (ResolveFlags).
    Result<std::shared_ptr<File>> OpenAt(const FsCaller& caller, const VfsPath& root, const VfsPath& start,
                                         std::string_view path, int flags, uint32_t mode, unsigned resolve = 0);
    // Opens an already-resolved location (AT_EMPTY_PATH-style reopen; exec). Same checks as
    // the tail of OpenAt.
    Result<std::shared_ptr<File>> OpenPath(const FsCaller& caller, const VfsPath& target, int flags);
    // Resolves a path (kWalkFollow, kWalkDirectory).
    Result<VfsPath> Resolve(const FsCaller& caller, const VfsPath& root, const VfsPath& start, std::string_view path,
                            unsigned walk_flags);
    // readlink(2) of a resolved location: EINVAL unless a symlink.
    Result<std::string> ReadLink(const FsCaller& caller, const VfsPath& link);
    // access(2) of a resolved location with mode R_OK|W_OK|X_OK (F_OK = 0): EROFS for W_OK on a
    // read-only mount, EACCES per the caller's creds (already swapped to real ids if needed).
    Result<void> Access(const FsCaller& caller, const VfsPath& target, int mode);

    // ---- Namespace operations (vfs_namespace.cc), Linux's checks in Linux's order. Modes have
    // the umask applied already. ----
    // mknodat(2): regular files, FIFOs, sockets, character and block devices.
    Result<void> Mknod(const FsCaller& caller, const VfsPath& root, const VfsPath& start, std::string_view path,
                       uint32_t mode, uint64_t dev);
    Result<void> Mkdir(const FsCaller& caller, const VfsPath& root, const VfsPath& start, std::string_view path,
                       uint32_t mode);
    Result<void> Symlink(const FsCaller& caller, const VfsPath& root, const VfsPath& start, std::string_view path,
                         const std::string& target);
    // linkat(2): a new name `path` for the resolved `old`.
    Result<void> Link(const FsCaller& caller, const VfsPath& old, const VfsPath& root, const VfsPath& start,
                      std::string_view path);
    Result<void> Unlink(const FsCaller& caller, const VfsPath& root, const VfsPath& start, std::string_view path);
    Result<void> Rmdir(const FsCaller& caller, const VfsPath& root, const VfsPath& start, std::string_view path);
    // renameat2(2) with kRename* flags.
    Result<void> Rename(const FsCaller& caller, const VfsPath& root, const VfsPath& old_start,
                        std::string_view old_path, const VfsPath& new_start, std::string_view new_path,
                        unsigned flags);

    // ---- Attributes (vfs_attr.cc): permission rules of chmod, chown, truncate, utimensat and
    // the xattr calls. ----
    Result<void> Chmod(const FsCaller& caller, const VfsPath& target, uint32_t mode);
    // uid/gid of -1 leave that id unchanged.
    Result<void> Chown(const FsCaller& caller, const VfsPath& target, uint32_t uid, uint32_t gid);
    // truncate(2) checks write permission on the path; ftruncate(2) (`by_fd`) relies on the
    // file having been opened for writing.
    Result<void> Truncate(const FsCaller& caller, const VfsPath& target, int64_t size, bool by_fd);
    // utimensat(2): `times` null means both now; tv_nsec may be UTIME_NOW or UTIME_OMIT.
    Result<void> Utimes(const FsCaller& caller, const VfsPath& target, const struct timespec* times);
    Result<std::string> GetXattr(const FsCaller& caller, const VfsPath& target, const std::string& name);
    Result<void> SetXattr(const FsCaller& caller, const VfsPath& target, const std::string& name,
                          const std::string& value, int flags);
    Result<std::vector<std::string>> ListXattr(const FsCaller& caller, const VfsPath& target);
    Result<void> RemoveXattr(const FsCaller& caller, const VfsPath& target, const std::string& name);

    // ---- mount(2) and umount2(2) of the sentry's own filesystems (vfs_mount.cc). The caller
    // has CAP_SYS_ADMIN (the syscall layer checked) and resolved the target. ----
    Result<void> PerformMount(const FsCaller& caller, const VfsPath& root, const VfsPath& start, const std::string& source,
                       const VfsPath& target, const std::string& fstype, uint64_t flags, const std::string& data);
    // `target` is where the walk ended (a mount's root for a mounted path).
    Result<void> Unmount(const VfsPath& target, int flags);

    // Mounts a new tmpfs with a root of mode `mode` at `path` (resolved from the top).
    Result<std::shared_ptr<Mount>> MountTmpfs(std::string_view path, uint32_t mode, uint64_t size_limit, int flags);

private:
    // The sandbox's own /proc, /dev and /tmp (Create).
    Result<void> MountSpecialFilesystems(const VfsOptions& opts);
    // The new inode's owner and mode in `dir` (inode_init_owner).
    static NewInode NewInodeIn(const FsCaller& caller, const InodeAttr& dir, uint32_t mode);
    // inotify events of a completed rename (vfs_namespace.cc).
    void NotifyRename(const VfsPath& old_dir, const std::string& old_name, const VfsPath& new_dir,
                      const std::string& new_name, Dentry& moved, Dentry* replaced, unsigned flags);
    // Creates the regular file `walker.last()` for open(O_CREAT) and returns its location.
    Result<VfsPath> CreateForOpen(PathWalker& walker, uint32_t mode);
    Result<std::shared_ptr<File>> OpenTmpFile(const FsCaller& caller, const VfsPath& dir, int flags, uint32_t mode);
    Result<std::shared_ptr<File>> OpenChecked(const FsCaller& caller, const VfsPath& target, int flags,
                                              bool created);
    // Walks to the parent of `path` for a creation and checks (EEXIST, ENOENT, EROFS, EACCES).
    Result<void> PrepareCreate(PathWalker& walker, const VfsPath& start, std::string_view path, bool is_dir);

    // A filesystem of a mount made after Create (the destructor breaks its cache cycles).
    void AddFileSystem(std::shared_ptr<FileSystem> fs);

    // open(2) of a FIFO (fifo_open): the pipe shared by every open of that inode.
    Result<std::shared_ptr<File>> OpenFifo(const VfsPath& target, int status);

    std::unique_ptr<Devices> m_devices;
    std::mutex m_fifos_lock;
    std::map<const Inode*, std::weak_ptr<Pipe>> m_fifos;  // guarded by m_fifos_lock
    LockWaitGraph m_lock_waits;
    VfsPath m_internal_root;  // set up in Create, then immutable
    std::atomic<uint32_t> m_next_cookie{1};  // inotify's rename cookies
    std::mutex m_filesystems_lock;  // guards m_filesystems after Create
    std::mutex m_rename_lock;  // serializes namespace changes (Linux's s_vfs_rename_mutex)
    Vfs() = default;
    mutable MountTable m_mounts;
    std::atomic<mm::MemoryFile*> m_memory_file{nullptr};
    std::vector<std::shared_ptr<FileSystem>> m_filesystems;  // guarded by m_filesystems_lock
};

// Linux's build_open_flags: validates and normalizes open(2) flags (EINVAL). Returns the
// flags the walk and the file use.
Result<int> NormalizeOpenFlags(int flags);
// The status flags an open file description keeps (F_GETFL): no O_CREAT, O_EXCL, O_NOCTTY,
// O_TRUNC, O_CLOEXEC.
int StatusFlagsOf(int normalized_flags);

}  // namespace moat::fs
