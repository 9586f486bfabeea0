// ShmemMappable: shared anonymous memory.

#include "sentry/mm/shmem.h"

#include "sentry/mm/user_addr.h"

namespace moat::mm {

ShmemMappable::~ShmemMappable() {
    for (auto& [index, frame] : m_pages)
        m_mf.DecRef(frame);
}

Result<uint64_t> ShmemMappable::PageFrame(uint64_t page_index) {
    if (page_index >= PageUp(m_size) / kPageSize)
        return Error(EFAULT);
    std::lock_guard lock(m_lock);
    if (auto it = m_pages.find(page_index); it != m_pages.end())
        return it->second;
    uint64_t frame = TRY(m_mf.Allocate(1));
    m_pages.emplace(page_index, frame);
    return frame;
}

void ShmemMappable::Remove(uint64_t first_page, uint64_t count) {
    std::lock_guard lock(m_lock);
    for (uint64_t i = first_page; i < first_page + count && !m_pages.empty(); ++i) {
        if (auto it = m_pages.find(i); it != m_pages.end()) {
            m_mf.DecRef(it->second);
            m_pages.erase(it);
        }
    }
}

}  // namespace moat::mm
