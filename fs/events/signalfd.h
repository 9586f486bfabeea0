#pragma once
// signalfd(2): reading takes pending signals in the file's mask — the reader's own pending
// set first, then its process's — as struct signalfd_siginfo records (128 bytes each; EINVAL
// for a smaller buffer). Like Linux, it looks at whichever task reads or polls it, and the
// signals must be blocked by that thread or they are delivered normally first.
// The kernel side is two accessors: ThreadGroup::signal_lock()/pending sets (to dequeue) and
// ThreadGroup::signalfd_events() (notified whenever a signal becomes pending).

#include "fs/events/anon_file.h"

#include <atomic>

namespace moat::fs {

class SignalFdFile final : public AnonFile {
public:
    SignalFdFile(uint64_t mask, bool nonblock) : AnonFile("signalfd", nonblock), m_mask(mask) {}

    uint64_t mask() const { return m_mask.load(); }
    void set_mask(uint64_t mask) { m_mask.store(mask); }

    Result<size_t> Read(IoDst& dst) override;
    uint32_t Readiness(uint32_t interest) override;
    // The polling task's process's queue (null outside a task).
    std::shared_ptr<kernel::EventQueue> event_queue() override;

private:
    std::atomic<uint64_t> m_mask;
};

}  // namespace moat::fs
