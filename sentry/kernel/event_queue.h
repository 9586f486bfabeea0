#pragma once
// EventQueue: readiness notifications, as Linux's wait_queue_head with custom wake functions
// (what poll, select and epoll hang on a file). A file whose readiness can change owns one and
// calls Notify(events) wherever that may have happened; a waiter — a task blocked in poll, an
// epoll item — is called back and re-checks the file's readiness later, outside every lock.
//
// Lives in the kernel (not fs/) because kernel state owns some of these queues too: a thread
// group's pending signals wake signalfds.
//
// Rules for callbacks (Waiter::OnEvent): they run with the notifier's locks and this queue's
// lock held, so they only record and wake (take leaf locks, notify other queues, wake tasks);
// they never evaluate a file's readiness. Lock order: notifier's lock → EventQueue::m_lock →
// the waiter's own leaf lock → another EventQueue (nested epoll) → Task's block lock.
// A waiter removed with Remove() gets no callback after Remove returns.

#include <cstdint>
#include <mutex>
#include <vector>

namespace moat::kernel {

class EventQueue {
public:
    class Waiter {
    public:
        // `events`: the POLL* bits that may have become ready; 0 means "anything".
        virtual void OnEvent(uint32_t events) = 0;

    protected:
        ~Waiter() = default;
    };

    void Add(Waiter* waiter) {
        std::lock_guard lock(m_lock);
        m_waiters.push_back(waiter);
    }
    void Remove(Waiter* waiter) {
        std::lock_guard lock(m_lock);
        for (auto it = m_waiters.begin(); it != m_waiters.end(); ++it) {
            if (*it == waiter) {
                m_waiters.erase(it);
                return;
            }
        }
    }
    void Notify(uint32_t events = 0) {
        std::lock_guard lock(m_lock);
        for (Waiter* w : m_waiters)
            w->OnEvent(events);
    }
    bool empty() {
        std::lock_guard lock(m_lock);
        return m_waiters.empty();
    }

private:
    std::mutex m_lock;
    std::vector<Waiter*> m_waiters;  // guarded by m_lock
};

}  // namespace moat::kernel
