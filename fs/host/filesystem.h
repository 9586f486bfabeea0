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
    size_t live_inodes() const;

private:
    HostFileSystem(HostIo& io, bool read_only, size_t dcache_capacity)
        : FileSystem(dcache_capacity), m_io(io), m_read_only(read_only) {}

    HostIo& m_io;
    const bool m_read_only;
    UniqueFd m_root_fd;  // until TakeRootInode
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

    HostFileSystem& host_fs() { return static_cast<HostFileSystem&>(filesystem()); }
    int fd() const { return m_fd.get(); }
    void UpdateAttr(const struct stat& st);

    // Regular files: the fd data is read through, opened on first use from the parent
    // directory named by `path` (openat(parent_fd, name, O_RDONLY|O_NOFOLLOW)) and checked to
    // be this very file.
    Result<std::shared_ptr<UniqueFd>> DataFd(const VfsPath& path);
    // Regular files: the page cache (null without a memory file).
    Result<std::shared_ptr<HostPageCache>> PageCache(const VfsPath& path);

private:
    const UniqueFd m_fd;  // O_PATH
    const std::pair<uint64_t, uint64_t> m_key;
    std::mutex m_lock;
    InodeAttr m_attr;                             // guarded by m_lock
    std::shared_ptr<UniqueFd> m_data_fd;          // guarded by m_lock
    std::shared_ptr<HostPageCache> m_page_cache;  // guarded by m_lock
    // Directory listing cache, valid while the directory's mtime/ctime are unchanged.
    std::optional<std::vector<DirEntry>> m_listing;  // guarded by m_lock
    struct timespec m_listing_mtime {}, m_listing_ctime {};  // guarded by m_lock
};

InodeAttr AttrFromStat(const struct stat& st);

}  // namespace moat::fs
