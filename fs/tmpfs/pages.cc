#include "fs/tmpfs/pages.h"

#include "sentry/mm/user_addr.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

namespace moat::fs {

namespace {
using mm::kPageSize;
// Linux's MAX_LFS_FILESIZE on 64-bit.
constexpr uint64_t kMaxFileSize = INT64_MAX;
constexpr uint64_t kNoFrame = UINT64_MAX;
// What a hole reads as.
constexpr uint8_t kZeroPage[kPageSize] = {};
}  // namespace

TmpfsPages::~TmpfsPages() {
    mm::MemoryFile* mf = memory_file();
    for (auto& [index, frame] : m_frames)
        mf->DecRef(frame);
    m_fs->ReleasePages(m_frames.size());
}

uint64_t TmpfsPages::allocated_pages() const {
    std::lock_guard lock(m_lock);
    return m_frames.size();
}

Result<uint64_t> TmpfsPages::FrameLocked(uint64_t index) {
    if (auto it = m_frames.find(index); it != m_frames.end())
        return it->second;
    mm::MemoryFile* mf = memory_file();
    if (!mf)
        return Error(ENOMEM);
    TRY(m_fs->ReservePages(1));
    auto frame = mf->Allocate(1);
    if (!frame.ok()) {
        m_fs->ReleasePages(1);
        return Error(frame.error());
    }
    m_frames.emplace(index, *frame);
    return *frame;
}

uint64_t TmpfsPages::FindFrame(uint64_t index) {
    std::lock_guard lock(m_lock);
    auto it = m_frames.find(index);
    return it == m_frames.end() ? kNoFrame : it->second;
}

void TmpfsPages::FreeLocked(std::map<uint64_t, uint64_t>::iterator it) {
    // A mapping that still maps the frame keeps its own reference. FIXME(#tmpfs-truncate-unmap):
    // Linux unmaps truncated pages from every mapping (later accesses SIGBUS); here a mapping
    // keeps seeing the detached page.
    memory_file()->DecRef(it->second);
    m_frames.erase(it);
    m_fs->ReleasePages(1);
}

void TmpfsPages::ZeroLocked(uint64_t from, uint64_t to) {
    if (from >= to)
        return;
    auto it = m_frames.find(from / kPageSize);
    if (it == m_frames.end())
        return;
    uint64_t in_page = from % kPageSize;
    memset(memory_file()->Ptr(it->second) + in_page, 0, to - from);
}

void TmpfsPages::SetSizeLocked(uint64_t size) {
    uint64_t old = m_size.load(std::memory_order_relaxed);
    if (size > old) {
        // Bytes a shared mapping wrote past the old end of file must not reappear.
        ZeroLocked(old, mm::PageUp(old));
    }
    m_size.store(size, std::memory_order_release);
}

Result<uint64_t> TmpfsPages::PageFrame(uint64_t page_index) {
    std::lock_guard lock(m_lock);
    if (page_index >= mm::PageUp(m_size.load(std::memory_order_relaxed)) / kPageSize)
        return Error(EFAULT);
    auto frame = FrameLocked(page_index);
    if (!frame.ok() && frame.error() == ENOSPC)
        return Error(EFAULT);  // a full tmpfs: the fault is SIGBUS, as on Linux
    return frame;
}

Result<size_t> TmpfsPages::Read(IoDst& dst, uint64_t offset) {
    std::shared_lock io(m_io_lock);
    uint64_t size = m_size.load(std::memory_order_acquire);
    if (offset >= size || dst.remaining() == 0)
        return size_t{0};
    uint64_t want = std::min<uint64_t>({dst.remaining(), size - offset, kMaxRwCount});
    mm::MemoryFile* mf = memory_file();
    size_t done = 0;
    while (done < want) {
        uint64_t pos = offset + done;
        size_t in_page = pos % kPageSize;
        size_t n = std::min<uint64_t>(want - done, kPageSize - in_page);
        uint64_t frame = FindFrame(pos / kPageSize);
        // Under m_io_lock (shared) the frame cannot be freed: copy without m_lock, so that a
        // fault on the destination (maybe a mapping of this file) can take it.
        const uint8_t* src = frame == kNoFrame ? kZeroPage : mf->Ptr(frame) + in_page;
        Result<size_t> put = dst.Put(std::span<const uint8_t>(src, n));
        if (!put.ok()) {
            if (done > 0)
                break;
            return Error(put.error());
        }
        done += *put;
        if (*put < n)
            break;
    }
    return done;
}

Result<size_t> TmpfsPages::Write(IoSrc& src, uint64_t offset, bool append, uint64_t* end) {
    std::unique_lock io(m_io_lock);
    if (append)
        offset = m_size.load(std::memory_order_relaxed);
    *end = offset;
    uint64_t want = std::min<uint64_t>(src.remaining(), kMaxRwCount);
    if (want == 0)
        return size_t{0};
    if (offset >= kMaxFileSize)
        return Error(EFBIG);
    want = std::min(want, kMaxFileSize - offset);
    {
        // Extending: clear the old last page's tail before the new bytes land (it may share
        // their page).
        std::lock_guard lock(m_lock);
        uint64_t size = m_size.load(std::memory_order_relaxed);
        if (offset + want > size)
            ZeroLocked(size, mm::PageUp(size));
    }
    mm::MemoryFile* mf = memory_file();
    size_t done = 0;
    int error = 0;
    while (done < want) {
        uint64_t pos = offset + done;
        size_t in_page = pos % kPageSize;
        size_t n = std::min<uint64_t>(want - done, kPageSize - in_page);
        Result<uint64_t> frame = Error(ENOMEM);
        {
            std::lock_guard lock(m_lock);
            frame = FrameLocked(pos / kPageSize);
        }
        if (!frame.ok()) {
            error = frame.error();
            break;
        }
        // Copied straight into the frame, without m_lock (see Read).
        Result<size_t> got = src.Take(std::span<uint8_t>(mf->Ptr(*frame) + in_page, n));
        if (!got.ok()) {
            error = got.error();
            break;
        }
        done += *got;
        if (*got < n)
            break;
    }
    if (done == 0 && error != 0)
        return Error(error);
    *end = offset + done;
    std::lock_guard lock(m_lock);
    if (*end > m_size.load(std::memory_order_relaxed))
        m_size.store(*end, std::memory_order_release);  // the old tail was zeroed above
    return done;
}

void TmpfsPages::Resize(uint64_t size) {
    std::unique_lock io(m_io_lock);
    std::lock_guard lock(m_lock);
    uint64_t old = m_size.load(std::memory_order_relaxed);
    if (size < old) {
        // Frames wholly beyond the new end go (with fallocate(KEEP_SIZE) pages past the old
        // end); the rest of the last page is zeroed so a later extension reads zeros.
        auto it = m_frames.lower_bound(mm::PageUp(size) / kPageSize);
        while (it != m_frames.end())
            FreeLocked(it++);
        ZeroLocked(size, mm::PageUp(size));
        m_size.store(size, std::memory_order_release);
    } else if (size > old) {
        SetSizeLocked(size);
    }
}

Result<void> TmpfsPages::Allocate(uint64_t offset, uint64_t len, bool keep_size) {
    if (len == 0 || offset > kMaxFileSize || len > kMaxFileSize - offset)
        return Error(EFBIG);
    std::unique_lock io(m_io_lock);
    std::lock_guard lock(m_lock);
    uint64_t first = offset / kPageSize, last = mm::PageUp(offset + len) / kPageSize;
    std::vector<uint64_t> missing;
    for (uint64_t i = first; i < last; ++i) {
        if (!m_frames.contains(i))
            missing.push_back(i);
    }
    mm::MemoryFile* mf = memory_file();
    if (!missing.empty()) {
        if (!mf)
            return Error(ENOMEM);
        TRY(m_fs->ReservePages(missing.size()));
        for (size_t k = 0; k < missing.size(); ++k) {
            auto frame = mf->Allocate(1);
            if (!frame.ok()) {
                // All or nothing, as Linux undoes a failed fallocate.
                for (size_t j = 0; j < k; ++j) {
                    mf->DecRef(m_frames[missing[j]]);
                    m_frames.erase(missing[j]);
                }
                m_fs->ReleasePages(missing.size());
                return Error(frame.error());
            }
            m_frames.emplace(missing[k], *frame);
        }
    }
    if (!keep_size && offset + len > m_size.load(std::memory_order_relaxed))
        SetSizeLocked(offset + len);
    return {};
}

void TmpfsPages::PunchHole(uint64_t offset, uint64_t len) {
    if (len == 0 || offset >= kMaxFileSize)
        return;
    uint64_t end = std::min(len, kMaxFileSize - offset) + offset;
    std::unique_lock io(m_io_lock);
    std::lock_guard lock(m_lock);
    uint64_t first_whole = mm::PageUp(offset) / kPageSize;
    uint64_t end_whole = end / kPageSize;
    if (first_whole > end_whole) {
        ZeroLocked(offset, end);  // inside one page
        return;
    }
    ZeroLocked(offset, first_whole * kPageSize);
    ZeroLocked(end_whole * kPageSize, end);
    auto it = m_frames.lower_bound(first_whole);
    while (it != m_frames.end() && it->first < end_whole)
        FreeLocked(it++);
}

Result<int64_t> TmpfsPages::SeekData(int64_t offset) {
    std::shared_lock io(m_io_lock);
    std::lock_guard lock(m_lock);
    uint64_t size = m_size.load(std::memory_order_relaxed);
    if (offset < 0 || static_cast<uint64_t>(offset) >= size)
        return Error(ENXIO);
    auto it = m_frames.lower_bound(static_cast<uint64_t>(offset) / kPageSize);
    if (it == m_frames.end() || it->first * kPageSize >= size)
        return Error(ENXIO);
    return std::max<int64_t>(offset, static_cast<int64_t>(it->first * kPageSize));
}

Result<int64_t> TmpfsPages::SeekHole(int64_t offset) {
    std::shared_lock io(m_io_lock);
    std::lock_guard lock(m_lock);
    uint64_t size = m_size.load(std::memory_order_relaxed);
    if (offset < 0 || static_cast<uint64_t>(offset) >= size)
        return Error(ENXIO);
    uint64_t index = static_cast<uint64_t>(offset) / kPageSize;
    for (auto it = m_frames.lower_bound(index); it != m_frames.end() && it->first == index; ++it)
        ++index;
    uint64_t hole = std::max<uint64_t>(static_cast<uint64_t>(offset), index * kPageSize);
    return static_cast<int64_t>(std::min(hole, size));
}

}  // namespace moat::fs
