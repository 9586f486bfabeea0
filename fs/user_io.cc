#include "fs/user_io.h"

#include <sys/uio.h>

#include <algorithm>

namespace moat::fs {

namespace {
constexpr uint64_t kUioMaxIov = 1024;

// Copies with page granularity after a fault, so a read into a buffer whose tail is unmapped
// reports the bytes that did land, as Linux does.
template <typename Copy>
size_t CopyPartial(uint64_t addr, size_t len, Copy&& copy) {
    size_t done = 0;
    while (done < len) {
        uint64_t a = addr + done;
        size_t n = std::min<uint64_t>(len - done, mm::kPageSize - (a & (mm::kPageSize - 1)));
        if (!copy(a, done, n).ok())
            break;
        done += n;
    }
    return done;
}
}  // namespace

bool UserRangeOk(mm::UserAddr addr, uint64_t len) {
    uint64_t end;
    if (__builtin_add_overflow(addr.get(), len, &end))
        return false;
    return end <= kUserAddressEnd;
}

Result<std::vector<UserSegment>> ImportBuffer(mm::UserAddr buf, uint64_t len) {
    if (!UserRangeOk(buf, len))
        return Error(EFAULT);
    std::vector<UserSegment> segs;
    segs.push_back({buf, static_cast<size_t>(std::min<uint64_t>(len, kMaxRwCount))});
    return segs;
}

Result<std::vector<UserSegment>> ImportIovecs(mm::MemoryManager& mm, mm::UserAddr iov, uint64_t iovcnt) {
    if (iovcnt > kUioMaxIov)
        return Error(EINVAL);
    std::vector<UserSegment> segs;
    if (iovcnt == 0)
        return segs;
    std::vector<struct iovec> raw(iovcnt);
    TRY(mm.CopyIn(iov, raw.data(), iovcnt * sizeof(struct iovec)));
    segs.reserve(iovcnt);
    uint64_t total = 0;
    for (const auto& v : raw) {
        uint64_t len = v.iov_len;
        if (static_cast<int64_t>(len) < 0)
            return Error(EINVAL);
        mm::UserAddr base(reinterpret_cast<uint64_t>(v.iov_base));
        if (!UserRangeOk(base, len))
            return Error(EFAULT);
        if (len > kMaxRwCount - total)
            len = kMaxRwCount - total;
        total += len;
        segs.push_back({base, static_cast<size_t>(len)});
    }
    return segs;
}

UserIoDst::UserIoDst(mm::MemoryManager& mm, std::vector<UserSegment> segs) : m_mm(mm), m_segs(std::move(segs)) {
    for (auto& s : m_segs)
        m_remaining += s.len;
}

namespace {
// Moves up to `size` bytes through the segment list at (seg, seg_off); `copy(addr, buf_off, len)`
// copies one piece between the app and the sentry buffer. Bytes moved, or EFAULT if none.
template <typename Copy>
Result<size_t> MoveThroughSegments(const std::vector<UserSegment>& segs, size_t& seg_index, size_t& seg_off,
                                   size_t& remaining, size_t size, Copy copy) {
    size_t done = 0;
    while (done < size && remaining > 0) {
        while (seg_index < segs.size() && seg_off == segs[seg_index].len) {
            ++seg_index;
            seg_off = 0;
        }
        if (seg_index >= segs.size())
            break;
        const auto& seg = segs[seg_index];
        size_t n = std::min(size - done, seg.len - seg_off);
        uint64_t addr = seg.addr.get() + seg_off;
        size_t copied = n;
        if (!copy(addr, done, n).ok()) {
            copied = CopyPartial(addr, n, [&](uint64_t a, size_t off, size_t len) { return copy(a, done + off, len); });
        }
        done += copied;
        seg_off += copied;
        remaining -= copied;
        if (copied < n) {
            if (done == 0)
                return Error(EFAULT);
            break;
        }
    }
    return done;
}
}  // namespace

Result<size_t> UserIoDst::Put(std::span<const uint8_t> src) {
    return MoveThroughSegments(m_segs, m_seg, m_seg_off, m_remaining, src.size(), [&](uint64_t a, size_t off, size_t len) {
        return m_mm.CopyOut(mm::UserAddr(a), src.data() + off, len);
    });
}

UserIoSrc::UserIoSrc(mm::MemoryManager& mm, std::vector<UserSegment> segs) : m_mm(mm), m_segs(std::move(segs)) {
    for (auto& s : m_segs)
        m_remaining += s.len;
}

Result<size_t> UserIoSrc::Take(std::span<uint8_t> dst) {
    return MoveThroughSegments(m_segs, m_seg, m_seg_off, m_remaining, dst.size(), [&](uint64_t a, size_t off, size_t len) {
        return m_mm.CopyIn(mm::UserAddr(a), dst.data() + off, len);
    });
}

}  // namespace moat::fs
