// MemoryManager: faults, and giving VMA pages their frames ("populating").

#include "platform/base/log.h"
#include "sentry/mm/memory_manager.h"
#include "sentry/mm/mm_impl.h"

#include <algorithm>
#include <cstring>

namespace moat::mm {

namespace {
// Fault-around windows, in pages. Anonymous memory costs nothing until touched (the memory
// file is sparse), so a bigger run is allocated and mapped with one platform call.
constexpr uint64_t kFileFaultWindow = 16;
constexpr uint64_t kAnonFaultWindow = 64;
}  // namespace

Result<uint64_t> MemoryManager::Impl::FillGap(const Vma& vma, uint64_t start, uint64_t end) {
    MemoryFile& mf = mm.m_mf;
    if (!vma.file) {
        // Private anonymous: fresh zero frames, contiguous where the allocator allows.
        uint64_t at = start;
        while (at < end) {
            uint64_t n = (end - at) / kPageSize;
            Result<uint64_t> frame = Error(ENOMEM);
            while (n > 0 && !(frame = mf.Allocate(n)).ok())
                n /= 2;
            if (!frame.ok())
                return at > start ? Result<uint64_t>(at) : Error(ENOMEM);
            pmas.emplace(at, Pma{at + n * kPageSize, *frame, true, true, false});
            resident += n;
            at += n * kPageSize;
        }
        return end;
    }
    // File or shmem: the Mappable's frames; private mappings map them read-only (COW).
    std::map<uint64_t, Pma>::iterator last = pmas.end();
    for (uint64_t at = start; at < end; at += kPageSize) {
        Result<uint64_t> frame = vma.file->PageFrame(vma.offset_of(at) / kPageSize);
        if (!frame.ok()) {
            if (at == start)
                return Error(frame.error());
            return at;
        }
        mf.IncRef(*frame);
        ++resident;
        if (last != pmas.end() && last->second.end == at &&
            last->second.frame + (at - last->first) == *frame) {
            last->second.end = at + kPageSize;
            continue;
        }
        last = pmas.emplace(at, Pma{at + kPageSize, *frame, vma.shared, false, false}).first;
    }
    return end;
}

Result<uint64_t> MemoryManager::Impl::Populate(const Vma& vma, uint64_t start, uint64_t end, bool write) {
    if (vma.file) {
        // Clip at end of file; a start beyond it is the caller's SIGBUS / EFAULT.
        uint64_t file_end = PageUp(vma.file->size());
        uint64_t off = vma.offset_of(start);
        if (off >= file_end)
            return Error(EFAULT);
        end = std::min(end, start + (file_end - off));
    }
    uint64_t at = start;
    while (at < end) {
        auto it = PmaNext(at);
        if (it != pmas.end() && it->first <= at) {
            at = std::min(end, it->second.end);
            continue;
        }
        uint64_t gap_end = it == pmas.end() ? end : std::min(end, it->first);
        uint64_t filled = TRY(FillGap(vma, at, gap_end));
        if (filled < gap_end) {
            end = filled;
            break;
        }
        at = gap_end;
    }
    if (write && start < end)
        TRY(BreakCow(vma, start, end));
    return end;
}

Result<void> MemoryManager::Impl::BreakCow(const Vma& vma, uint64_t start, uint64_t end) {
    MemoryFile& mf = mm.m_mf;
    SplitPmaAt(start);
    SplitPmaAt(end);
    for (auto it = pmas.lower_bound(start); it != pmas.end() && it->first < end; ++it) {
        Pma& pma = it->second;
        if (pma.writable)
            continue;
        uint64_t n = (pma.end - it->first) / kPageSize;
        bool exclusive = pma.priv;
        for (uint64_t i = 0; exclusive && i < n; ++i)
            exclusive = mf.RefCount(pma.frame + i * kPageSize) == 1;
        if (exclusive) {
            // The other side of a fork already copied or went away: take the frame over.
            pma.writable = true;
            if (pma.mapped)
                TRY(mm.m_as->Protect(it->first, pma.end - it->first, EffectiveProt(vma, pma)));
            continue;
        }
        uint64_t copy = TRY(mf.Allocate(n, /*zeroed=*/false));  // overwritten at once
        std::memcpy(mf.Ptr(copy), mf.Ptr(pma.frame), n * kPageSize);
        mf.DecRef(pma.frame, n);
        pma.frame = copy;
        pma.writable = true;
        pma.priv = true;
        // The platform still maps the old frame here: point it at the copy.
        if (pma.mapped)
            TRY(mm.m_as->Map(it->first, pma.end - it->first, copy, EffectiveProt(vma, pma)));
    }
    return {};
}

Result<void> MemoryManager::Impl::MapRange(const Vma& vma, uint64_t start, uint64_t end) {
    if (vma.prot == PROT_NONE)
        return {};
    SplitPmaAt(start);
    SplitPmaAt(end);
    // Coalesce runs of unmapped pmas that are contiguous in both spaces and agree on prot.
    uint64_t run_start = 0, run_end = 0, run_frame = 0;
    int run_prot = 0;
    auto flush = [&]() -> Result<void> {
        if (run_end > run_start)
            TRY(mm.m_as->Map(run_start, run_end - run_start, run_frame, run_prot));
        run_start = run_end = 0;
        return {};
    };
    for (auto it = pmas.lower_bound(start); it != pmas.end() && it->first < end; ++it) {
        Pma& pma = it->second;
        if (pma.mapped)
            continue;
        int prot = EffectiveProt(vma, pma);
        bool extends = run_end > run_start && run_end == it->first &&
                       run_frame + (run_end - run_start) == pma.frame && run_prot == prot;
        if (!extends) {
            TRY(flush());
            run_start = it->first;
            run_frame = pma.frame;
            run_prot = prot;
        }
        run_end = pma.end;
        pma.mapped = true;
    }
    return flush();
}

Result<void> MemoryManager::Impl::ProtectRange(const Vma& vma, uint64_t start, uint64_t end) {
    uint64_t run_start = 0, run_end = 0;
    int run_prot = 0;
    auto flush = [&]() -> Result<void> {
        if (run_end > run_start)
            TRY(mm.m_as->Protect(run_start, run_end - run_start, run_prot));
        run_start = run_end = 0;
        return {};
    };
    for (auto it = PmaNext(start); it != pmas.end() && it->first < end; ++it) {
        if (!it->second.mapped)
            continue;
        uint64_t s = std::max(start, it->first), e = std::min(end, it->second.end);
        int prot = EffectiveProt(vma, it->second);
        if (!(run_end > run_start && run_end == s && run_prot == prot)) {
            TRY(flush());
            run_start = s;
            run_prot = prot;
        }
        run_end = e;
    }
    return flush();
}

FaultResult MemoryManager::HandleFault(uint64_t addr, int access) {
    std::lock_guard lock(m_impl->lock);
    Impl& impl = *m_impl;
    const Vma* vma = impl.FindOrGrow(addr);
    if (!vma)
        return FaultResult::SegvMapErr;
    const int prot = vma->prot;
    bool write;
    if (access == 0) {
        // Unknown access (some platforms cannot tell): a write if allowed breaks COW eagerly.
        if (prot == PROT_NONE)
            return FaultResult::SegvAccErr;
        write = prot & PROT_WRITE;
    } else {
        // x86 page tables cannot express write-only: PROT_WRITE implies read.
        if ((access & platform::kAccessWrite) && !(prot & PROT_WRITE))
            return FaultResult::SegvAccErr;
        if ((access & platform::kAccessExec) && !(prot & PROT_EXEC))
            return FaultResult::SegvAccErr;
        if ((access & platform::kAccessRead) && !(prot & (PROT_READ | PROT_WRITE)))
            return FaultResult::SegvAccErr;
        write = access & platform::kAccessWrite;
    }

    const uint64_t page = PageDown(addr);
    const uint64_t window = (vma->file ? kFileFaultWindow : kAnonFaultWindow) * kPageSize;
    uint64_t ws = std::max(vma->start, page & ~(window - 1));
    uint64_t we = std::min(vma->end, (page & ~(window - 1)) + window);

    uint64_t populated_end;
    if (!vma->file) {
        auto r = impl.Populate(*vma, ws, we, write);
        if (!r.ok()) {
            log::debug("moat: mm: out of memory on a fault at {:#x}", addr);
            return r.error() == ENOMEM ? FaultResult::OutOfMemory : FaultResult::BusErr;
        }
        populated_end = *r;
    } else {
        // The faulting page decides the outcome; the neighbours are a bonus.
        auto r = impl.Populate(*vma, page, page + kPageSize, write);
        if (!r.ok() && r.error() == ENOMEM)
            return FaultResult::OutOfMemory;  // no frame for the page cache or the COW copy
        if (!r.ok() || *r == page)
            return FaultResult::BusErr;
        populated_end = page + kPageSize;
        if (ws < page && impl.Populate(*vma, ws, page, false).ok()) {
            // [ws, page) is populated.
        } else {
            ws = page;
        }
        if (auto tail = impl.Populate(*vma, page + kPageSize, we, false); tail.ok())
            populated_end = *tail;
    }
    if (auto r = impl.MapRange(*vma, ws, populated_end); !r.ok()) {
        log::warn("moat: mm: platform map failed at {:#x}: errno {}", addr, r.error());
        return FaultResult::SegvMapErr;
    }
    return FaultResult::Handled;
}

}  // namespace moat::mm
