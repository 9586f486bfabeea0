// MemoryManager: mremap and brk, with Linux's checks and errnos (mm/mremap.c, mm/mmap.c).

#include "sentry/mm/memory_manager.h"
#include "sentry/mm/mm_impl.h"

#include <algorithm>
#include <vector>

namespace moat::mm {

Result<uint64_t> MemoryManager::Impl::MoveVma(uint64_t old_addr, uint64_t old_len, uint64_t new_addr, uint64_t new_len,
                                              bool dontunmap) {
    Impl& impl = *this;
    platform::AddressSpace& as = *mm.m_as;
    const Vma* v = impl.vmas.Find(old_addr);
    Vma moved = *v;
    moved.start = new_addr;
    moved.end = new_addr + new_len;
    moved.offset = v->offset_of(old_addr);

    bool any_mapped = false;
    if (old_len > 0) {
        impl.SplitPmaAt(old_addr);
        impl.SplitPmaAt(old_addr + old_len);
        std::vector<std::pair<uint64_t, Pma>> pieces;
        for (auto it = impl.pmas.lower_bound(old_addr); it != impl.pmas.end() && it->first < old_addr + old_len;) {
            pieces.emplace_back(it->first, it->second);
            it = impl.pmas.erase(it);
        }
        for (auto& [start, pma] : pieces) {
            any_mapped |= pma.mapped;
            pma.end = pma.end - old_addr + new_addr;
            pma.mapped = false;  // the new range maps lazily, on fault
            impl.pmas.emplace(start - old_addr + new_addr, pma);
        }
        if (any_mapped)
            TRY(as.Unmap(old_addr, old_len));
        // With MREMAP_DONTUNMAP the old area stays, empty (zero-fill on the next touch).
        if (!dontunmap)
            (void)impl.vmas.Remove(old_addr, old_addr + old_len);
    }
    impl.vmas.Insert(std::move(moved));
    return new_addr;
}

Result<uint64_t> MemoryManager::Mremap(uint64_t old_addr, uint64_t old_size, uint64_t new_size, int flags,
                                       uint64_t new_addr) {
    if (flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP))
        return Error(EINVAL);
    if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
        return Error(EINVAL);
    // MREMAP_DONTUNMAP is always a move and never a resize.
    if ((flags & MREMAP_DONTUNMAP) && (!(flags & MREMAP_MAYMOVE) || old_size != new_size))
        return Error(EINVAL);
    if (!IsPageAligned(old_addr))
        return Error(EINVAL);
    uint64_t old_len = PageUp(old_size);  // wraps to 0 like Linux's PAGE_ALIGN
    uint64_t new_len = PageUp(new_size);
    if (new_len == 0)
        return Error(EINVAL);

    std::lock_guard lock(m_impl->lock);
    Impl& impl = *m_impl;
    const Vma* v = impl.vmas.Find(old_addr);
    if (!v)
        return Error(EFAULT);
    // A zero old_len duplicates a shared mapping; for a private one it makes no sense.
    if (old_len == 0 && !v->shared)
        return Error(EINVAL);

    if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
        // Linux's mremap_to.
        if (!IsPageAligned(new_addr))
            return Error(EINVAL);
        if (new_len > m_max || new_addr > m_max - new_len)
            return Error(EINVAL);
        if (old_addr + old_len > new_addr && new_addr + new_len > old_addr)
            return Error(EINVAL);
        if (flags & MREMAP_FIXED)
            TRY(impl.UnmapRange(new_addr, new_addr + new_len));
        if (old_len > new_len) {
            TRY(impl.UnmapRange(old_addr + new_len, old_addr + old_len));
            old_len = new_len;
        }
        v = impl.vmas.Find(old_addr);
        if (!v || old_len > v->end - old_addr)
            return Error(EFAULT);
        if ((flags & MREMAP_DONTUNMAP) && v->shared)
            return Error(EINVAL);
        uint64_t dest = new_addr;
        if (!(flags & MREMAP_FIXED))
            dest = TRY(impl.GetUnmappedArea(new_addr, new_len, v->shared ? MAP_SHARED : 0));
        else if (dest < m_min)
            return Error(EPERM);
        return impl.MoveVma(old_addr, old_len, dest, new_len, flags & MREMAP_DONTUNMAP);
    }

    // Shrinking (or same size) always works in place: it just unmaps the tail.
    if (old_len >= new_len) {
        if (old_len != new_len) {
            uint64_t tail = old_addr + new_len;
            if (tail > m_max || old_len - new_len > m_max - tail)
                return Error(EINVAL);
            TRY(impl.UnmapRange(tail, old_addr + old_len));
        }
        return old_addr;
    }

    // Growing: the old range must lie within one area (Linux's vma_to_resize).
    if (old_len > v->end - old_addr)
        return Error(EFAULT);
    if (v->file && v->offset_of(old_addr) / kPageSize + new_len / kPageSize < v->offset_of(old_addr) / kPageSize)
        return Error(EINVAL);
    // In place, if the old range ends the area and the space above is free.
    if (old_addr + old_len == v->end) {
        uint64_t new_end;
        if (!__builtin_add_overflow(old_addr, new_len, &new_end) && new_end <= m_max &&
            !impl.vmas.Intersects(v->end, new_end)) {
            impl.vmas.Find(old_addr)->end = new_end;
            impl.vmas.MergeAround(impl.vmas.FindNext(old_addr));
            return old_addr;
        }
    }
    if (!(flags & MREMAP_MAYMOVE))
        return Error(ENOMEM);
    uint64_t dest = TRY(impl.GetUnmappedArea(0, new_len, v->shared ? MAP_SHARED : 0));
    return impl.MoveVma(old_addr, old_len, dest, new_len, false);
}

Result<uint64_t> MemoryManager::Brk(uint64_t addr) {
    std::lock_guard lock(m_impl->lock);
    Impl& impl = *m_impl;
    const uint64_t orig = m_layout.brk;
    if (addr < m_layout.start_brk || addr > m_max)
        return orig;
    const uint64_t new_brk = PageUp(addr), old_brk = PageUp(orig);
    if (new_brk == old_brk) {
        m_layout.brk = addr;
        return addr;
    }
    if (addr <= orig) {
        // Shrinking always succeeds.
        m_layout.brk = addr;
        (void)impl.UnmapRange(new_brk, old_brk);
        return addr;
    }
    // Leave a page (and a stack's guard gap) between the heap and the next area.
    auto next = impl.vmas.FindNext(old_brk);
    if (next != impl.vmas.end() && new_brk + kPageSize > next->second.start_gap())
        return orig;
    Vma heap;
    heap.start = old_brk;
    heap.end = new_brk;
    heap.prot = PROT_READ | PROT_WRITE;
    heap.max_prot = PROT_READ | PROT_WRITE | PROT_EXEC;
    heap.name = "[heap]";
    impl.vmas.Insert(std::move(heap));
    m_layout.brk = addr;
    return addr;
}

}  // namespace moat::mm
