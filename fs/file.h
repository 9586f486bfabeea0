#pragma once
// File: an open file description (what an fd refers to; shared by dup and fork). It holds
// the offset and status flags; the operations are the file's type's own.
//
// CONTRACT used by other folders (keep these signatures): status_flags(), readable(),
// writable(), mappable(). Everything else is fs/'s to shape.

#include "platform/base/result.h"
#include "sentry/kernel/forward.h"
#include "sentry/mm/mappable.h"

#include <fcntl.h>

#include <atomic>
#include <memory>

namespace moat::fs {

class File {
public:
    explicit File(int status_flags) : m_status_flags(status_flags) {}
    virtual ~File() = default;

    // O_ACCMODE bits plus O_APPEND, O_NONBLOCK, O_DIRECT, O_NOATIME, O_PATH… as open(2) set them.
    int status_flags() const { return m_status_flags.load(std::memory_order_relaxed); }
    void set_status_flags(int flags) { m_status_flags.store(flags, std::memory_order_relaxed); }
    bool readable() const { return (status_flags() & O_PATH) == 0 && (status_flags() & O_ACCMODE) != O_WRONLY; }
    bool writable() const { return (status_flags() & O_PATH) == 0 && (status_flags() & O_ACCMODE) != O_RDONLY; }

    // Pages for mmap; null means the file cannot be mapped (mmap gives ENODEV).
    virtual std::shared_ptr<mm::Mappable> mappable() { return nullptr; }

private:
    std::atomic<int> m_status_flags;
};

}  // namespace moat::fs
