#include "sentry/kernel/interval_timer.h"

#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/kernel/timekeeper.h"
#include "sentry/kernel/usage.h"

#include <algorithm>
#include <limits>

namespace moat::kernel {

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
// A CPU clock is sampled at most this often (Linux checks CPU timers at each tick), and at
// least this often (a process may start more threads while a timer waits).
constexpr auto kMinCpuPoll = std::chrono::milliseconds(1);
constexpr auto kMaxCpuPoll = std::chrono::milliseconds(250);
// A periodic timer finer than this is still counted exactly (its expirations are computed
// from the clock), but the queue runs it no more often: Linux likewise does not re-arm a
// timer whose signal is still pending, and reports the missed ones as overruns.
constexpr auto kMinPeriod = std::chrono::microseconds(100);
constexpr auto kMaxWallWait = std::chrono::seconds(1);

bool IsLive(ThreadGroup& tg, Task* task) {
    auto tasks = tg.tasks();
    return std::find(tasks.begin(), tasks.end(), task) != tasks.end();
}

int64_t CpuNs(const ResourceUsage& u, CpuClockKind kind) {
    uint64_t ns = kind == CpuClockKind::Virt ? u.user_ns : u.user_ns + u.sys_ns;
    return static_cast<int64_t>(std::min<uint64_t>(ns, kMax));
}

}  // namespace

int64_t SaturatingAdd(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? kMax : std::numeric_limits<int64_t>::min();
    return r;
}

TimerClock TimerClock::Wall(Timekeeper& timekeeper, clockid_t id) {
    TimerClock c;
    c.m_timekeeper = &timekeeper;
    c.m_wall_id = id;
    return c;
}

TimerClock TimerClock::ProcessCpu(std::weak_ptr<ThreadGroup> group, CpuClockKind kind) {
    TimerClock c;
    c.m_group = std::move(group);
    c.m_kind = kind;
    return c;
}

TimerClock TimerClock::ThreadCpu(std::weak_ptr<Task> task, CpuClockKind kind) {
    TimerClock c;
    c.m_task = std::move(task);
    c.m_kind = kind;
    return c;
}

