#pragma once
// tmpfs: a filesystem whose files live in the memory file (Linux's shmem). Used for /tmp,
// /dev/shm and as the overlay's upper layer. See README.md for the design and lock order.
//
// Lock order (all of tmpfs):
//   TmpfsFileSystem::m_namespace_lock → TmpfsInode::m_lock (directories first; in a rename the
//   two directories in address order, then the children) → TmpfsPages::m_lock → MemoryFile.
//   TmpfsPages::m_io_lock → TmpfsInode::m_lock → TmpfsPages::m_lock → MemoryFile.
// The namespace lock is held by every operation that changes names (create, link, unlink,
// rename…), so only those operations ever hold two inode locks at once.

#include "fs/vfs/filesystem.h"
#include "fs/vfs/inode.h"
#include "platform/base/result.h"
#include "sentry/mm/memory_file.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

namespace moat::fs {

class TmpfsInode;

struct TmpfsOptions {
    uint64_t size_limit = 0;  // bytes of file data; 0 = unlimited
    uint64_t max_inodes = 0;  // 0 = unlimited
    uint32_t root_mode = 01777;  // permission bits of the root directory
    uint32_t root_uid = 0;
    uint32_t root_gid = 0;
    // Where file data lives; may also be given later with set_memory_file (before any data is
    // written). Without one, writes fail with ENOMEM and files cannot be mapped.
    mm::MemoryFile* memory_file = nullptr;
};

// statfs(2) numbers (f_bsize = 4096).
struct TmpfsUsage {
    uint64_t total_blocks = 0;  // 0 when unlimited
    uint64_t used_blocks = 0;
    uint64_t total_inodes = 0;  // 0 when unlimited
    uint64_t used_inodes = 0;
};

class TmpfsFileSystem final : public FileSystem {
public:
    static std::shared_ptr<TmpfsFileSystem> Create(const TmpfsOptions& opts);
    ~TmpfsFileSystem() override;

    std::string name() const override { return "tmpfs"; }

    // The root directory (a new one on each call: call once per mount of this instance).
    Result<std::shared_ptr<Inode>> MakeRootInode();

    void set_memory_file(mm::MemoryFile* mf) { m_memory_file.store(mf, std::memory_order_release); }
    mm::MemoryFile* memory_file() const { return m_memory_file.load(std::memory_order_acquire); }

    TmpfsUsage Usage() const;
    Result<FsStatistics> StatFs() override;

    // ---- For tmpfs's own inodes ----
    // Accounting against the limits: ENOSPC when full.
    Result<void> ReservePages(uint64_t n);
    void ReleasePages(uint64_t n);
    Result<void> ReserveInode();
    void ReleaseInode();
    uint64_t NextIno() { return m_next_ino.fetch_add(1, std::memory_order_relaxed); }
    // Held across every change of names (see the lock order above).
    std::mutex& namespace_lock() { return m_namespace_lock; }
    // A new inode of `attr`'s type with one reserved inode slot (ENOSPC at the inode limit);
    // nlink as a named inode of that type has (1, or 2 for a directory); ctime = mtime = now.
    Result<std::shared_ptr<TmpfsInode>> NewInode(const fs::NewInode& attr, const std::string& symlink_target = {});

private:
    explicit TmpfsFileSystem(const TmpfsOptions& opts);

    const uint64_t m_max_pages;  // 0 = unlimited
    const uint64_t m_max_inodes;
    const uint32_t m_root_mode, m_root_uid, m_root_gid;
    std::atomic<mm::MemoryFile*> m_memory_file;
    std::atomic<uint64_t> m_used_pages{0};
    std::atomic<uint64_t> m_used_inodes{0};
    std::atomic<uint64_t> m_next_ino{1};  // the root gets 1, as on Linux
    std::mutex m_namespace_lock;
};

}  // namespace moat::fs
