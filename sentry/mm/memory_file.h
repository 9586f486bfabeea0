#pragma once
// MemoryFile: the memfd that holds all application memory (anonymous pages, page cache,
// later tmpfs data). The sentry maps the whole file once into itself; stubs map ranges.
// Pages ("frames") are allocated in page units and reference-counted: a frame mapped by two
// address spaces (shared, or copy-on-write after fork, or page cache) has refcount 2.
// Freed frames are returned to the host with fallocate(PUNCH_HOLE).
//
// Thread-safe (one internal mutex; leaf lock: call nothing else while holding it).

#include "platform/base/host_mapping.h"
#include "platform/base/result.h"
#include "platform/base/unique_fd.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace moat::mm {

class MemoryFile {
public:
    // `capacity` is the file's (sparse) size and the size of the sentry's mapping of it.
    static Result<std::unique_ptr<MemoryFile>> Create(uint64_t capacity = 64ull << 30);

    int fd() const { return m_fd.get(); }
    uint64_t capacity() const { return m_capacity; }

    // Allocates `npages` contiguous zeroed frames with refcount 1; returns the file offset.
    Result<uint64_t> Allocate(uint64_t npages);
    void IncRef(uint64_t offset, uint64_t npages = 1);
    // Drops a reference; frames reaching zero are freed (hole punched) and reusable.
    void DecRef(uint64_t offset, uint64_t npages = 1);
    uint32_t RefCount(uint64_t offset) const;

    // The sentry's pointer to the frame(s) at `offset`. Always valid for offset < capacity.
    uint8_t* Ptr(uint64_t offset) const { return m_mapping.bytes() + offset; }

    uint64_t frames_in_use() const;

private:
    MemoryFile() = default;
    UniqueFd m_fd;
    HostMapping m_mapping;
    uint64_t m_capacity = 0;
    mutable std::mutex m_lock;
    std::vector<uint32_t> m_refs;                          // guarded by m_lock, per frame
    std::vector<std::pair<uint64_t, uint64_t>> m_free;     // guarded by m_lock: (first frame, count)
    uint64_t m_next_frame = 0;                             // guarded by m_lock: bump pointer
    uint64_t m_in_use = 0;                                 // guarded by m_lock
};

}  // namespace moat::mm
