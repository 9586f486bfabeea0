#pragma once
// Mount: a filesystem attached at a point of the tree; VfsPath: a (mount, dentry) pair — a
// location in the mount tree, what a cwd, a root, an open file and a walk step hold.
//
// Ownership: a Mount holds its filesystem, its root dentry, its parent mount and the
// mountpoint dentry (so the mountpoint stays cached). The Vfs's mount table holds every
// mount. Immutable after creation except through the Vfs.

#include "fs/forward.h"
#include "fs/vfs/dentry.h"

#include <sys/mount.h>

#include <atomic>
#include <memory>
#include <string>

namespace moat::fs {

// Per-mount flags (a subset of MS_*).
enum MountFlags : int {
    kMountReadOnly = MS_RDONLY,
    kMountNoSuid = MS_NOSUID,
    kMountNoDev = MS_NODEV,
    kMountNoExec = MS_NOEXEC,
};

class Mount {
public:
    Mount(int id, std::shared_ptr<FileSystem> fs, std::shared_ptr<Dentry> root, std::shared_ptr<Mount> parent,
          std::shared_ptr<Dentry> mountpoint, int flags)
        : m_id(id), m_fs(std::move(fs)), m_root(std::move(root)), m_parent(std::move(parent)),
          m_mountpoint(std::move(mountpoint)), m_flags(flags) {}

    int id() const { return m_id; }
    FileSystem& filesystem() const { return *m_fs; }
    const std::shared_ptr<Dentry>& root() const { return m_root; }
    const std::shared_ptr<Mount>& parent() const { return m_parent; }          // null for the tree's root
    const std::shared_ptr<Dentry>& mountpoint() const { return m_mountpoint; }  // in parent()
    int flags() const { return m_flags.load(std::memory_order_relaxed); }
    // mount(MS_REMOUNT|MS_BIND): the per-mount flags change in place.
    void set_flags(int flags) { m_flags.store(flags, std::memory_order_relaxed); }
    bool read_only() const;  // the mount's flag or its filesystem's

private:
    const int m_id;
    const std::shared_ptr<FileSystem> m_fs;
    const std::shared_ptr<Dentry> m_root;
    const std::shared_ptr<Mount> m_parent;
    const std::shared_ptr<Dentry> m_mountpoint;
    std::atomic<int> m_flags;
};

struct VfsPath {
    std::shared_ptr<Mount> mount;
    std::shared_ptr<Dentry> dentry;

    bool valid() const { return mount && dentry; }
    Inode& inode() const { return *dentry->inode(); }
    bool operator==(const VfsPath& o) const { return mount == o.mount && dentry == o.dentry; }
    // At the root of its mount.
    bool is_mount_root() const { return dentry == mount->root(); }
};

// The path of `p` as seen from `root` ("/" for root itself). When `p` is not below `root`
// (a cwd outside a chroot) the result is the path from the top of the mount tree and
// *reachable is set to false, as Linux's getcwd reports "(unreachable)".
std::string PathFrom(const VfsPath& p, const VfsPath& root, bool* reachable = nullptr);
// The path of `p` from the top of the mount tree.
std::string AbsolutePath(const VfsPath& p);

}  // namespace moat::fs
