#pragma once
// IntervalTimer: one armed-or-not timer on one clock — the engine under setitimer(2)'s three
// timers and every POSIX timer (process_timers.h). It keeps a deadline on its clock and an
// interval, and waits on the kernel's TimerQueue (timer_queue.h), so an expiry needs no task
// to be running.
//
// Clocks (TimerClock): the wall clocks the Timekeeper serves (REALTIME, MONOTONIC, BOOTTIME,
// TAI), and CPU-time clocks of a process or a thread, read from the platform's per-thread CPU
// time (usage.h). A CPU clock cannot be waited on directly: the timer wakes when the clock
// could have reached the deadline if every live thread of the process ran flat out, samples
// it, and waits again for what is left (at least 1 ms apart, like a kernel tick).
//
// Locks: IntervalTimer::m_lock → (the clock's reads: UsageAccount → ThreadGroup → Task
// context) and → TimerQueue::m_lock. The expiry callback runs without the timer's lock.

#include "sentry/kernel/forward.h"
#include "sentry/kernel/timer_queue.h"

#include <time.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

namespace moat::kernel {

class Timekeeper;

enum class CpuClockKind {
    Prof,   // user + system time (ITIMER_PROF, CPUCLOCK_PROF)
    Virt,   // user time only (ITIMER_VIRTUAL, CPUCLOCK_VIRT)
    Sched,  // the runtime (CLOCK_*_CPUTIME_ID); the same as Prof here
};

class TimerClock {
public:
    // REALTIME, MONOTONIC, BOOTTIME or TAI.
    static TimerClock Wall(Timekeeper& timekeeper, clockid_t id);
    static TimerClock ProcessCpu(std::weak_ptr<ThreadGroup> group, CpuClockKind kind);
    static TimerClock ThreadCpu(std::weak_ptr<Task> task, CpuClockKind kind);

    bool is_cpu() const { return m_timekeeper == nullptr; }
    // The clock's value in ns; nullopt once it can never advance again (its process or
    // thread has ended).
    std::optional<int64_t> Now() const;
    // How long, in host steady time, until the clock may have advanced by `delta` ns.
    std::chrono::nanoseconds WaitFor(int64_t delta) const;

private:
    TimerClock() = default;
    Timekeeper* m_timekeeper = nullptr;
    clockid_t m_wall_id = CLOCK_MONOTONIC;
    std::weak_ptr<ThreadGroup> m_group;  // a process CPU clock
    std::weak_ptr<Task> m_task;          // a thread CPU clock
    CpuClockKind m_kind = CpuClockKind::Sched;
};

int64_t SaturatingAdd(int64_t a, int64_t b);

class IntervalTimer : public std::enable_shared_from_this<IntervalTimer> {
public:
    // Called on the TimerQueue's thread with the number of expirations since the last call
    // (more than one when the host ran the queue late or the interval is finer than it).
    using Expire = std::function<void(uint64_t count)>;
    struct Setting {
        int64_t value_ns = 0;     // time left until the next expiry; 0: disarmed
        int64_t interval_ns = 0;  // 0: one-shot
    };

    // `notify` false: nobody is told of expiries (SIGEV_NONE), so nothing is queued and the
    // state is computed when read.
    static std::shared_ptr<IntervalTimer> Create(TimerQueue& queue, TimerClock clock, Expire expire,
                                                 bool notify = true);
    ~IntervalTimer();

    // Arms the timer (value > 0) or disarms it; with `absolute`, value is a time on the clock
    // and one already past expires at once. Returns the previous setting.
    Setting Set(Setting setting, bool absolute = false);
    Setting Get();
    void Disarm() { (void)Set(Setting{}); }

private:
    IntervalTimer(TimerQueue& queue, TimerClock clock, Expire expire, bool notify);
    Setting CurrentLocked(std::optional<int64_t> now);
    void ScheduleLocked(int64_t now, std::chrono::nanoseconds min_wait);
    void CancelLocked();
    void OnDue(uint64_t generation);

    TimerQueue& m_queue;
    const TimerClock m_clock;
    const Expire m_expire;
    const bool m_notify;

    std::mutex m_lock;
    uint64_t m_generation = 0;  // guarded by m_lock: bumped by every Set
    bool m_armed = false;       // guarded by m_lock
    int64_t m_deadline = 0;     // guarded by m_lock: on m_clock
    int64_t m_interval = 0;     // guarded by m_lock
    std::optional<TimerQueue::Key> m_queued;  // guarded by m_lock
};

}  // namespace moat::kernel
