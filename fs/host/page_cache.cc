#include "fs/host/page_cache.h"

#include "sentry/mm/user_addr.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace moat::fs {

HostPageCache::~HostPageCache() {
    for (auto& [index, frame] : m_frames)
        m_mf.DecRef(frame);
}

Result<uint64_t> HostPageCache::PageFrame(uint64_t page_index) {
    std::lock_guard lock(m_lock);
    uint64_t size = m_size.load(std::memory_order_relaxed);
    if (page_index >= (size + mm::kPageSize - 1) / mm::kPageSize)
        return Error(EFAULT);
    auto it = m_frames.find(page_index);
    if (it != m_frames.end())
        return it->second;
    uint64_t frame = TRY(m_mf.Allocate(1));
    uint8_t* p = m_mf.Ptr(frame);
    uint64_t off = page_index * mm::kPageSize;
    size_t want = static_cast<size_t>(std::min<uint64_t>(mm::kPageSize, size - off));
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
    uint64_t size = this->size();
    if (offset >= size)
        return size_t{0};
    len = static_cast<size_t>(std::min<uint64_t>(len, size - offset));
    size_t done = 0;
    while (done < len) {
        uint64_t pos = offset + done;
        auto frame = PageFrame(pos / mm::kPageSize);
        if (!frame.ok()) {
            if (done > 0 || frame.error() == EFAULT)
                break;  // truncated meanwhile: a short read
            return Error(frame.error());
        }
        size_t in_page = pos % mm::kPageSize;
        size_t n = std::min<size_t>(len - done, mm::kPageSize - in_page);
        memcpy(static_cast<uint8_t*>(dst) + done, m_mf.Ptr(*frame) + in_page, n);
        done += n;
    }
    return done;
}

size_t HostPageCache::cached_pages() const {
    std::lock_guard lock(m_lock);
    return m_frames.size();
}

void HostPageCache::SetFd(std::shared_ptr<UniqueFd> fd) {
    std::lock_guard lock(m_lock);
    m_fd = std::move(fd);
}

void HostPageCache::WroteAt(const uint8_t* data, size_t len, uint64_t offset) {
    std::lock_guard lock(m_lock);
    uint64_t end = offset + len;
    for (uint64_t pos = offset; pos < end;) {
        uint64_t index = pos / mm::kPageSize;
        size_t in_page = pos % mm::kPageSize;
        size_t n = static_cast<size_t>(std::min<uint64_t>(end - pos, mm::kPageSize - in_page));
        auto it = m_frames.find(index);
        if (it != m_frames.end())
            memcpy(m_mf.Ptr(it->second) + in_page, data + (pos - offset), n);
        pos += n;
    }
    if (end > m_size.load(std::memory_order_relaxed))
        m_size.store(end, std::memory_order_release);
}

void HostPageCache::Resize(uint64_t new_size) {
    std::lock_guard lock(m_lock);
    uint64_t old_size = m_size.load(std::memory_order_relaxed);
    // Zero the tail of the page holding the smaller end (bytes past EOF read as zeros, also
    // after the file grows again), then free the pages wholly past the new end.
    uint64_t zero_from = std::min(old_size, new_size);
    if (zero_from % mm::kPageSize != 0) {
        auto it = m_frames.find(zero_from / mm::kPageSize);
        if (it != m_frames.end()) {
            size_t in_page = zero_from % mm::kPageSize;
            memset(m_mf.Ptr(it->second) + in_page, 0, mm::kPageSize - in_page);
        }
    }
    uint64_t first_gone = (new_size + mm::kPageSize - 1) / mm::kPageSize;
    for (auto it = m_frames.begin(); it != m_frames.end();) {
        if (it->first >= first_gone) {
            m_mf.DecRef(it->second);
            it = m_frames.erase(it);
        } else {
            ++it;
        }
    }
    m_size.store(new_size, std::memory_order_release);
}

void HostPageCache::DropAll() {
    std::lock_guard lock(m_lock);
    for (auto& [index, frame] : m_frames)
        m_mf.DecRef(frame);
    m_frames.clear();
}

Result<void> HostPageCache::Writeback(uint64_t offset, uint64_t length) {
    std::lock_guard lock(m_lock);
    uint64_t size = m_size.load(std::memory_order_relaxed);
    uint64_t end = length > UINT64_MAX - offset ? UINT64_MAX : offset + length;
    std::vector<uint64_t> pages;
    for (auto& [index, frame] : m_frames) {
        uint64_t start = index * mm::kPageSize;
        if (start < end && start + mm::kPageSize > offset && start < size)
            pages.push_back(index);
    }
    std::sort(pages.begin(), pages.end());
    std::vector<uint8_t> host(mm::kPageSize);
    for (uint64_t index : pages) {
        const uint8_t* cached = m_mf.Ptr(m_frames[index]);
        uint64_t start = index * mm::kPageSize;
        size_t want = static_cast<size_t>(std::min<uint64_t>(mm::kPageSize, size - start));
        // Only pages a mapping changed are written: an unchanged page costs a pread, never a
        // write (so the host file's mtime moves only when the data did).
        size_t got = 0;
        while (got < want) {
            size_t n = TRY(m_io.Pread(m_fd->get(), host.data() + got, want - got, start + got));
            if (n == 0)
                break;
            got += n;
        }
        if (got == want && memcmp(host.data(), cached, want) == 0)
            continue;
        for (size_t done = 0; done < want;)
            done += TRY(m_io.Pwrite(m_fd->get(), cached + done, want - done, start + done));
    }
    return {};
}

}  // namespace moat::fs
