#include "sentry/kernel/timer_queue.h"

namespace moat::kernel {

TimerQueue::~TimerQueue() {
    {
        std::lock_guard lock(m_lock);
        m_stop = true;
        m_cv.notify_all();
    }
    if (m_thread.joinable())
        m_thread.join();
}

TimerQueue::Key TimerQueue::Schedule(Clock::time_point when, Callback fn) {
    std::lock_guard lock(m_lock);
    // Started on first use: a sandbox that never arms a timer never pays for the thread.
    if (!m_thread.joinable() && !m_stop)
        m_thread = std::thread([this] { Run(); });
    Key key{when, m_next_id++};
    bool earliest = m_entries.empty() || key < m_entries.begin()->first;
    m_entries.emplace(key, std::move(fn));
    if (earliest)
        m_cv.notify_all();
    return key;
}

bool TimerQueue::Cancel(const Key& key) {
    std::lock_guard lock(m_lock);
    return m_entries.erase(key) > 0;
}

size_t TimerQueue::size() const {
    std::lock_guard lock(m_lock);
    return m_entries.size();
}

void TimerQueue::Run() {
    std::unique_lock lock(m_lock);
    while (!m_stop) {
        if (m_entries.empty()) {
            m_cv.wait(lock);
            continue;
        }
        auto first = m_entries.begin();
        if (first->first.first > Clock::now()) {
            // A copy: the entry may be cancelled (and freed) while we wait.
            const auto deadline = first->first.first;
            m_cv.wait_until(lock, deadline);
            continue;  // woken early (an earlier entry, a cancellation) or due: look again
        }
        Callback fn = std::move(first->second);
        m_entries.erase(first);
        lock.unlock();
        fn();
        fn = nullptr;  // drop what it captured before taking the lock again
        lock.lock();
    }
}

}  // namespace moat::kernel
