#pragma once
// TimerQueue: the kernel's one timer thread. Every armed timer of the sandbox (itimers, POSIX
// timers) is an entry here, ordered by the host's steady clock; the thread sleeps until the
// earliest entry is due and runs its callback. One thread for all timers: an armed timer
// costs a map entry, not a host thread, and its expiry needs no task to be running.
//
// Callbacks run on the queue's thread without the queue's lock and must not block (sending a
// signal is fine). An entry is cancelled by its key; a callback that raced with its
// cancellation runs anyway, so owners check a generation of their own.
//
// Lock order: a timer's own lock → TimerQueue::m_lock (a leaf).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace moat::kernel {

class TimerQueue {
public:
    using Clock = std::chrono::steady_clock;
    using Callback = std::function<void()>;
    using Key = std::pair<Clock::time_point, uint64_t>;

    TimerQueue() = default;
    ~TimerQueue();
    TimerQueue(const TimerQueue&) = delete;
    TimerQueue& operator=(const TimerQueue&) = delete;

    // Runs `fn` on the queue's thread at `when` (or as soon after as the host allows).
    Key Schedule(Clock::time_point when, Callback fn);
    // Removes an entry that has not run yet; false if it ran (or is running) already.
    bool Cancel(const Key& key);
    size_t size() const;

private:
    void Run();

    mutable std::mutex m_lock;
    std::condition_variable m_cv;
    std::map<Key, Callback> m_entries;  // guarded by m_lock
    uint64_t m_next_id = 0;              // guarded by m_lock
    bool m_stop = false;                 // guarded by m_lock
    std::thread m_thread;                // started by the first Schedule; guarded by m_lock
};

}  // namespace moat::kernel
