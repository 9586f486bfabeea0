#pragma once
// HostPageCache: the page cache of one host regular file — frames of the memory file filled
// with pread on first use and shared by every mapping of the file (the Mappable that
// sentry/mm maps).
//
// Coherence on a writable host mount: writes are write-through (the host file first, then
// WroteAt copies the bytes into the frames already cached); truncation (Resize) frees frames
// past the new end of file and zeroes the tail of the last page; MAP_SHARED writable
// mappings write into the frames themselves, and Writeback (msync, munmap, exit, fsync)
// writes every cached page that differs from the host back to it. Changes made by the host
// itself behind our back are not noticed: FIXME(#fs-host-coherence) revalidate against the
// host's mtime.
//
// Lock: m_lock, then MemoryFile's lock (leaf). HostIo calls are made under m_lock.

#include "fs/host/host_io.h"
#include "sentry/mm/mappable.h"
#include "sentry/mm/memory_file.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace moat::fs {

class HostPageCache final : public mm::Mappable {
public:
    HostPageCache(HostIo& io, std::shared_ptr<UniqueFd> fd, mm::MemoryFile& mf, uint64_t size, uint64_t dev,
                  uint64_t ino, std::string name)
        : m_io(io), m_fd(std::move(fd)), m_mf(mf), m_size(size), m_dev(dev), m_ino(ino), m_name(std::move(name)) {}
    ~HostPageCache() override;

    Result<uint64_t> PageFrame(uint64_t page_index) override;
    uint64_t size() const override { return m_size.load(std::memory_order_acquire); }
    uint64_t device() const override { return m_dev; }
    uint64_t inode() const override { return m_ino; }
    std::string map_name() const override { return m_name; }
    // Writes cached pages of [offset, offset+length) that differ from the host file back to it.
    Result<void> Writeback(uint64_t offset, uint64_t length) override;

    // Copies cached bytes (filling pages as needed): for reads that want the cache.
    Result<size_t> ReadAt(void* dst, size_t len, uint64_t offset);
    size_t cached_pages() const;

    // The fd data is read and written back through (replaced when the inode reopens its data
    // fd for writing).
    void SetFd(std::shared_ptr<UniqueFd> fd);
    // `len` bytes at `offset` were just written to the host file: copy them into the cached
    // frames they cover and grow the size if they reach past it.
    void WroteAt(const uint8_t* data, size_t len, uint64_t offset);
    // The host file's size is now `new_size` (truncate, extend, fallocate): frames past the
    // end are freed (mappings keep their own references) and the last page's tail is zeroed.
    void Resize(uint64_t new_size);
    // Forgets every cached frame (after a host change we cannot follow, e.g. a punched hole).
    void DropAll();

private:
    HostIo& m_io;
    std::shared_ptr<UniqueFd> m_fd;  // guarded by m_lock
    mm::MemoryFile& m_mf;
    std::atomic<uint64_t> m_size;  // written under m_lock
    const uint64_t m_dev, m_ino;
    const std::string m_name;
    mutable std::mutex m_lock;
    std::unordered_map<uint64_t, uint64_t> m_frames;  // guarded by m_lock: page index → memory-file offset
};

}  // namespace moat::fs
