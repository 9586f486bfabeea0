#pragma once
// TmpfsPages: a tmpfs regular file's data — its size and a sparse map of page index →
// memory-file frame (a missing page is a hole and reads as zeros). It is the file's Mappable:
// a shared mapping maps these very frames, so read/write and the mapping see the same bytes.
// Mappings hold the TmpfsPages (not the inode), so mapped data outlives an unlinked, closed file.
//
// Locks: m_io_lock is Linux's i_rwsem: shared for reads, exclusive for writes, truncation and
// fallocate. Frames leave the map only under it exclusively, so a reader holding it shared
// copies from a frame without m_lock. m_lock (short, a leaf before MemoryFile) guards the map
// and size; page faults (PageFrame) take only m_lock, never m_io_lock: a read or write whose
// user buffer is a mapping of the same file faults while holding m_io_lock.

#include "fs/io.h"
#include "fs/tmpfs/filesystem.h"
#include "sentry/mm/mappable.h"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>

namespace moat::fs {

class TmpfsPages final : public mm::Mappable {
public:
    TmpfsPages(std::shared_ptr<TmpfsFileSystem> fs, uint64_t ino) : m_fs(std::move(fs)), m_ino(ino) {}
    ~TmpfsPages() override;

    // ---- Mappable ----
    Result<uint64_t> PageFrame(uint64_t page_index) override;
    uint64_t size() const override { return m_size.load(std::memory_order_acquire); }
    uint64_t device() const override { return m_fs->anon_dev(); }
    uint64_t inode() const override { return m_ino; }
    std::string map_name() const override { return {}; }

    uint64_t allocated_pages() const;

    // ---- Data (each takes m_io_lock itself) ----
    // Bytes at `offset` up to end of file into `dst`.
    Result<size_t> Read(IoDst& dst, uint64_t offset);
    // `src` at `offset` (at end of file if `append`); *end = the position after the last byte
    // written. ENOSPC/ENOMEM/EFAULT only if nothing was written; EFBIG past the maximum size.
    Result<size_t> Write(IoSrc& src, uint64_t offset, bool append, uint64_t* end);
    // Truncates (freeing whole pages beyond, zeroing the rest of the last page) or extends
    // (a hole).
    void Resize(uint64_t size);
    // fallocate: allocate [offset, offset+len) (all or nothing: ENOSPC), growing the size
    // unless keep_size.
    Result<void> Allocate(uint64_t offset, uint64_t len, bool keep_size);
    // fallocate(PUNCH_HOLE): frees whole pages in the range and zeroes the partial ones.
    void PunchHole(uint64_t offset, uint64_t len);
    // lseek SEEK_DATA / SEEK_HOLE (ENXIO at or beyond end of file).
    Result<int64_t> SeekData(int64_t offset);
    Result<int64_t> SeekHole(int64_t offset);

private:
    mm::MemoryFile* memory_file() const { return m_fs->memory_file(); }
    // The frame of page `index`, allocated (zeroed) if missing. m_lock held.
    Result<uint64_t> FrameLocked(uint64_t index);
    // The frame of page `index` or UINT64_MAX for a hole.
    uint64_t FindFrame(uint64_t index);
    void FreeLocked(std::map<uint64_t, uint64_t>::iterator it);
    // Zeroes [from, to) inside one page, if allocated. m_lock held.
    void ZeroLocked(uint64_t from, uint64_t to);
    void SetSizeLocked(uint64_t size);

    const std::shared_ptr<TmpfsFileSystem> m_fs;  // the accounting outlives the pages
    const uint64_t m_ino;
    std::shared_mutex m_io_lock;
    mutable std::mutex m_lock;
    std::map<uint64_t, uint64_t> m_frames;  // guarded by m_lock: page index → frame (one reference)
    std::atomic<uint64_t> m_size{0};        // written under m_lock
};

}  // namespace moat::fs
