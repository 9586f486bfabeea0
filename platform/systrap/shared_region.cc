#include "platform/systrap/shared_region.h"

#include "platform/systrap/stub_layout.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace moat::platform::systrap {

namespace {
// Slots kept resident when a window is reused (most processes have a thread or two).
constexpr uint32_t kKeptSlots = 4;
}  // namespace

Result<std::shared_ptr<SharedRegionPool>> SharedRegionPool::Create() {
    std::shared_ptr<SharedRegionPool> pool(new SharedRegionPool());
    pool->m_fd = UniqueFd(::memfd_create("moat-systrap", MFD_CLOEXEC));
    if (!pool->m_fd)
        return HostErrno();
    return pool;
}

Result<SharedRegionPool::Window> SharedRegionPool::Acquire() {
    std::lock_guard lock(m_lock);
    uint32_t index;
    if (!m_free.empty()) {
        index = m_free.back();
        m_free.pop_back();
    } else {
        index = static_cast<uint32_t>(m_windows.size());
        uint64_t offset = uint64_t{index} * kSharedSize;
        if (::ftruncate(m_fd.get(), static_cast<off_t>(offset + kSharedSize)) < 0)
            return HostErrno();
        void* p = ::mmap(nullptr, kSharedSize, PROT_READ | PROT_WRITE, MAP_SHARED, m_fd.get(),
                         static_cast<off_t>(offset));
        if (p == MAP_FAILED)
            return HostErrno();
        m_windows.emplace_back(p, kSharedSize);
    }
    return Window{index, uint64_t{index} * kSharedSize, m_windows[index].bytes()};
}

void SharedRegionPool::Release(const Window& window, uint32_t slots_used) {
    if (slots_used > kKeptSlots) {
        uint64_t from = window.offset + kSlotsOffset + uint64_t{kKeptSlots} * kSlotSize;
        uint64_t len = uint64_t{slots_used - kKeptSlots} * kSlotSize;
        ::fallocate(m_fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(from),
                    static_cast<off_t>(len));
    }
    std::lock_guard lock(m_lock);
    m_free.push_back(window.index);
}

}  // namespace moat::platform::systrap