std::optional<int64_t> TimerClock::Now() const {
    if (m_timekeeper) {
        auto ts = m_timekeeper->Now(m_wall_id);
        if (!ts.ok())
            return std::nullopt;
        return SaturatingAdd(static_cast<int64_t>(ts.value().tv_sec) * 1'000'000'000, ts.value().tv_nsec);
    }
    if (auto task = m_task.lock()) {
        if (!IsLive(task->thread_group(), task.get()))
            return std::nullopt;
        return CpuNs(TaskUsage(*task), m_kind);
    }
    if (auto group = m_group.lock()) {
        if (group->tasks().empty())
            return std::nullopt;
        return CpuNs(GroupUsage(*group), m_kind);
    }
    return std::nullopt;
}

std::chrono::nanoseconds TimerClock::WaitFor(int64_t delta) const {
    if (delta <= 0)
        return std::chrono::nanoseconds(0);
    if (m_timekeeper) {
        // The realtime clocks follow the host's, which may be stepped: look again each second.
        bool steppable = m_wall_id == CLOCK_REALTIME || m_wall_id == CLOCK_TAI;
        return steppable ? std::min<std::chrono::nanoseconds>(std::chrono::nanoseconds(delta), kMaxWallWait)
                         : std::chrono::nanoseconds(delta);
    }
    int64_t threads = 1;
    if (auto group = m_group.lock())
        threads = std::max<int64_t>(1, static_cast<int64_t>(group->tasks().size()));
    std::chrono::nanoseconds wait(delta / threads);
    return std::clamp<std::chrono::nanoseconds>(wait, kMinCpuPoll, kMaxCpuPoll);
}

std::shared_ptr<IntervalTimer> IntervalTimer::Create(TimerQueue& queue, TimerClock clock, Expire expire, bool notify) {
    return std::shared_ptr<IntervalTimer>(new IntervalTimer(queue, std::move(clock), std::move(expire), notify));
}

IntervalTimer::IntervalTimer(TimerQueue& queue, TimerClock clock, Expire expire, bool notify)
    : m_queue(queue), m_clock(std::move(clock)), m_expire(std::move(expire)), m_notify(notify) {}

IntervalTimer::~IntervalTimer() {
    std::lock_guard lock(m_lock);
    CancelLocked();
}

void IntervalTimer::CancelLocked() {
    if (m_queued)
        m_queue.Cancel(*m_queued);
    m_queued.reset();
}

IntervalTimer::Setting IntervalTimer::CurrentLocked(std::optional<int64_t> now) {
    if (!m_armed)
        return {0, m_interval};
    if (!now)
        return {1, m_interval};  // a stopped clock: armed for ever
    int64_t left = m_deadline - *now;
    if (left > 0)
        return {left, m_interval};
    if (m_interval > 0)  // due, not yet run (or never run: SIGEV_NONE): the next period's
        return {m_interval - (-left) % m_interval, m_interval};
    if (!m_notify) {
        m_armed = false;  // a one-shot SIGEV_NONE timer reads as disarmed once expired
        return {0, 0};
    }
    return {1, 0};  // expired, and the queue has not run it yet: still armed, as Linux says
}

IntervalTimer::Setting IntervalTimer::Get() {
    std::lock_guard lock(m_lock);
    return CurrentLocked(m_clock.Now());
}

IntervalTimer::Setting IntervalTimer::Set(Setting setting, bool absolute) {
    std::lock_guard lock(m_lock);
    std::optional<int64_t> now = m_clock.Now();
    Setting old = CurrentLocked(now);
    CancelLocked();
    ++m_generation;
    m_interval = setting.interval_ns;
    m_armed = setting.value_ns > 0 && now.has_value();
    if (!m_armed)
        return old;
    m_deadline = absolute ? setting.value_ns : SaturatingAdd(*now, setting.value_ns);
    if (m_notify)
        ScheduleLocked(*now, std::chrono::nanoseconds(0));
    return old;
}

void IntervalTimer::ScheduleLocked(int64_t now, std::chrono::nanoseconds min_wait) {
    auto wait = std::max(m_clock.WaitFor(m_deadline - now), min_wait);
    auto base = TimerQueue::Clock::now();
    auto when = wait >= TimerQueue::Clock::time_point::max() - base ? TimerQueue::Clock::time_point::max() : base + wait;
    m_queued = m_queue.Schedule(when, [weak = weak_from_this(), generation = m_generation] {
        if (auto self = weak.lock())
            self->OnDue(generation);
    });
}

void IntervalTimer::OnDue(uint64_t generation) {
    std::unique_lock lock(m_lock);
    if (generation != m_generation || !m_armed)
        return;
    m_queued.reset();
    std::optional<int64_t> now = m_clock.Now();
    if (!now) {
        m_armed = false;  // the clock's process or thread is gone: it never expires
        return;
    }
    if (*now < m_deadline) {  // the clock is behind the host's (slewing; CPU time not spent yet)
        ScheduleLocked(*now, std::chrono::nanoseconds(0));
        return;
    }
    uint64_t count = 1;
    if (m_interval > 0) {
        uint64_t missed = static_cast<uint64_t>(*now - m_deadline) / static_cast<uint64_t>(m_interval);
        count += missed;
        int64_t step;
        if (__builtin_mul_overflow(static_cast<int64_t>(missed + 1), m_interval, &step))
            step = kMax;
        m_deadline = SaturatingAdd(m_deadline, step);
        ScheduleLocked(*now, kMinPeriod);
    } else {
        m_armed = false;
    }
    lock.unlock();
    m_expire(count);
}

}  // namespace moat::kernel
