#pragma once
// UserIoDst / UserIoSrc: an application buffer or iovec array as an IoDst/IoSrc. All access
// goes through MemoryManager::CopyOut/CopyIn (EFAULT on bad addresses).
//
// ImportIovecs does what Linux's import_iovec does: iovcnt > UIO_MAXIOV (1024) is EINVAL, a
// negative length is EINVAL, a segment outside the user address range is EFAULT, and the total
// is clamped to MAX_RW_COUNT.

#include "fs/io.h"
#include "sentry/mm/memory_manager.h"
#include "sentry/mm/user_addr.h"

#include <vector>

namespace moat::fs {

// The highest user address + 1 on x86-64 with 4-level paging (TASK_SIZE_MAX).
inline constexpr uint64_t kUserAddressEnd = (1ull << 47) - 4096;

struct UserSegment {
    mm::UserAddr addr;
    size_t len = 0;
};

// Linux's access_ok: the range lies within the user address space (mapping is not checked).
bool UserRangeOk(mm::UserAddr addr, uint64_t len);

// Reads iovcnt `struct iovec`s at `iov`.
Result<std::vector<UserSegment>> ImportIovecs(mm::MemoryManager& mm, mm::UserAddr iov, uint64_t iovcnt);
// One buffer as a segment list: EFAULT if outside the user range; `len` clamped to MAX_RW_COUNT.
Result<std::vector<UserSegment>> ImportBuffer(mm::UserAddr buf, uint64_t len);

class UserIoDst final : public IoDst {
public:
    UserIoDst(mm::MemoryManager& mm, std::vector<UserSegment> segs);
    size_t remaining() const override { return m_remaining; }
    Result<size_t> Put(std::span<const uint8_t> src) override;

private:
    mm::MemoryManager& m_mm;
    std::vector<UserSegment> m_segs;
    size_t m_seg = 0, m_seg_off = 0, m_remaining = 0;
};

class UserIoSrc final : public IoSrc {
public:
    UserIoSrc(mm::MemoryManager& mm, std::vector<UserSegment> segs);
    size_t remaining() const override { return m_remaining; }
    Result<size_t> Take(std::span<uint8_t> dst) override;

private:
    mm::MemoryManager& m_mm;
    std::vector<UserSegment> m_segs;
    size_t m_seg = 0, m_seg_off = 0, m_remaining = 0;
};

}  // namespace moat::fs
