#pragma once
// timerfd(2): a timer whose expirations are read as a 64-bit count. Times are kept on the
// sentry's monotonic clock; the syscall layer converts absolute times of the timer's clock
// (TFD_TIMER_ABSTIME) once, when the timer is set. The expiration count is computed from the
// clock whenever it is looked at; a helper thread, started when the timer is first armed and
// joined when the file goes, only wakes waiters (poll, epoll, blocked reads) at expiry.

#include "fs/events/anon_file.h"

#include <time.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace moat::fs {

class TimerFdFile final : public AnonFile {
public:
    using Clock = std::chrono::steady_clock;
    using Duration = std::chrono::nanoseconds;
    struct Setting {
        Duration value{0};     // time to the next expiry; 0 when disarmed
        Duration interval{0};  // 0: one-shot
    };

    TimerFdFile(clockid_t clock, bool nonblock) : AnonFile("timerfd", nonblock), m_clock(clock) {}
    ~TimerFdFile() override;

    clockid_t clock() const { return m_clock; }
    // timerfd_settime: `armed` false disarms; otherwise the first expiry is `first` from now
    // (zero or negative: already expired). Resets the expiration count; returns the old setting.
    Setting Set(bool armed, Duration first, Duration interval);
    // timerfd_gettime.
    Setting Get();

    Result<size_t> Read(IoDst& dst) override;
    uint32_t Readiness(uint32_t interest) override;

private:
    // Counts expirations up to `now` (m_lock held); true if there were new ones.
    bool UpdateLocked(Clock::time_point now);
    Setting CurrentLocked(Clock::time_point now);
    void RunNotifier();

    const clockid_t m_clock;
    std::mutex m_lock;
    std::condition_variable m_cv;  // the notifier sleeps on it
    bool m_armed = false;          // guarded by m_lock
    Clock::time_point m_next;      // guarded by m_lock: the next expiry
    Duration m_interval{0};        // guarded by m_lock
    uint64_t m_ticks = 0;          // guarded by m_lock: expirations not yet read
    bool m_stop = false;           // guarded by m_lock
    std::thread m_notifier;        // started under m_lock
};

}  // namespace moat::fs
