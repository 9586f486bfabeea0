#pragma once
// The host filesystem: a directory tree of the host (the rootfs, later binds), reached only
// through HostIo one component at a time from the root fd opened at creation.
//
// Inodes are keyed by the host's (st_dev, st_ino), so hard links share one HostInode (and
// one page cache). Each live HostInode holds an O_PATH fd of its host file: its identity —
// a rename or replacement on the host cannot make it refer to another file.
//
// Lock order: HostInode::m_lock → HostFileSystem::m_inodes_lock (leaf) ; HostPageCache::m_lock.

#include "fs/host/host_io.h"
#include "fs/host/page_cache.h"
#include "fs/vfs/filesystem.h"
#include "fs/vfs/inode.h"
#include "sentry/mm/memory_file.h"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace moat::fs {

class HostFileSystem final : public FileSystem {
public:
    // `host_path` is a directory, or (for a bind of one file) a regular file: then the
    // filesystem also holds the file's parent directory, to reopen the file by name.
    static Result<std::shared_ptr<HostFileSystem>> Create(HostIo& io, const std::string& host_path, bool read_only,
                                                          size_t dcache_capacity);
    ~HostFileSystem() override;

    std::string name() const override { return "host"; }
    bool read_only() const override { return m_read_only; }

    HostIo& io() { return m_io; }
    // The root directory's inode (made once; the caller's dentry owns it).
    Result<std::shared_ptr<HostInode>> TakeRootInode();

    void set_memory_file(mm::MemoryFile* mf) { m_memory_file.store(mf, std::memory_order_release); }
    mm::MemoryFile* memory_file() const { return m_memory_file.load(std::memory_order_acquire); }

    // The inode for the host file open (O_PATH) at `fd`: the live one with the same
    // (st_dev, st_ino) if any, else a new one owning `fd`.
    Result<std::shared_ptr<HostInode>> InodeFor(UniqueFd fd);
    // Called by ~HostInode.
    void Forget(std::pair<uint64_t, uint64_t> key, const HostInode* inode);
    // The live inode for `key`, or null.
    std::shared_ptr<HostInode> LiveInode(std::pair<uint64_t, uint64_t> key);
    // Drops `inode` from the table (its host file has no name left), so that a new host file
    // that reuses the inode number gets a new HostInode.
    void Detach(const HostInode* inode);
    size_t live_inodes() const;

private:
    HostFileSystem(HostIo& io, bool read_only, size_t dcache_capacity)
        : FileSystem(dcache_capacity), m_io(io), m_read_only(read_only) {}

    HostIo& m_io;
    const bool m_read_only;
    UniqueFd m_root_fd;  // until TakeRootInode
    // A file bind: the root file's parent directory (outside the tree) and the file's name,
    // until TakeRootInode hands them to the root inode as its origin.
    std::shared_ptr<HostInode> m_root_parent;
    std::string m_root_name;
    std::atomic<mm::MemoryFile*> m_memory_file{nullptr};
    struct Live {
        const HostInode* raw;
        std::weak_ptr<HostInode> inode;
    };
    mutable std::mutex m_inodes_lock;
    std::map<std::pair<uint64_t, uint64_t>, Live> m_inodes;  // guarded by m_inodes_lock
};

class HostInode final : public Inode {
public:
    HostInode(std::shared_ptr<HostFileSystem> fs, UniqueFd fd, const struct stat& st);
    ~HostInode() override;

    Result<InodeAttr> Stat() override;
    InodeAttr CachedAttr() override;
    Result<std::shared_ptr<Inode>> Lookup(const FsCaller&, const std::string& name) override;
    Result<std::vector<DirEntry>> ReadDir(const FsCaller&) override;
    Result<std::string> ReadLink(const FsCaller&) override;
    Result<std::shared_ptr<File>> Open(const FsCaller&, const VfsPath& path, int flags) override;

    // ---- Changes (inode_change.cc; writable mounts only — the VFS checks EROFS) ----
    Result<std::shared_ptr<Inode>> Create(const FsCaller&, const std::string& name, const NewInode& attr) override;
    Result<std::shared_ptr<Inode>> Mkdir(const FsCaller&, const std::string& name, const NewInode& attr) override;
    Result<std::shared_ptr<Inode>> Symlink(const FsCaller&, const std::string& name, const std::string& target,
                                           const NewInode& attr) override;
    Result<void> Link(const FsCaller&, const std::string& name, Inode& target) override;
    Result<void> Unlink(const FsCaller&, const std::string& name) override;
    Result<void> Rmdir(const FsCaller&, const std::string& name) override;
    Result<void> Rename(const FsCaller&, const std::string& old_name, Inode& new_dir, const std::string& new_name,
                        unsigned flags) override;
    // O_TMPFILE: the inode's fd is the host's O_TMPFILE fd itself (nothing names the file yet).
    Result<std::shared_ptr<Inode>> CreateTmpFile(const FsCaller&, const NewInode& attr) override;

