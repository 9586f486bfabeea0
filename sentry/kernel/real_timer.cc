#include "sentry/kernel/real_timer.h"

#include "sentry/kernel/signals.h"
#include "sentry/kernel/thread_group.h"

#include <thread>

namespace moat::kernel {

std::pair<RealTimer::Duration, RealTimer::Duration> RealTimer::CurrentLocked() const {
    if (!m_armed)
        return {Duration{0}, Duration{0}};
    auto left = std::chrono::duration_cast<Duration>(m_deadline - Clock::now());
    // An armed timer never reports zero time left (Linux rounds up the same way).
    return {left.count() > 0 ? left : Duration{1000}, m_interval};
}

std::pair<RealTimer::Duration, RealTimer::Duration> RealTimer::Get() {
    std::lock_guard lock(m_lock);
    return CurrentLocked();
}

std::pair<RealTimer::Duration, RealTimer::Duration> RealTimer::Set(std::shared_ptr<ThreadGroup> tg, Duration value,
                                                                   Duration interval) {
    std::lock_guard lock(m_lock);
    auto old = CurrentLocked();
    ++m_generation;
    m_cv.notify_all();
    m_armed = value.count() > 0;
    m_interval = interval;
    if (m_armed) {
        m_deadline = Clock::now() + value;
        std::thread([self = shared_from_this(), tg = std::move(tg), gen = m_generation] { self->Run(tg, gen); })
            .detach();
    }
    return old;
}

void RealTimer::Run(std::shared_ptr<ThreadGroup> tg, uint64_t generation) {
    std::unique_lock lock(m_lock);
    for (;;) {
        if (m_cv.wait_until(lock, m_deadline, [&] { return m_generation != generation; }))
            return;  // re-armed or disarmed
        if (tg->exiting()) {
            m_armed = false;
            return;
        }
        if (m_interval.count() > 0)
            m_deadline += m_interval;
        else
            m_armed = false;
        bool again = m_armed;
        lock.unlock();
        (void)SendGroupSignal(*tg, MakeSigInfo(SIGALRM, SI_KERNEL));
        if (!again)
            return;
        lock.lock();
        if (m_generation != generation)
            return;
    }
}

}  // namespace moat::kernel
