#pragma once
// Waiting for readiness: how poll, select, epoll_wait and every blocking read of an fs/events
// file sleep. A FileWaiter hangs one callback on each event queue it watches; a notification
// wakes the task, which then re-evaluates readiness outside every lock (kernel/event_queue.h).

#include "platform/base/result.h"
#include "sentry/kernel/event_queue.h"
#include "sentry/kernel/forward.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace moat::fs {

using Deadline = std::optional<std::chrono::steady_clock::time_point>;

class FileWaiter final : public kernel::EventQueue::Waiter {
public:
    explicit FileWaiter(kernel::Task& task) : m_task(task) {}
    ~FileWaiter();
    FileWaiter(const FileWaiter&) = delete;
    FileWaiter& operator=(const FileWaiter&) = delete;

    // Starts listening on `queue` (null: nothing to listen to). Idempotent per queue.
    void Watch(const std::shared_ptr<kernel::EventQueue>& queue);
    // Blocks until `ready()` (ok), the deadline (ETIMEDOUT), or a signal the task does not
    // block is pending or the task must exit (ERESTARTSYS). `ready()` is checked first.
    Result<void> Wait(const std::function<bool()>& ready, Deadline deadline);

    void OnEvent(uint32_t events) override;

private:
    kernel::Task& m_task;
    std::vector<std::shared_ptr<kernel::EventQueue>> m_queues;
};

// A deadline `ms` milliseconds from now; none for a negative count (wait for ever).
Deadline DeadlineAfterMs(int64_t ms);
// A deadline `sec` seconds and `nsec` nanoseconds from now (both already validated).
Deadline DeadlineAfter(int64_t sec, int64_t nsec);
// Time left until `deadline`, never negative.
std::chrono::nanoseconds TimeLeft(std::chrono::steady_clock::time_point deadline);

}  // namespace moat::fs
