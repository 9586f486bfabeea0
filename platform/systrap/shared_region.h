#pragma once
// SharedRegionPool: the memory every stub shares with the sentry, as windows of one memfd.
//
// Each stub needs kSharedSize bytes (mailbox, reply page, one slot per thread), nearly all of
// it never touched. Instead of a memfd per stub, the platform keeps one file and hands out
// windows of it: window 0 is the zygote's, and the zygote maps a new stub's window into the
// stub it forks. The sentry maps each window once and keeps it mapped: a window whose stub is
// gone goes to a free list and is reused as it is (the sentry resets the words that matter),
// so creating a stub costs no memfd, no ftruncate and no mmap. Only slots beyond the first
// few are punched out on release, so that a process that once had many threads does not keep
// their altstacks resident.
//
// Lock order: m_lock is a leaf.

#include "platform/base/host_mapping.h"
#include "platform/base/result.h"
#include "platform/base/unique_fd.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace moat::platform::systrap {

class SharedRegionPool {
public:
    struct Window {
        uint32_t index = 0;
        uint64_t offset = 0;      // in the file
        uint8_t* bytes = nullptr;  // the sentry's mapping, kSharedSize bytes
    };

    [[nodiscard]] static Result<std::shared_ptr<SharedRegionPool>> Create();
    int fd() const { return m_fd.get(); }

    // A free window: a reused one if any, else a new one (window 0 is the zygote's).
    [[nodiscard]] Result<Window> Acquire();
    // The window's stub is gone and nobody reads it any more; `slots_used` slots were used.
    void Release(const Window& window, uint32_t slots_used);

private:
    SharedRegionPool() = default;

    UniqueFd m_fd;
    std::mutex m_lock;
    std::vector<HostMapping> m_windows;  // guarded by m_lock; index = window index
    std::vector<uint32_t> m_free;        // guarded by m_lock
};

}  // namespace moat::platform::systrap