    // ---- Attributes and xattrs (inode_attr.cc) ----
    Result<void> SetAttr(const FsCaller&, const SetAttrRequest& req) override;
    Result<std::string> GetXattr(const FsCaller&, const std::string& name) override;
    Result<void> SetXattr(const FsCaller&, const std::string& name, const std::string& value, int flags) override;
    Result<std::vector<std::string>> ListXattr(const FsCaller&) override;
    Result<void> RemoveXattr(const FsCaller&, const std::string& name) override;

    HostFileSystem& host_fs() { return static_cast<HostFileSystem&>(filesystem()); }
    int fd() const { return m_fd.get(); }
    std::pair<uint64_t, uint64_t> key() const { return m_key; }
    void UpdateAttr(const struct stat& st);
    // Re-reads the host attributes into the cache (after a change); errors are dropped (the
    // next Stat reports them).
    void RefreshAttr();
    // Drops the directory listing cache (the sandbox changed the directory).
    void InvalidateListing();

    // Where this inode was last found: (parent directory, name). Used to reopen the file
    // (data fd, truncate, xattrs) when no path is at hand; the reopened file is checked to be
    // this very inode.
    void SetOrigin(const std::shared_ptr<HostInode>& parent, const std::string& name);
    // openat(origin parent, origin name, flags), checked to be this file; ENOENT when the name
    // now names another file or nothing.
    Result<UniqueFd> ReopenByOrigin(int flags);

    // Regular files: the fd data is read (and with `write`, written) through, opened on first
    // use from the parent directory named by `path` (openat(parent_fd, name, O_RDONLY|
    // O_NOFOLLOW), O_RDWR once a writer needs it) and checked to be this very file. A null
    // `path` reopens by origin.
    Result<std::shared_ptr<UniqueFd>> DataFd(const VfsPath* path, bool write = false);
    // Installs `fd` as the data fd (opened for writing) when none exists yet.
    void SetDataFd(UniqueFd fd);
    // Regular files: the page cache (null without a memory file).
    Result<std::shared_ptr<HostPageCache>> PageCache(const VfsPath& path);
    // The page cache if one exists (no host call).
    std::shared_ptr<HostPageCache> ExistingPageCache();

    // Serializes writers and size changes of a regular file (Linux's i_rwsem): O_APPEND
    // finds the end and writes there atomically. Taken before m_lock.
    std::mutex& write_lock() { return m_write_lock; }
    // After `len` bytes were written to the host at `offset`: the cached size and times, and
    // the page cache's frames.
    void NoteWrite(const uint8_t* data, size_t len, uint64_t offset);
    // Truncates or extends the host file to `size` (write_lock held).
    Result<void> Resize(uint64_t size);

private:
    Result<UniqueFd> OpenDataFd(const VfsPath* path, int flags);
    // An fd of this file that is not O_PATH, for xattrs and chmod on old kernels.
    Result<UniqueFd> OpenForMetadata();
    // After a child was created: its inode, with the owner and mode the VFS asked for.
    Result<std::shared_ptr<Inode>> AdoptChild(UniqueFd fd, const std::string& name, const NewInode& attr);
    // After `name` here lost its link: a live inode for it that has no links left is
    // dropped from the inode table, so a host inode number reused later is a new inode.
    void AfterRemoved(std::pair<uint64_t, uint64_t> removed);
    // After a change of this directory: listing dropped, attributes re-read.
    void DirChanged();

    const UniqueFd m_fd;  // O_PATH (an O_RDWR fd for an O_TMPFILE file)
    const std::pair<uint64_t, uint64_t> m_key;
    std::mutex m_write_lock;
    std::mutex m_lock;
    InodeAttr m_attr;                             // guarded by m_lock
    std::shared_ptr<UniqueFd> m_data_fd;          // guarded by m_lock
    bool m_data_fd_writable = false;              // guarded by m_lock
    std::shared_ptr<HostPageCache> m_page_cache;  // guarded by m_lock
    // Strong: a child never keeps its parent's fd alive longer than its dentry would.
    std::shared_ptr<HostInode> m_origin_parent;   // guarded by m_lock
    std::string m_origin_name;                    // guarded by m_lock
    // Directory listing cache, valid while the directory's mtime/ctime are unchanged and the
    // sandbox has not changed the directory.
    std::optional<std::vector<DirEntry>> m_listing;  // guarded by m_lock
    struct timespec m_listing_mtime {}, m_listing_ctime {};  // guarded by m_lock
};

InodeAttr AttrFromStat(const struct stat& st);

}  // namespace moat::fs
