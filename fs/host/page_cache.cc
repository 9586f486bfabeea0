#include "fs/host/page_cache.h"

#include "sentry/mm/user_addr.h"

#include <algorithm>
#include <cstring>

namespace moat::fs {

HostPageCache::~HostPageCache() {
    for (auto& [index, frame] : m_frames)
        m_mf.DecRef(frame);
}

Result<uint64_t> HostPageCache::PageFrame(uint64_t page_index) {
    if (page_index >= (m_size + mm::kPageSize - 1) / mm::kPageSize)
        return Error(EFAULT);
    std::lock_guard lock(m_lock);
    auto it = m_frames.find(page_index);
    if (it != m_frames.end())
        return it->second;
    uint64_t frame = TRY(m_mf.Allocate(1));
    uint8_t* p = m_mf.Ptr(frame);
    uint64_t off = page_index * mm::kPageSize;
    size_t want = static_cast<size_t>(std::min<uint64_t>(mm::kPageSize, m_size - off));
    size_t got = 0;
    while (got < want) {
        auto n = m_io.Pread(m_fd->get(), p + got, want - got, off + got);
        if (!n.ok()) {
            m_mf.DecRef(frame);
            return Error(n.error());
        }
        if (*n == 0)
            break;  // the file shrank on the host: the rest reads as zeros
        got += *n;
    }
    // Allocate hands out zeroed frames, so the tail beyond EOF is already zero.
    m_frames.emplace(page_index, frame);
    return frame;
}

Result<size_t> HostPageCache::ReadAt(void* dst, size_t len, uint64_t offset) {
    if (offset >= m_size)
        return size_t{0};
    len = static_cast<size_t>(std::min<uint64_t>(len, m_size - offset));
    size_t done = 0;
    while (done < len) {
        uint64_t pos = offset + done;
        uint64_t frame = TRY(PageFrame(pos / mm::kPageSize));
        size_t in_page = pos % mm::kPageSize;
        size_t n = std::min<size_t>(len - done, mm::kPageSize - in_page);
        memcpy(static_cast<uint8_t*>(dst) + done, m_mf.Ptr(frame) + in_page, n);
        done += n;
    }
    return done;
}

size_t HostPageCache::cached_pages() const {
    std::lock_guard lock(m_lock);
    return m_frames.size();
}

}  // namespace moat::fs
