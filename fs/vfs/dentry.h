#pragma once
// Dentry: a name in the tree — the link from a parent directory to an inode — plus a cache of
// the children looked up so far.
//
// Ownership: a child holds its parent (strong); a parent holds its children weakly, so a
// dentry lives while something uses it: an open file, a cwd, a mount, a child, or the
// filesystem's DentryCache (a bounded LRU of recently used dentries, see filesystem.h).
// A rename moves a dentry (new parent and name); an unlink or rmdir marks it dead and drops it
// from its parent's cache, so open files keep a dentry that names nothing (readlink of
// /proc/self/fd shows " (deleted)"). Both happen only under the Vfs's rename mutex.
//
// Locks: m_lock guards m_children; m_name_lock guards m_parent, m_name and m_dead. Both are
// leaves.

#include "fs/forward.h"
#include "fs/vfs/inode.h"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace moat::fs {

class Dentry : public std::enable_shared_from_this<Dentry> {
public:
    // The root dentry of a filesystem (no parent, empty name).
    static std::shared_ptr<Dentry> CreateRoot(std::shared_ptr<Inode> inode);
    // A child dentry not (yet) in the parent's cache.
    static std::shared_ptr<Dentry> CreateChild(std::shared_ptr<Dentry> parent, std::string name,
                                               std::shared_ptr<Inode> inode);

    std::string name() const;
    std::shared_ptr<Dentry> parent() const;
    // Unlinked or removed (or replaced by a rename): the name no longer leads here.
    bool dead() const;
    const std::shared_ptr<Inode>& inode() const { return m_inode; }
    Inode& ino() const { return *m_inode; }

    // The cached child `name`, or null.
    std::shared_ptr<Dentry> CachedChild(const std::string& name);
    // Caches `child` under its name; if another thread cached one first, returns that one.
    std::shared_ptr<Dentry> CacheChild(std::shared_ptr<Dentry> child);
    // Caches `child` under its name, replacing whatever was cached (after a create or rename).
    void ReplaceChild(const std::shared_ptr<Dentry>& child);
    // Forgets the cached child `name` if it is `child`.
    void ForgetChild(const std::string& name, const Dentry* child);

    // The Vfs's namespace operations (under its rename mutex).
    void MarkDead();
    void MoveTo(std::shared_ptr<Dentry> new_parent, std::string new_name);

    // Something is mounted here (the mount table has the details). Set/cleared by Vfs.
    bool mounted() const { return m_mount_count.load(std::memory_order_acquire) > 0; }
    void AddMount() { m_mount_count.fetch_add(1, std::memory_order_acq_rel); }
    void RemoveMount() { m_mount_count.fetch_sub(1, std::memory_order_acq_rel); }

private:
    Dentry(std::shared_ptr<Dentry> parent, std::string name, std::shared_ptr<Inode> inode)
        : m_parent(std::move(parent)), m_name(std::move(name)), m_inode(std::move(inode)) {}

    mutable std::mutex m_name_lock;
    std::shared_ptr<Dentry> m_parent;  // guarded by m_name_lock
    std::string m_name;                // guarded by m_name_lock
    bool m_dead = false;               // guarded by m_name_lock
    const std::shared_ptr<Inode> m_inode;
    std::atomic<int> m_mount_count{0};
    std::mutex m_lock;
    std::map<std::string, std::weak_ptr<Dentry>, std::less<>> m_children;  // guarded by m_lock
};

}  // namespace moat::fs
