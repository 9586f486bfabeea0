#pragma once
// VmaSet: the application's virtual memory areas, sorted by start address and never
// overlapping. Neighbours with identical attributes are merged on insert so the set stays
// as short as /proc/self/maps shows on Linux.
//
// Not thread-safe: the owning MemoryManager's lock guards it.

#include "sentry/mm/mappable.h"
#include "sentry/mm/user_addr.h"

#include <sys/mman.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace moat::mm {

// Linux's stack_guard_gap: 256 pages kept free below a MAP_GROWSDOWN area.
inline constexpr uint64_t kStackGuardGap = 256 * kPageSize;

struct Vma {
    uint64_t start = 0, end = 0;
    int prot = 0;       // PROT_READ|WRITE|EXEC
    int max_prot = 0;   // what mprotect may grant
    bool shared = false;
    bool growsdown = false;
    // Null for private anonymous memory. Shared anonymous memory has an internal shmem
    // Mappable so that a fork shares it.
    std::shared_ptr<Mappable> file;
    bool anonymous = true;  // MAP_ANONYMOUS (also true for shared anonymous, which has `file`)
    uint64_t offset = 0;    // file offset of `start`
    std::string name;       // "[heap]", "[stack]"… or empty

    uint64_t size() const { return end - start; }
    bool contains(uint64_t addr) const { return addr >= start && addr < end; }
    // Linux's vm_start_gap: a growsdown area keeps a guard gap free below it.
    uint64_t start_gap() const {
        if (!growsdown)
            return start;
        return start >= kStackGuardGap ? start - kStackGuardGap : 0;
    }
    // The file offset of `addr` inside this area.
    uint64_t offset_of(uint64_t addr) const { return offset + (addr - start); }
    // True when `next` could extend this area without any visible difference.
    bool CanMergeWith(const Vma& next) const;
};

class VmaSet {
public:
    using Map = std::map<uint64_t, Vma>;  // keyed by start
    using iterator = Map::iterator;
    using const_iterator = Map::const_iterator;

    // The area containing `addr`, or null.
    Vma* Find(uint64_t addr);
    const Vma* Find(uint64_t addr) const;
    // The first area ending after `addr` (containing it or above it), like Linux's find_vma.
    iterator FindNext(uint64_t addr);
    const_iterator FindNext(uint64_t addr) const;
    // The area ending at or below `addr` closest to it, or end().
    const_iterator FindPrev(uint64_t addr) const;
    // True when some area intersects [start, end).
    bool Intersects(uint64_t start, uint64_t end) const;
    // True when [start, end) is entirely covered by areas with no holes.
    bool Covers(uint64_t start, uint64_t end) const;

    // Inserts an area over a free range and merges it with equal neighbours.
    // Returns the (possibly merged) area containing vma.start.
    iterator Insert(Vma vma);
    // Splits the area containing `addr` so that an area starts at `addr` (no-op at an edge).
    void SplitAt(uint64_t addr);
    // Removes [start, end) (splitting areas at the edges); returns the removed pieces.
    std::vector<Vma> Remove(uint64_t start, uint64_t end);
    // Merges the area at `it` with its neighbours where allowed; returns the merged area.
    iterator MergeAround(iterator it);
    // Moves the start of the area at `it` down to `new_start` (stack growth; the range
    // below must be free). Returns the area's new position.
    iterator ExtendDown(iterator it, uint64_t new_start);

    // Free-range search. Top-down: the highest gap of `length` bytes ending at or below
    // `high` and starting at or above `low`. Bottom-up: the lowest such gap.
    std::optional<uint64_t> FindGapTopDown(uint64_t length, uint64_t low, uint64_t high) const;
    std::optional<uint64_t> FindGapBottomUp(uint64_t length, uint64_t low, uint64_t high) const;
    // Linux's hint check: [addr, addr+length) is free including the guard gap of a stack
    // area above it.
    bool IsFreeForHint(uint64_t addr, uint64_t length) const;

    iterator begin() { return m_map.begin(); }
    iterator end() { return m_map.end(); }
    const_iterator begin() const { return m_map.begin(); }
    const_iterator end() const { return m_map.end(); }
    size_t size() const { return m_map.size(); }
    bool empty() const { return m_map.empty(); }
    void clear() { m_map.clear(); }
    iterator erase(iterator it) { return m_map.erase(it); }
    uint64_t total_size() const;

private:
    Map m_map;
};

}  // namespace moat::mm
