#pragma once
// tmpfs inodes. TmpfsInode keeps what every type has (attributes, link count, xattrs); the
// subclasses add a directory's entries (directory.h), a regular file's pages (regular_file.h)
// and a symlink's target. FIFOs, sockets and devices are attributes only: opening them is the
// VFS's business (Open stays the default ENXIO).
//
// An inode lives while it is named (its directory holds it) or used (dentries, open files);
// mappings hold only the pages (TmpfsPages), so a mapped file's data outlives its inode.

#include "fs/tmpfs/filesystem.h"
#include "fs/vfs/inode.h"

#include <atomic>
#include <map>
#include <mutex>
#include <string>

namespace moat::fs {

class TmpfsInode : public Inode {
public:
    TmpfsInode(std::shared_ptr<TmpfsFileSystem> fs, const NewInode& attr, uint64_t ino);
    ~TmpfsInode() override;

    TmpfsFileSystem& tmpfs() const { return static_cast<TmpfsFileSystem&>(filesystem()); }
    uint64_t ino() const { return m_ino; }

    Result<InodeAttr> Stat() override { return CachedAttr(); }
    InodeAttr CachedAttr() override;
    Result<void> SetAttr(const FsCaller&, const SetAttrRequest& req) override;
    Result<std::string> GetXattr(const FsCaller&, const std::string& name) override;
    Result<void> SetXattr(const FsCaller&, const std::string& name, const std::string& value, int flags) override;
    Result<std::vector<std::string>> ListXattr(const FsCaller&) override;
    Result<void> RemoveXattr(const FsCaller&, const std::string& name) override;

    // ---- For tmpfs (the caller holds the filesystem's namespace lock) ----
    uint64_t nlink();
    // Adds `delta` to the link count and sets ctime to now.
    void AddLinks(int delta);
    // One name of a non-directory goes away (unlink, or a rename over it). Each extra hard link
    // holds an inode slot, as on Linux (shmem_link/shmem_unlink).
    void DropName();
    // A directory removed by rmdir or a rename over it: no links, no new entries.
    void ClearLinks();
    // Sets ctime (and mtime if `modified`) to now.
    void Touch(bool modified);
    // O_TMPFILE files may get a name once (linkat); cleared when they do.
    bool TakeLinkable();
    void set_linkable() { m_linkable.store(true, std::memory_order_relaxed); }

protected:
    // Regular files: the size and allocated blocks live with the pages.
    virtual void FillDataAttr(InodeAttr&) {}
    // Regular files: truncate or extend (SetAttr's kSize); EINVAL for others.
    virtual Result<void> Resize(int64_t size);

    std::mutex m_lock;  // see filesystem.h for the order
    InodeAttr m_attr;   // guarded by m_lock (ino and dev are fixed; size/blocks: see FillDataAttr)

private:
    const uint64_t m_ino;
    std::atomic<bool> m_linkable{false};
    std::map<std::string, std::string> m_xattrs;  // guarded by m_lock
};

class TmpfsSymlink final : public TmpfsInode {
public:
    TmpfsSymlink(std::shared_ptr<TmpfsFileSystem> fs, const NewInode& attr, uint64_t ino, std::string target);
    Result<std::string> ReadLink(const FsCaller&) override { return m_target; }

private:
    const std::string m_target;
};

// FIFOs, sockets, character and block devices (a char device 0/0 is also the overlay's whiteout).
class TmpfsSpecial final : public TmpfsInode {
public:
    using TmpfsInode::TmpfsInode;
};

}  // namespace moat::fs
