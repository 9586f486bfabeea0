#pragma once
// MemoryFile: the memfd that holds all application memory (anonymous pages, page cache,
// later tmpfs data). The sentry maps the whole file once into itself; stubs map ranges.
// Pages ("frames") are allocated in page units and reference-counted: a frame mapped by two
// address spaces (shared, or copy-on-write after fork, or page cache) has refcount 2.
// Freed frames are not returned to the host one by one: each fallocate(PUNCH_HOLE) unmaps
// the range from every process that maps the file, with TLB-shootdown IPIs, and was a
// quarter of the sentry's CPU time. They go to a *dirty* pool instead, and small allocations
// reuse them (zeroed by the sentry through its own mapping, or not at all when the caller
// overwrites them); only when the pool grows past kMaxDirtyFrames is it punched, all at
// once, into the clean free list.
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

    // Frames freed but not yet punched that may stay resident (8 MiB).
    static constexpr uint64_t kMaxDirtyFrames = 2048;
    // Allocations of at most this many frames may reuse dirty frames.
    static constexpr uint64_t kMaxReuseFrames = 64;

    // Allocates `npages` contiguous frames with refcount 1; returns the file offset. They
    // read as zeros unless `zeroed` is false (the caller overwrites every byte, say a
    // copy-on-write copy).
    Result<uint64_t> Allocate(uint64_t npages, bool zeroed = true);
    void IncRef(uint64_t offset, uint64_t npages = 1);
    // True (once) when the calling thread's most recent Allocate failed for want of frames
    // and none succeeded since: a syscall that then fails ran out of memory, and the OOM
    // killer gets a say before the error reaches the app (syscalls/dispatch.cc). A
    // thread-local flag, so the frame allocator knows nothing of tasks or the OOM killer.
    static bool TakeAllocationFailure();
    // Drops a reference; frames reaching zero are freed (to the dirty pool) and reusable.
    void DecRef(uint64_t offset, uint64_t npages = 1);
    uint32_t RefCount(uint64_t offset) const;

    // The sentry's pointer to the frame(s) at `offset`. Always valid for offset < capacity.
    uint8_t* Ptr(uint64_t offset) const { return m_mapping.bytes() + offset; }

    uint64_t frames_in_use() const;
    uint64_t dirty_frames() const;

    // The sandbox's RAM as sysinfo(2) and /proc/meminfo report it: the host's physical
    // memory (read once, at Create: the host filter has no sysinfo) or, when smaller, the
    // file's capacity (--memory-limit); free is what the sandbox has not used of it.
    uint64_t ram_bytes() const { return m_ram_bytes; }
    uint64_t free_ram_bytes() const;

private:
    using Runs = std::vector<std::pair<uint64_t, uint64_t>>;  // (first frame, count), sorted
    MemoryFile() = default;
    // Takes `npages` from the first run of `runs` that has them; UINT64_MAX when none does.
    static uint64_t TakeFirstFit(Runs& runs, uint64_t npages);
    // Inserts a run, coalescing with its neighbours; returns the merged run's index.
    static size_t InsertRun(Runs& runs, uint64_t first, uint64_t count);
    void PunchDirty();  // m_lock held
    UniqueFd m_fd;
    HostMapping m_mapping;
    uint64_t m_capacity = 0;
    uint64_t m_ram_bytes = 0;
    mutable std::mutex m_lock;
    std::vector<uint32_t> m_refs;                          // guarded by m_lock, per frame
    Runs m_free;                                           // guarded by m_lock: punched (zero) runs
    Runs m_dirty;                                          // guarded by m_lock: freed, not punched
    uint64_t m_dirty_frames = 0;                           // guarded by m_lock
    uint64_t m_next_frame = 0;                             // guarded by m_lock: bump pointer
    uint64_t m_in_use = 0;                                 // guarded by m_lock
};

// `mf`'s ram_bytes(), or the host's physical memory where there is no memory file (unit
// tests of filesystems built without one).
uint64_t SandboxRamBytes(const MemoryFile* mf);

}  // namespace moat::mm
