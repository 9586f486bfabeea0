#pragma once
// The overlay: a read-only lower tree (any filesystem; the host's "/" for `moat do`) under a
// writable upper tree (a tmpfs), shown as one. Linux's overlayfs with one lower layer,
// index=off, redirect_dir=off and xino on: see README.md.
//
// Lock order: OverlayFileSystem::m_copy_up_lock → OverlayInode::m_lock → the layers' own locks;
// OverlayFileSystem::m_inodes_lock is a leaf.

#include "fs/vfs/dentry.h"
#include "fs/vfs/filesystem.h"
#include "fs/vfs/inode.h"
#include "fs/vfs/mount.h"

#include <map>
#include <memory>
#include <mutex>

namespace moat::fs {

class OverlayInode;

class OverlayFileSystem final : public FileSystem {
public:
    // `lower_root`: the lower tree's root directory; `upper_root`: an empty tmpfs root (or
    // one this overlay left before).
    static Result<std::shared_ptr<OverlayFileSystem>> Create(std::shared_ptr<Inode> lower_root,
                                                             std::shared_ptr<Inode> upper_root);
    ~OverlayFileSystem() override;

    std::string name() const override { return "overlay"; }
    // The merged root (call once per mount).
    std::shared_ptr<Inode> MakeRootInode();

    // ---- For the overlay's inodes ----
    // Where lower files are opened: a private mount of the lower root (so that a lower file's
    // path, e.g. for its mapping's name, reads as in the lower tree).
    const std::shared_ptr<Mount>& lower_mount() const { return m_lower_mount; }
    std::mutex& copy_up_lock() { return m_copy_up_lock; }

    // Linux's inode hash: open files, dentries and later lookups of one file share one
    // OverlayInode. Inodes with a lower layer are found by their lower dentry, the others by
    // their upper inode (a copied-up one by both).
    std::shared_ptr<OverlayInode> Find(const Dentry* lower, const Inode* upper);
    // Registers `candidate` unless a live one raced it in; returns the one to use (the caller
    // drops a losing candidate after this returns: its destructor calls Forget).
    std::shared_ptr<OverlayInode> Register(const std::shared_ptr<OverlayInode>& candidate);
    // After a copy-up: lookups of the upper inode find `inode` too.
    void AddUpper(const Inode* upper, const std::shared_ptr<OverlayInode>& inode);
    // Called by ~OverlayInode.
    void Forget(const Dentry* lower, const Inode* upper, const OverlayInode* inode);
    size_t live_inodes() const;

private:
    OverlayFileSystem() = default;

    struct Live {
        const OverlayInode* raw = nullptr;
        std::weak_ptr<OverlayInode> inode;
    };
    std::shared_ptr<Mount> m_lower_mount;
    std::shared_ptr<Inode> m_upper_root;
    std::mutex m_copy_up_lock;
    mutable std::mutex m_inodes_lock;
    std::map<const Dentry*, Live> m_by_lower;  // guarded by m_inodes_lock
    std::map<const Inode*, Live> m_by_upper;   // guarded by m_inodes_lock
};

}  // namespace moat::fs
