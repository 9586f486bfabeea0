// MemoryFile: the memfd behind all application memory, and its frame allocator.

#include "sentry/mm/memory_file.h"

#include "platform/base/log.h"
#include "sentry/mm/user_addr.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>

namespace moat::mm {

Result<std::unique_ptr<MemoryFile>> MemoryFile::Create(uint64_t capacity) {
    if (capacity == 0 || !IsPageAligned(capacity))
        return Error(EINVAL);
    UniqueFd fd(::memfd_create("moat-memory", MFD_CLOEXEC));
    if (!fd)
        return HostErrno();
    if (::ftruncate(fd.get(), static_cast<off_t>(capacity)) < 0)
        return HostErrno();
    // NORESERVE: the file is sparse; only frames that are touched cost memory.
    void* p = ::mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd.get(), 0);
    if (p == MAP_FAILED)
        return HostErrno();
    std::unique_ptr<MemoryFile> mf(new MemoryFile());
    mf->m_fd = std::move(fd);
    mf->m_mapping = HostMapping(p, capacity);
    mf->m_capacity = capacity;
    return mf;
}

Result<uint64_t> MemoryFile::Allocate(uint64_t npages) {
    if (npages == 0)
        return Error(EINVAL);
    std::lock_guard lock(m_lock);
    uint64_t first = UINT64_MAX;
    // First fit in the free list (kept sorted and coalesced).
    for (auto it = m_free.begin(); it != m_free.end(); ++it) {
        if (it->second < npages)
            continue;
        first = it->first;
        it->first += npages;
        it->second -= npages;
        if (it->second == 0)
            m_free.erase(it);
        break;
    }
    if (first == UINT64_MAX) {
        uint64_t total = m_capacity / kPageSize;
        if (npages > total - m_next_frame)
            return Error(ENOMEM);
        first = m_next_frame;
        m_next_frame += npages;
    }
    if (m_refs.size() < first + npages)
        m_refs.resize(std::max<uint64_t>(first + npages, m_refs.size() + m_refs.size() / 2));
    for (uint64_t f = first; f < first + npages; ++f) {
        assert(m_refs[f] == 0);
        m_refs[f] = 1;
    }
    m_in_use += npages;
    return first * kPageSize;
}

void MemoryFile::IncRef(uint64_t offset, uint64_t npages) {
    std::lock_guard lock(m_lock);
    uint64_t first = offset / kPageSize;
    for (uint64_t f = first; f < first + npages; ++f) {
        if (f >= m_refs.size() || m_refs[f] == 0) {
            log::warn("moat: mm: IncRef of free frame {:#x}", f * kPageSize);
            abort();
        }
        ++m_refs[f];
    }
}

void MemoryFile::DecRef(uint64_t offset, uint64_t npages) {
    std::lock_guard lock(m_lock);
    uint64_t first = offset / kPageSize;
    uint64_t run_start = 0, run_len = 0;
    auto flush = [&] {
        if (run_len == 0)
            return;
        // Punch before the frames become reusable, so a new owner always sees zeros.
        if (::fallocate(m_fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(run_start * kPageSize),
                        static_cast<off_t>(run_len * kPageSize)) < 0) {
            // Cannot happen on a memfd; zero by hand so reuse stays correct.
            std::fill_n(Ptr(run_start * kPageSize), run_len * kPageSize, 0);
        }
        m_in_use -= run_len;
        // Insert into the sorted free list, coalescing with neighbours.
        auto it = std::lower_bound(m_free.begin(), m_free.end(), std::make_pair(run_start, uint64_t{0}));
        it = m_free.insert(it, {run_start, run_len});
        if (auto next = it + 1; next != m_free.end() && it->first + it->second == next->first) {
            it->second += next->second;
            m_free.erase(next);
        }
        if (it != m_free.begin()) {
            auto prev = it - 1;
            if (prev->first + prev->second == it->first) {
                prev->second += it->second;
                it = m_free.erase(it) - 1;
            }
        }
        // A free run ending at the bump pointer goes back to the bump region.
        if (it->first + it->second == m_next_frame) {
            m_next_frame = it->first;
            m_free.erase(it);
        }
        run_len = 0;
    };
    for (uint64_t f = first; f < first + npages; ++f) {
        if (f >= m_refs.size() || m_refs[f] == 0) {
            log::warn("moat: mm: DecRef of free frame {:#x}", f * kPageSize);
            abort();
        }
        if (--m_refs[f] != 0)
            continue;
        if (run_len != 0 && run_start + run_len == f) {
            ++run_len;
        } else {
            flush();
            run_start = f;
            run_len = 1;
        }
    }
    flush();
}

uint32_t MemoryFile::RefCount(uint64_t offset) const {
    std::lock_guard lock(m_lock);
    uint64_t f = offset / kPageSize;
    return f < m_refs.size() ? m_refs[f] : 0;
}

uint64_t MemoryFile::frames_in_use() const {
    std::lock_guard lock(m_lock);
    return m_in_use;
}

}  // namespace moat::mm
