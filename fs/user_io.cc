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

Result<size_t> UserIoDst::Put(std::span<const uint8_t> src) {
    size_t done = 0;
    while (done < src.size() && m_remaining > 0) {
        while (m_seg < m_segs.size() && m_seg_off == m_segs[m_seg].len) {
            ++m_seg;
            m_seg_off = 0;
        }
        if (m_seg >= m_segs.size())
            break;
        auto& seg = m_segs[m_seg];
        size_t n = std::min(src.size() - done, seg.len - m_seg_off);
        uint64_t addr = seg.addr.get() + m_seg_off;
        auto r = m_mm.CopyOut(mm::UserAddr(addr), src.data() + done, n);
        size_t copied = n;
        if (!r.ok()) {
            copied = CopyPartial(addr, n, [&](uint64_t a, size_t off, size_t len) {
                return m_mm.CopyOut(mm::UserAddr(a), src.data() + done + off, len);
            });
        }
        done += copied;
        m_seg_off += copied;
        m_remaining -= copied;
        if (copied < n) {
            if (done == 0)
                return Error(EFAULT);
            break;
        }
    }
    return done;
}

UserIoSrc::UserIoSrc(mm::MemoryManager& mm, std::vector<UserSegment> segs) : m_mm(mm), m_segs(std::move(segs)) {
    for (auto& s : m_segs)
        m_remaining += s.len;
}

Result<size_t> UserIoSrc::Take(std::span<uint8_t> dst) {
    size_t done = 0;
    while (done < dst.size() && m_remaining > 0) {
        while (m_seg < m_segs.size() && m_seg_off == m_segs[m_seg].len) {
            ++m_seg;
            m_seg_off = 0;
        }
        if (m_seg >= m_segs.size())
            break;
        auto& seg = m_segs[m_seg];
        size_t n = std::min(dst.size() - done, seg.len - m_seg_off);
        uint64_t addr = seg.addr.get() + m_seg_off;
        auto r = m_mm.CopyIn(mm::UserAddr(addr), dst.data() + done, n);
        size_t copied = n;
        if (!r.ok()) {
            copied = CopyPartial(addr, n, [&](uint64_t a, size_t off, size_t len) {
                return m_mm.CopyIn(mm::UserAddr(a), dst.data() + done + off, len);
            });
        }
        done += copied;
        m_seg_off += copied;
        m_remaining -= copied;
        if (copied < n) {
            if (done == 0)
                return Error(EFAULT);
            break;
        }
    }
    return done;
}

}  // namespace moat::fs
