#pragma once
// MountTable: every mount of one mount namespace, and which mount sits on which (mount,
// dentry) pair. The walk asks MountedAt whenever it steps onto a dentry marked mounted().
//
// Lock: m_lock is a leaf lock.

#include "fs/vfs/mount.h"
#include "platform/base/result.h"

#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace moat::fs {

class MountTable {
public:
    // Creates the namespace's root mount.
    std::shared_ptr<Mount> SetRoot(std::shared_ptr<FileSystem> fs, std::shared_ptr<Dentry> root, int flags);
    // Mounts `fs` (root dentry `root`) on `mountpoint`; stacks over an existing mount there.
    std::shared_ptr<Mount> Add(const VfsPath& mountpoint, std::shared_ptr<FileSystem> fs, std::shared_ptr<Dentry> root,
                               int flags);
    // Unmounts `m` (not the root): EBUSY when other mounts sit below it, unless `detach`, which
    // removes them too (umount2 MNT_DETACH).
    Result<void> Remove(const std::shared_ptr<Mount>& m, bool detach);
    std::shared_ptr<Mount> root_mount() const;
    // The topmost mount on (`parent`, `mountpoint`), or null.
    std::shared_ptr<Mount> MountedAt(const Mount& parent, const Dentry& mountpoint) const;
    std::vector<std::shared_ptr<Mount>> mounts() const;

private:
    mutable std::mutex m_lock;
    int m_next_id = 1;                                                                          // guarded by m_lock
    std::shared_ptr<Mount> m_root;                                                              // guarded by m_lock
    std::vector<std::shared_ptr<Mount>> m_all;                                                  // guarded by m_lock
    std::map<std::pair<const Mount*, const Dentry*>, std::vector<std::shared_ptr<Mount>>> m_on;  // guarded by m_lock
};

}  // namespace moat::fs
