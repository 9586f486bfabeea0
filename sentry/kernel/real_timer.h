#pragma once
// RealTimer: a process's ITIMER_REAL (setitimer(2), alarm(2)): SIGALRM to the thread group
// when it expires, again every `interval` if set. Each arming runs one sentry host thread
// that sleeps until the deadline; re-arming or disarming bumps a generation that ends it.
// The thread holds references to the timer and the group, so either may be dropped first.

#include "sentry/kernel/forward.h"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <utility>

namespace moat::kernel {

class RealTimer : public std::enable_shared_from_this<RealTimer> {
public:
    using Clock = std::chrono::steady_clock;
    using Duration = std::chrono::nanoseconds;

    // Arms the timer for `value` (zero disarms), then every `interval`. Returns the previous
    // {time left, interval}.
    std::pair<Duration, Duration> Set(std::shared_ptr<ThreadGroup> tg, Duration value, Duration interval);
    std::pair<Duration, Duration> Get();

private:
    void Run(std::shared_ptr<ThreadGroup> tg, uint64_t generation);
    std::pair<Duration, Duration> CurrentLocked() const;

    std::mutex m_lock;
    std::condition_variable m_cv;
    uint64_t m_generation = 0;   // guarded by m_lock
    bool m_armed = false;        // guarded by m_lock
    Clock::time_point m_deadline;  // guarded by m_lock
    Duration m_interval{0};      // guarded by m_lock
};

}  // namespace moat::kernel
