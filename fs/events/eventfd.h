#pragma once
// eventfd(2): a 64-bit counter. read takes the whole count (or 1 with EFD_SEMAPHORE) and
// blocks at zero; write adds and blocks while the sum would exceed 2^64-2. Both move exactly
// 8 bytes (EINVAL for a shorter read buffer, for a write of any other size, and for a write
// of 2^64-1).

#include "fs/events/anon_file.h"

#include <mutex>

namespace moat::fs {

class EventFdFile final : public AnonFile {
public:
    static constexpr uint64_t kMax = UINT64_MAX - 1;  // the largest count
    EventFdFile(uint64_t initial, bool semaphore, bool nonblock)
        : AnonFile("eventfd", nonblock), m_count(initial), m_semaphore(semaphore) {}

    Result<size_t> Read(IoDst& dst) override;
    Result<size_t> Write(IoSrc& src) override;
    uint32_t Readiness(uint32_t interest) override;

    // Adds `n` without blocking (the kernel's eventfd_signal, for users inside the sentry).
    void Signal(uint64_t n);

private:
    std::mutex m_lock;
    uint64_t m_count;  // guarded by m_lock
    const bool m_semaphore;
};

}  // namespace moat::fs
