#pragma once
// MemoryManager::Impl: the state behind a MemoryManager and the helpers its aspects
// (memory_manager.cc, mm_fault.cc, mm_copy.cc, mm_syscalls.cc) share. Internal to sentry/mm.
//
// Everything here runs with Impl::lock held unless it says otherwise.

#include "sentry/mm/memory_manager.h"
#include "sentry/mm/vma_set.h"

#include <map>
#include <memory>
#include <mutex>

namespace moat::mm {

// A run of pages of one VMA backed by a contiguous run of memory-file frames
// (Linux's page tables plus struct page, gVisor's "pma"). Each page holds one reference
// on its frame. Pmas never cross a VMA boundary.
struct Pma {
    uint64_t end = 0;
    uint64_t frame = 0;     // memory-file offset of the first page
    bool writable = false;  // false: a write must copy first (page cache or COW-shared frame)
    bool priv = false;      // the frame is this mapping's own copy (anonymous or COW'd)
    bool mapped = false;    // mapped into the platform AddressSpace
};

// Lets the platform's MemoryReader outlive (or predate) the MemoryManager safely.
struct ReaderLink {
    std::mutex lock;
    MemoryManager* mm = nullptr;  // guarded by lock
};

struct MemoryManager::Impl {
    explicit Impl(MemoryManager& owner) : mm(owner) {}

    MemoryManager& mm;
    std::mutex lock;
    VmaSet vmas;                      // guarded by lock
    std::map<uint64_t, Pma> pmas;     // guarded by lock; keyed by start
    uint64_t resident = 0;            // guarded by lock: pages with a pma
    uint64_t stack_limit = 8ull << 20;  // RLIMIT_STACK for growth of MAP_GROWSDOWN areas
    platform::Platform* platform = nullptr;
    std::shared_ptr<ReaderLink> reader_link;

    // ---- pmas ----
    // Splits the pma containing `addr` so one starts there.
    void SplitPmaAt(uint64_t addr);
    // Drops the pmas of [start, end); returns true if any of them was mapped on the platform.
    bool DropPmas(uint64_t start, uint64_t end);
    // The first pma ending after `addr`.
    std::map<uint64_t, Pma>::iterator PmaNext(uint64_t addr);
    int EffectiveProt(const Vma& vma, const Pma& pma) const {
        return pma.writable ? vma.prot : (vma.prot & ~PROT_WRITE);
    }

    // ---- VMAs ----
    // Unmaps [start, end): VMAs, frames, and the platform's mapping. Shared file areas are
    // written back first (WritebackShared).
    Result<void> UnmapRange(uint64_t start, uint64_t end);
    // For a MAP_SHARED area of a file opened for writing: asks the file to write what the
    // app changed in [start, end) (clipped to the area) back (Mappable::Writeback). Errors are
    // the caller's to report (msync) or drop (munmap, exit: Linux writes back later, too).
    Result<void> WritebackShared(const Vma& vma, uint64_t start, uint64_t end);
    // The VMA containing `addr`, growing a MAP_GROWSDOWN area down to it if allowed.
    Vma* FindOrGrow(uint64_t addr);
    uint64_t MmapBase() const;
    Result<uint64_t> GetUnmappedArea(uint64_t addr, uint64_t len, int flags);
    // Moves [old_addr, old_addr+old_len) of the area containing old_addr to the free range
    // [new_addr, new_addr+new_len); frames move with it (Linux's move_vma, mm_remap.cc).
    Result<uint64_t> MoveVma(uint64_t old_addr, uint64_t old_len, uint64_t new_addr, uint64_t new_len, bool dontunmap);

    // ---- frames (mm_fault.cc) ----
    // Gives every page of [start, end) (inside `vma`) a frame; with `write`, makes them
    // privately writable (breaks COW). Returns the end actually populated, which is short
    // of `end` at end of file; EFAULT if `start` itself is beyond end of file, ENOMEM.
    Result<uint64_t> Populate(const Vma& vma, uint64_t start, uint64_t end, bool write);
    Result<uint64_t> FillGap(const Vma& vma, uint64_t start, uint64_t end);
    Result<void> BreakCow(const Vma& vma, uint64_t start, uint64_t end);
    // Maps every not-yet-mapped pma page in [start, end) on the platform.
    Result<void> MapRange(const Vma& vma, uint64_t start, uint64_t end);
    // Re-applies protections of [start, end) of `vma` to mapped pmas on the platform.
    Result<void> ProtectRange(const Vma& vma, uint64_t start, uint64_t end);

    // ---- copies (mm_copy.cc) ----
    enum class Access { Read, Write, ForceRead, ForceWrite };
    // Calls fn(host_ptr, n) for successive pieces of [addr, addr+len); stops at the first
    // error. Returns the number of bytes handed to fn and the error, if any.
    template <typename Fn>
    std::pair<size_t, int> ForEachPiece(uint64_t addr, size_t len, Access access, Fn&& fn);
};

}  // namespace moat::mm
