#include "fs/events/eventfd.h"

#include <poll.h>

#include <cstring>

namespace moat::fs {

Result<size_t> EventFdFile::Read(IoDst& dst) {
    if (dst.remaining() < sizeof(uint64_t))
        return Error(EINVAL);
    uint64_t value = 0;
    for (;;) {
        {
            std::lock_guard lock(m_lock);
            if (m_count > 0) {
                value = m_semaphore ? 1 : m_count;
                m_count -= value;
                break;
            }
        }
        TRY(WaitUntil([&] {
            std::lock_guard lock(m_lock);
            return m_count > 0;
        }));
    }
    m_events->Notify(POLLOUT | POLLWRNORM);
    uint8_t bytes[sizeof(value)];
    std::memcpy(bytes, &value, sizeof(value));
    size_t put = TRY(dst.Put(bytes));
    if (put != sizeof(value))
        return Error(EFAULT);  // the count is gone, as on Linux
    return put;
}

Result<size_t> EventFdFile::Write(IoSrc& src) {
    // Exactly 8 bytes since Linux 6.9 (a longer write used to move the first 8).
    if (src.remaining() != sizeof(uint64_t))
        return Error(EINVAL);
    uint8_t bytes[sizeof(uint64_t)];
    size_t took = TRY(src.Take(bytes));
    if (took != sizeof(bytes))
        return Error(EFAULT);
    uint64_t value;
    std::memcpy(&value, bytes, sizeof(value));
    if (value == UINT64_MAX)
        return Error(EINVAL);
    for (;;) {
        {
            std::lock_guard lock(m_lock);
            if (kMax - m_count >= value) {
                m_count += value;
                break;
            }
        }
        TRY(WaitUntil([&] {
            std::lock_guard lock(m_lock);
            return kMax - m_count >= value;
        }));
    }
    m_events->Notify(POLLIN | POLLRDNORM);  // even for 0: an edge-triggered watcher sees it
    return sizeof(value);
}

uint32_t EventFdFile::Readiness(uint32_t) {
    std::lock_guard lock(m_lock);
    uint32_t mask = 0;
    if (m_count > 0)
        mask |= POLLIN | POLLRDNORM;
    if (m_count == UINT64_MAX)
        mask |= POLLERR;
    if (m_count < kMax)
        mask |= POLLOUT | POLLWRNORM;
    return mask;
}

void EventFdFile::Signal(uint64_t n) {
    {
        std::lock_guard lock(m_lock);
        m_count = kMax - m_count >= n ? m_count + n : kMax;
    }
    m_events->Notify(POLLIN | POLLRDNORM);
}

}  // namespace moat::fs
