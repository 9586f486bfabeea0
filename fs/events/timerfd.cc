#include "fs/events/timerfd.h"

#include <poll.h>

#include <cstring>

namespace moat::fs {

TimerFdFile::~TimerFdFile() {
    {
        std::lock_guard lock(m_lock);
        m_stop = true;
        m_cv.notify_all();
    }
    if (m_notifier.joinable())
        m_notifier.join();
}

bool TimerFdFile::UpdateLocked(Clock::time_point now) {
    if (!m_armed || now < m_next)
        return false;
    if (m_interval.count() > 0) {
        auto overruns = static_cast<uint64_t>((now - m_next) / m_interval);
        m_ticks += overruns + 1;
        m_next += m_interval * static_cast<int64_t>(overruns + 1);
    } else {
        m_ticks += 1;
        m_armed = false;
    }
    return true;
}

TimerFdFile::Setting TimerFdFile::CurrentLocked(Clock::time_point now) {
    UpdateLocked(now);
    Setting s;
    s.interval = m_interval;
    if (m_armed)
        s.value = std::chrono::duration_cast<Duration>(m_next - now);
    return s;
}

TimerFdFile::Setting TimerFdFile::Set(bool armed, Duration first, Duration interval) {
    std::lock_guard lock(m_lock);
    auto now = Clock::now();
    Setting old = CurrentLocked(now);
    m_armed = armed;
    m_next = now + first;
    m_interval = interval;
    m_ticks = 0;
    if (m_armed && !m_notifier.joinable())
        m_notifier = std::thread([this] { RunNotifier(); });
    m_cv.notify_all();
    return old;
}

TimerFdFile::Setting TimerFdFile::Get() {
    std::lock_guard lock(m_lock);
    return CurrentLocked(Clock::now());
}

void TimerFdFile::RunNotifier() {
    std::unique_lock lock(m_lock);
    while (!m_stop) {
        if (!m_armed) {
            m_cv.wait(lock);
            continue;
        }
        auto next = m_next;
        if (m_cv.wait_until(lock, next) == std::cv_status::timeout || Clock::now() >= m_next) {
            if (UpdateLocked(Clock::now()))
                m_events->Notify(POLLIN | POLLRDNORM);
        }
    }
}

Result<size_t> TimerFdFile::Read(IoDst& dst) {
    if (dst.remaining() < sizeof(uint64_t))
        return Error(EINVAL);
    uint64_t ticks = 0;
    auto take = [&] {
        std::lock_guard lock(m_lock);
        UpdateLocked(Clock::now());
        ticks = m_ticks;
        m_ticks = 0;
        return ticks > 0;
    };
    TRY(WaitUntil(take));
    uint8_t bytes[sizeof(ticks)];
    std::memcpy(bytes, &ticks, sizeof(ticks));
    size_t put = TRY(dst.Put(bytes));
    if (put != sizeof(ticks))
        return Error(EFAULT);
    return put;
}

uint32_t TimerFdFile::Readiness(uint32_t) {
    std::lock_guard lock(m_lock);
    UpdateLocked(Clock::now());
    return m_ticks > 0 ? POLLIN | POLLRDNORM : 0;
}

}  // namespace moat::fs
