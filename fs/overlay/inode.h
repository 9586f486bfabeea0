#pragma once
// OverlayInode: one file of the merged tree — its lower file (a dentry of the lower tree, if
// the file exists there) and its upper inode (once it exists in the upper tree: created there,
// or copied up before its first change).
//
// Identity: st_dev is the overlay's; st_ino is the lower file's before and after copy-up (kept
// in the upper file's "trusted.overlay.origin" xattr), and for a file that only ever lived in
// the upper layer its upper number with bit 62 set, so the two layers' numbers never collide.
//
// Lock: m_lock guards m_upper/m_opaque/m_unlinked (held only to copy them); copy-up is
// serialized by the filesystem's copy_up_lock, taken before m_lock.

#include "fs/overlay/filesystem.h"
#include "fs/vfs/inode.h"

#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace moat::fs {

class OverlayInode final : public Inode {
public:
    // `parent` and `name` say where a lower-only file is copied up to; null/empty for the
    // root and for files that already have an upper inode.
    OverlayInode(std::shared_ptr<OverlayFileSystem> fs, uint32_t type, std::shared_ptr<OverlayInode> parent,
                 std::string name, std::shared_ptr<Dentry> lower, std::shared_ptr<Inode> upper, bool opaque,
                 uint64_t origin_ino);
    ~OverlayInode() override;

    OverlayFileSystem& overlay() const { return static_cast<OverlayFileSystem&>(filesystem()); }
    const std::shared_ptr<Dentry>& lower_dentry() const { return m_lower; }
    Inode* lower() const { return m_lower ? m_lower->inode().get() : nullptr; }
    std::shared_ptr<Inode> upper();
    bool opaque();

    Result<InodeAttr> Stat() override;
    InodeAttr CachedAttr() override;
    Result<std::shared_ptr<Inode>> Lookup(const FsCaller&, const std::string& name) override;
    Result<std::vector<DirEntry>> ReadDir(const FsCaller&) override;
    Result<std::string> ReadLink(const FsCaller&) override;
    Result<std::shared_ptr<File>> Open(const FsCaller&, const VfsPath& path, int flags) override;

    Result<std::shared_ptr<Inode>> Create(const FsCaller&, const std::string& name, const NewInode& attr) override;
    Result<std::shared_ptr<Inode>> Mkdir(const FsCaller&, const std::string& name, const NewInode& attr) override;
    Result<std::shared_ptr<Inode>> Symlink(const FsCaller&, const std::string& name, const std::string& target,
                                           const NewInode& attr) override;
    Result<void> Link(const FsCaller&, const std::string& name, Inode& target) override;
    Result<void> Unlink(const FsCaller&, const std::string& name) override;
    Result<void> Rmdir(const FsCaller&, const std::string& name) override;
    Result<void> Rename(const FsCaller&, const std::string& old_name, Inode& new_dir, const std::string& new_name,
                        unsigned flags) override;
    Result<std::shared_ptr<Inode>> CreateTmpFile(const FsCaller&, const NewInode& attr) override;

    Result<void> SetAttr(const FsCaller&, const SetAttrRequest& req) override;
    Result<std::string> GetXattr(const FsCaller&, const std::string& name) override;
    Result<void> SetXattr(const FsCaller&, const std::string& name, const std::string& value, int flags) override;
    Result<std::vector<std::string>> ListXattr(const FsCaller&) override;
    Result<void> RemoveXattr(const FsCaller&, const std::string& name) override;

    // Gives this file (and first its parent chain) an upper inode: directories with the same
    // owner, mode and times; files with their data (holes kept), symlinks re-made, xattrs
    // copied. `with_data` false for a file about to be truncated to zero.
    Result<std::shared_ptr<Inode>> CopyUp(bool with_data = true);

private:
    friend class OverlayFileSystem;
    // Copies up this one inode (the parent has an upper inode). m_copy_up_lock held.
    Result<std::shared_ptr<Inode>> CopyUpOne(bool with_data);
    // The child `name` of this directory as the merged view has it.
    Result<std::shared_ptr<OverlayInode>> LookupChild(const FsCaller&, const std::string& name);
    // The lower directory's child `name` when it shows through (this directory not opaque).
    Result<std::shared_ptr<Dentry>> LowerChild(const FsCaller&, const std::string& name);
    bool LowerHas(const FsCaller&, const std::string& name);
    // The upper child `name` of this (copied-up) directory, or null.
    std::shared_ptr<Inode> UpperChild(const FsCaller&, const std::string& name);
    // Removes a whiteout at `name` in the upper directory (before something is created there);
    // true if there was one.
    Result<bool> ClearWhiteout(const FsCaller&, const std::string& name);
    // Wraps a freshly created upper inode.
    std::shared_ptr<Inode> Adopt(std::shared_ptr<Inode> upper, bool opaque);
    // Empties a merged-empty directory's upper part of its whiteouts (before rmdir/rename over it).
    Result<void> ClearWhiteouts(const FsCaller&);
    void MarkUnlinked();
    Result<void> RemoveName(const FsCaller&, const std::string& name, bool dir);
    InodeAttr Present(InodeAttr attr);

    const std::shared_ptr<OverlayInode> m_parent;
    const std::string m_name;
    const std::shared_ptr<Dentry> m_lower;
    const uint64_t m_origin_ino;  // the lower file's number (0: none)
    std::mutex m_lock;
    std::shared_ptr<Inode> m_upper;  // guarded by m_lock
    bool m_opaque;                   // guarded by m_lock
    bool m_unlinked = false;         // guarded by m_lock
};

// Overlay-private xattrs on upper files (hidden from the app).
inline constexpr char kOverlayOpaqueXattr[] = "trusted.overlay.opaque";
inline constexpr char kOverlayOriginXattr[] = "trusted.overlay.origin";
inline constexpr uint64_t kOverlayUpperInoBit = 1ull << 62;

bool IsWhiteout(Inode& inode);

}  // namespace moat::fs
