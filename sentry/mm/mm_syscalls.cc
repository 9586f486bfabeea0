// MemoryManager: mmap, munmap, mprotect, madvise, msync and mincore with Linux's checks and
// errnos (mm/mmap.c, mm/mprotect.c, mm/madvise.c, mm/msync.c, mm/mincore.c).

#include "sentry/mm/memory_manager.h"
#include "sentry/mm/mm_impl.h"
#include "sentry/mm/shmem.h"

#include <algorithm>
#include <vector>

namespace moat::mm {

namespace {
constexpr int kRwx = PROT_READ | PROT_WRITE | PROT_EXEC;
constexpr int kProtSem = 0x8;             // PROT_SEM: accepted, meaningless on x86
constexpr int kMapUninitialized = 0x4000000;  // MAP_UNINITIALIZED (not in glibc's headers)

// Linux's LEGACY_MAP_MASK: the flags MAP_SHARED_VALIDATE accepts (no file here offers more).
constexpr int kLegacyMapMask = MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE |
                               MAP_EXECUTABLE | kMapUninitialized | MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE |
                               MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB | MAP_32BIT |
                               (MAP_HUGE_MASK << MAP_HUGE_SHIFT);

bool ValidAdvice(int advice) {
    switch (advice) {
    case MADV_NORMAL: case MADV_RANDOM: case MADV_SEQUENTIAL: case MADV_WILLNEED: case MADV_DONTNEED:
    case MADV_FREE: case MADV_REMOVE: case MADV_DONTFORK: case MADV_DOFORK: case MADV_MERGEABLE:
    case MADV_UNMERGEABLE: case MADV_HUGEPAGE: case MADV_NOHUGEPAGE: case MADV_DONTDUMP: case MADV_DODUMP:
    case MADV_WIPEONFORK: case MADV_KEEPONFORK: case MADV_COLD: case MADV_PAGEOUT: case MADV_POPULATE_READ:
    case MADV_POPULATE_WRITE: case 24 /* MADV_DONTNEED_LOCKED */: case 25 /* MADV_COLLAPSE */:
        return true;
    default:
        return false;
    }
}
}  // namespace

Result<uint64_t> MemoryManager::Mmap(const MmapRequest& req) {
    int flags = req.flags;
    uint64_t addr = req.addr;
    if (req.length == 0)
        return Error(EINVAL);
    const bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
    if (!fixed && addr && addr < m_min)
        addr = m_min;  // round_hint_to_min
    const uint64_t len = TRY(PageUpChecked(req.length));
    const bool has_file = req.file != nullptr;
    if (has_file) {
        uint64_t pgoff = req.offset / kPageSize;
        if (pgoff + len / kPageSize < pgoff)
            return Error(EOVERFLOW);
    }

    std::lock_guard lock(m_impl->lock);
    Impl& impl = *m_impl;
    addr = TRY(impl.GetUnmappedArea(addr, len, flags));
    if ((flags & MAP_FIXED_NOREPLACE) && impl.vmas.Intersects(addr, addr + len))
        return Error(EEXIST);

    const int prot = req.prot & kRwx;
    int max_prot = kRwx;
    bool shared;
    const int type = flags & MAP_TYPE;
    if (has_file) {
        // file_mmap_ok: the mapping must end within the largest file offset (MAX_LFS_FILESIZE).
        constexpr uint64_t kMaxFileSize = INT64_MAX;
        if (len > kMaxFileSize || req.offset / kPageSize > (kMaxFileSize - len) / kPageSize)
            return Error(EOVERFLOW);
        // The mmap(2) handler encodes the open file's access mode in max_prot: no PROT_READ
        // means not open for reading, no PROT_WRITE on a shared mapping means not for writing.
        switch (type) {
        case MAP_SHARED_VALIDATE:
            if (flags & ~kLegacyMapMask)
                return Error(EOPNOTSUPP);
            [[fallthrough]];
        case MAP_SHARED:
            if ((prot & PROT_WRITE) && !(req.max_prot & PROT_WRITE))
                return Error(EACCES);
            shared = true;
            max_prot = req.max_prot & kRwx;
            [[fallthrough]];
        case MAP_PRIVATE:
            if (type == MAP_PRIVATE) {
                shared = false;
                max_prot = (req.max_prot & kRwx) | PROT_WRITE;
            }
            if (!(req.max_prot & PROT_READ))
                return Error(EACCES);
            if ((prot & PROT_EXEC) && !(req.max_prot & PROT_EXEC))
                return Error(EPERM);  // noexec mount
            if (flags & MAP_GROWSDOWN)
                return Error(EINVAL);
            break;
        default:
            return Error(EINVAL);
        }
    } else {
        switch (type) {
        case MAP_SHARED:
            if (flags & MAP_GROWSDOWN)
                return Error(EINVAL);
            shared = true;
            break;
        case MAP_PRIVATE:
            shared = false;
            break;
        default:
            return Error(EINVAL);
        }
    }

    if (fixed)
        TRY(impl.UnmapRange(addr, addr + len));
    Vma vma;
    vma.start = addr;
    vma.end = addr + len;
    vma.prot = prot;
    vma.max_prot = max_prot;
    vma.shared = shared;
    vma.growsdown = flags & MAP_GROWSDOWN;
    vma.anonymous = !has_file;
    vma.name = req.name;
    if (has_file) {
        vma.file = req.file;
        vma.offset = req.offset;
    } else if (shared) {
        vma.file = std::make_shared<ShmemMappable>(m_mf, len);
    }
    impl.vmas.Insert(std::move(vma));
    return addr;
}

Result<void> MemoryManager::Munmap(uint64_t addr, uint64_t length) {
    if (!IsPageAligned(addr) || addr > m_max || length > m_max - addr)
        return Error(EINVAL);
    uint64_t len = PageUp(length);
    if (len == 0)
        return Error(EINVAL);
    std::lock_guard lock(m_impl->lock);
    return m_impl->UnmapRange(addr, addr + len);
}

Result<void> MemoryManager::Mprotect(uint64_t addr, uint64_t length, int prot) {
    const int grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
    prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
    if (grows == (PROT_GROWSDOWN | PROT_GROWSUP))
        return Error(EINVAL);
    if (!IsPageAligned(addr))
        return Error(EINVAL);
    if (length == 0)
        return {};
    uint64_t len = TRY(PageUpChecked(length));
    uint64_t start = addr, end;
    if (__builtin_add_overflow(start, len, &end) || end <= start)
        return Error(ENOMEM);
    if (prot & ~(kRwx | kProtSem))
        return Error(EINVAL);
    prot &= kRwx;

    std::lock_guard lock(m_impl->lock);
    Impl& impl = *m_impl;
    auto it = impl.vmas.FindNext(start);
    if (it == impl.vmas.end() || it->second.start >= end)
        return Error(ENOMEM);
    if (grows & PROT_GROWSDOWN) {
        start = it->second.start;
        if (!it->second.growsdown)
            return Error(EINVAL);
    } else {
        if (it->second.start > start)
            return Error(ENOMEM);
        if (grows & PROT_GROWSUP)
            return Error(EINVAL);  // x86 has no VM_GROWSUP areas
    }
    // Area by area, like Linux: earlier areas keep their change if a later one fails.
    uint64_t at = start;
    while (at < end) {
        Vma* v = impl.vmas.Find(at);
        if (!v)
            return Error(ENOMEM);
        if (prot & ~v->max_prot)
            return Error(EACCES);
        uint64_t piece_end = std::min(end, v->end);
        if (v->prot != prot) {
            impl.vmas.SplitAt(at);
            impl.vmas.SplitAt(piece_end);
            Vma* piece = impl.vmas.Find(at);
            piece->prot = prot;
            Vma copy = *piece;
            TRY(impl.ProtectRange(copy, at, piece_end));
            impl.vmas.MergeAround(impl.vmas.FindNext(at));
        }
        at = piece_end;
    }
    return {};
}

Result<void> MemoryManager::Madvise(uint64_t addr, uint64_t length, int advice) {
    if (!ValidAdvice(advice))
        return Error(EINVAL);
    if (!IsPageAligned(addr))
        return Error(EINVAL);
    uint64_t len = PageUp(length);
    if (length && !len)
        return Error(EINVAL);
    uint64_t end;
    if (__builtin_add_overflow(addr, len, &end))
        return Error(EINVAL);
    if (end == addr)
        return {};

    std::lock_guard lock(m_impl->lock);
    Impl& impl = *m_impl;
    bool hole = false;
    uint64_t at = addr;
    for (auto it = impl.vmas.FindNext(addr); at < end; ++it) {
        if (it == impl.vmas.end() || it->second.start >= end) {
            hole = true;
            break;
        }
        const Vma& v = it->second;
        if (v.start > at)
            hole = true;
        uint64_t s = std::max(at, v.start), e = std::min(end, v.end);
        at = e;
        switch (advice) {
        case MADV_DONTNEED:
        case MADV_DONTNEED_LOCKED:
        case MADV_FREE:
        case MADV_REMOVE:
            if (advice == MADV_FREE && !v.anonymous)
                return Error(EINVAL);
            if (advice == MADV_REMOVE && !v.shared)
                return Error(EINVAL);
            // Private pages go (anonymous ones read as zeros again, file ones revert to the
            // file); shared pages stay in their file and are simply unmapped here.
            if (impl.DropPmas(s, e))
                TRY(m_as->Unmap(s, e - s));
            if (advice == MADV_REMOVE)
                if (auto* shmem = dynamic_cast<ShmemMappable*>(v.file.get()))
                    shmem->Remove(v.offset_of(s) / kPageSize, (e - s) / kPageSize);
            break;
        case MADV_WIPEONFORK:
        case MADV_KEEPONFORK:
            if (!v.anonymous || v.shared)
                return Error(EINVAL);
            break;
        default:
            break;  // hints: accepted, nothing to do
        }
    }
    if (hole)
        return Error(ENOMEM);
    return {};
}

Result<void> MemoryManager::Msync(uint64_t addr, uint64_t length, int flags) {
    if (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC))
        return Error(EINVAL);
    if (!IsPageAligned(addr))
        return Error(EINVAL);
    if ((flags & MS_ASYNC) && (flags & MS_SYNC))
        return Error(EINVAL);
    uint64_t len = PageUp(length), end;
    if (__builtin_add_overflow(addr, len, &end))
        return Error(ENOMEM);
    if (end == addr)
        return {};
    std::lock_guard lock(m_impl->lock);
    if (!m_impl->vmas.Covers(addr, end))
        return Error(ENOMEM);
    // Shared file pages are the page cache's frames: the file writes what changed back
    // (MS_ASYNC too — there is no background writer to leave it to).
    for (auto it = m_impl->vmas.FindNext(addr); it != m_impl->vmas.end() && it->second.start < end; ++it)
        TRY(m_impl->WritebackShared(it->second, addr, end));
    return {};
}

