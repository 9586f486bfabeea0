// MemoryFile: the memfd behind all application memory, and its frame allocator.

#include "sentry/mm/memory_file.h"

#include "platform/base/log.h"
#include "sentry/mm/user_addr.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

namespace moat::mm {

namespace {

// See TakeAllocationFailure: the calling thread's last Allocate found no frame.
thread_local bool t_allocation_failed = false;

uint64_t HostRamBytes() {
    struct sysinfo host {};
    return ::sysinfo(&host) == 0 ? uint64_t{host.totalram} * host.mem_unit : 0;
}

}  // namespace

bool MemoryFile::TakeAllocationFailure() { return std::exchange(t_allocation_failed, false); }

uint64_t SandboxRamBytes(const MemoryFile* mf) { return mf ? mf->ram_bytes() : HostRamBytes(); }

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
    uint64_t host_ram = HostRamBytes();
    mf->m_ram_bytes = host_ram ? std::min(host_ram, capacity) : capacity;
    return mf;
}

uint64_t MemoryFile::TakeFirstFit(Runs& runs, uint64_t npages) {
    for (auto it = runs.begin(); it != runs.end(); ++it) {
        if (it->second < npages)
            continue;
        uint64_t first = it->first;
        it->first += npages;
        it->second -= npages;
        if (it->second == 0)
            runs.erase(it);
        return first;
    }
    return UINT64_MAX;
}

size_t MemoryFile::InsertRun(Runs& runs, uint64_t first, uint64_t count) {
    auto it = std::lower_bound(runs.begin(), runs.end(), std::make_pair(first, uint64_t{0}));
    it = runs.insert(it, {first, count});
    if (auto next = it + 1; next != runs.end() && it->first + it->second == next->first) {
        it->second += next->second;
        runs.erase(next);
    }
    if (it != runs.begin()) {
        auto prev = it - 1;
        if (prev->first + prev->second == it->first) {
            prev->second += it->second;
            it = runs.erase(it) - 1;
        }
    }
    return static_cast<size_t>(it - runs.begin());
}

Result<uint64_t> MemoryFile::Allocate(uint64_t npages, bool zeroed) {
    if (npages == 0)
        return Error(EINVAL);
    uint64_t first = UINT64_MAX;
    bool dirty = false;
    {
        std::lock_guard lock(m_lock);
        // Small allocations reuse dirty frames (resident already: zeroing them is cheaper
        // than the punch and the fault that would refill them). Large ones would make
        // untouched frames resident by zeroing them, so they take clean ones.
        if (npages <= kMaxReuseFrames && (first = TakeFirstFit(m_dirty, npages)) != UINT64_MAX) {
            m_dirty_frames -= npages;
            dirty = true;
        }
        // Clean frames: a punched run, else the never-used region past the bump pointer.
        auto take_clean = [&] {
            uint64_t at = TakeFirstFit(m_free, npages);
            if (at == UINT64_MAX && npages <= m_capacity / kPageSize - m_next_frame) {
                at = m_next_frame;
                m_next_frame += npages;
            }
            return at;
        };
        if (first == UINT64_MAX)
            first = take_clean();
        if (first == UINT64_MAX && !m_dirty.empty()) {
            PunchDirty();  // out of clean frames: the dirty ones are the last reserve
            first = take_clean();
        }
        t_allocation_failed = first == UINT64_MAX;
        if (first == UINT64_MAX)
            return Error(ENOMEM);
        if (m_refs.size() < first + npages)
            m_refs.resize(std::max<uint64_t>(first + npages, m_refs.size() + m_refs.size() / 2));
        for (uint64_t f = first; f < first + npages; ++f) {
            assert(m_refs[f] == 0);
            m_refs[f] = 1;
        }
        m_in_use += npages;
    }
    // The frames are ours now: zero them outside the lock.
    if (dirty && zeroed)
        std::memset(Ptr(first * kPageSize), 0, npages * kPageSize);
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

void MemoryFile::PunchDirty() {
    for (auto [start, len] : m_dirty) {
        // Punch before the frames become clean, so a new owner always sees zeros.
        if (::fallocate(m_fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(start * kPageSize),
                        static_cast<off_t>(len * kPageSize)) < 0) {
            // Cannot happen on a memfd; zero by hand so reuse stays correct.
            std::fill_n(Ptr(start * kPageSize), len * kPageSize, 0);
        }
        size_t at = InsertRun(m_free, start, len);
        // A free run ending at the bump pointer goes back to the bump region.
        if (m_free[at].first + m_free[at].second == m_next_frame) {
            m_next_frame = m_free[at].first;
            m_free.erase(m_free.begin() + static_cast<long>(at));
        }
    }
    m_dirty.clear();
    m_dirty_frames = 0;
}

void MemoryFile::DecRef(uint64_t offset, uint64_t npages) {
    std::lock_guard lock(m_lock);
    uint64_t first = offset / kPageSize;
    uint64_t run_start = 0, run_len = 0;
    auto flush = [&] {
        if (run_len == 0)
            return;
        m_in_use -= run_len;
        m_dirty_frames += run_len;
        InsertRun(m_dirty, run_start, run_len);
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
    if (m_dirty_frames > kMaxDirtyFrames)
        PunchDirty();
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

uint64_t MemoryFile::free_ram_bytes() const {
    uint64_t used = frames_in_use() * kPageSize;
    return m_ram_bytes > used ? m_ram_bytes - used : 0;
}

uint64_t MemoryFile::dirty_frames() const {
    std::lock_guard lock(m_lock);
    return m_dirty_frames;
}

}  // namespace moat::mm
