#include "fs/memfd/seals.h"

#include <fcntl.h>

namespace moat::fs {

namespace {
constexpr uint64_t kPage = 4096;
constexpr unsigned kWriteSeals = F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
}  // namespace

unsigned Seals::get() const {
    std::lock_guard lock(m_lock);
    return m_seals;
}

void Seals::Set(unsigned seals) {
    std::lock_guard lock(m_lock);
    m_seals = seals;
}

Result<void> Seals::Add(unsigned seals) {
    if (seals & ~kAll)
        return Error(EINVAL);
    std::lock_guard lock(m_lock);
    if (m_seals & F_SEAL_SEAL)
        return Error(EPERM);
    if ((seals & F_SEAL_WRITE) && !(m_seals & F_SEAL_WRITE) && m_writable_maps > 0)
        return Error(EBUSY);
    m_seals |= seals;
    return {};
}

Result<uint64_t> Seals::WritableLength(uint64_t offset, uint64_t len, uint64_t size) const {
    if (len == 0)
        return uint64_t{0};
    std::lock_guard lock(m_lock);
    if (m_seals & kWriteSeals)
        return Error(EPERM);
    if (!(m_seals & F_SEAL_GROW) || offset + len <= size)
        return len;
    uint64_t boundary = size / kPage * kPage;
    if (boundary <= offset)
        return Error(EPERM);
    return boundary - offset;
}

Result<void> Seals::CheckResize(uint64_t old_size, uint64_t new_size) const {
    std::lock_guard lock(m_lock);
    if ((new_size < old_size && (m_seals & F_SEAL_SHRINK)) || (new_size > old_size && (m_seals & F_SEAL_GROW)))
        return Error(EPERM);
    return {};
}

Result<void> Seals::CheckFallocate(bool punch_hole, uint64_t offset, uint64_t len, uint64_t size) const {
    std::lock_guard lock(m_lock);
    if (punch_hole && (m_seals & kWriteSeals))
        return Error(EPERM);
    if (!punch_hole && (m_seals & F_SEAL_GROW) && offset + len > size)
        return Error(EPERM);
    return {};
}

Result<void> Seals::AddWritableMapping() {
    std::lock_guard lock(m_lock);
    if (m_seals & kWriteSeals)
        return Error(EPERM);
    ++m_writable_maps;
    return {};
}

void Seals::RemoveWritableMapping() {
    std::lock_guard lock(m_lock);
    --m_writable_maps;
}

bool Seals::denies_shared_write() const {
    std::lock_guard lock(m_lock);
    return (m_seals & kWriteSeals) != 0;
}

}  // namespace moat::fs