Result<void> MemoryManager::Mincore(uint64_t addr, uint64_t length, UserAddr vec) {
    if (!IsPageAligned(addr))
        return Error(EINVAL);
    if (addr > m_max || length > m_max - addr)
        return Error(ENOMEM);  // access_ok on the range
    uint64_t pages = length / kPageSize + ((length & (kPageSize - 1)) != 0);
    if (vec.get() > m_max || pages > m_max - vec.get())
        return Error(EFAULT);
    uint64_t at = addr;
    uint64_t out = vec.get();
    std::vector<uint8_t> chunk;
    while (pages > 0) {
        uint64_t n = std::min<uint64_t>(pages, kPageSize);
        chunk.clear();
        {
            std::lock_guard lock(m_impl->lock);
            Impl& impl = *m_impl;
            const Vma* v = impl.vmas.Find(at);
            if (!v)
                return Error(ENOMEM);
            n = std::min(n, (v->end - at) / kPageSize);
            auto it = impl.PmaNext(at);
            for (uint64_t i = 0; i < n; ++i) {
                uint64_t page = at + i * kPageSize;
                while (it != impl.pmas.end() && it->second.end <= page)
                    ++it;
                chunk.push_back(it != impl.pmas.end() && it->first <= page ? 1 : 0);
            }
        }
        TRY(CopyOut(UserAddr(out), chunk.data(), chunk.size()));
        at += n * kPageSize;
        out += n;
        pages -= n;
    }
    return {};
}

}  // namespace moat::mm
