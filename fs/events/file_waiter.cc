#include "fs/events/file_waiter.h"

#include "sentry/kernel/task.h"
#include "sentry/kernel/wait_queue.h"

#include <algorithm>
#include <limits>

namespace moat::fs {

FileWaiter::~FileWaiter() {
    for (auto& q : m_queues)
        q->Remove(this);
}

void FileWaiter::Watch(const std::shared_ptr<kernel::EventQueue>& queue) {
    if (!queue || std::find(m_queues.begin(), m_queues.end(), queue) != m_queues.end())
        return;
    m_queues.push_back(queue);
    queue->Add(this);
}

void FileWaiter::OnEvent(uint32_t) { m_task.Wake(); }

Result<void> FileWaiter::Wait(const std::function<bool()>& ready, Deadline deadline) {
    // Signals: a pending one the (possibly just swapped) mask lets through ends the wait too,
    // even if it arrived before the mask changed (ppoll, pselect6).
    bool by_signal = false;
    kernel::WaitQueue unused;  // every wake-up comes through OnEvent
    auto r = m_task.Block(unused, [&] {
        if (ready())
            return true;
        by_signal = m_task.HasDeliverableSignal();
        return by_signal;
    }, deadline);
    if (by_signal)
        return Error(ERESTARTSYS);
    return r;
}

Deadline DeadlineAfterMs(int64_t ms) {
    if (ms < 0)
        return std::nullopt;
    return std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
}

Deadline DeadlineAfter(int64_t sec, int64_t nsec) {
    using namespace std::chrono;
    // Clamp absurd timeouts (years) instead of overflowing the clock.
    constexpr int64_t kMaxSec = int64_t{1} << 32;
    if (sec > kMaxSec)
        return steady_clock::now() + seconds(kMaxSec);
    return steady_clock::now() + seconds(sec) + nanoseconds(nsec);
}

std::chrono::nanoseconds TimeLeft(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - std::chrono::steady_clock::now());
    return std::max(left, std::chrono::nanoseconds(0));
}

}  // namespace moat::fs
