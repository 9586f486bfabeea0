#include "platform/systrap/handoff.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

namespace moat::platform::systrap {

void FutexWake(std::atomic<uint32_t>& word) {
    ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

void FutexWait(std::atomic<uint32_t>& word, uint32_t value, uint64_t timeout_ns) {
    timespec ts{static_cast<time_t>(timeout_ns / 1000000000), static_cast<long>(timeout_ns % 1000000000)};
    ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT, value, timeout_ns ? &ts : nullptr,
              nullptr, 0);
}

namespace {
bool SingleCpu() {
    static const bool single = ::sysconf(_SC_NPROCESSORS_ONLN) <= 1;
    return single;
}
// With the budget at zero, spin again after this many sleeps to see whether it pays now.
constexpr uint32_t kProbeAfter = 256;
}  // namespace

SpinTuner::SpinTuner(uint32_t initial, uint32_t step, uint32_t max)
    : m_budget(SingleCpu() ? 0 : initial), m_step(step), m_max(SingleCpu() ? 0 : max) {}

void SpinTuner::Record(bool came_while_spinning) {
    if (m_max == 0)
        return;
    if (came_while_spinning) {
        if (m_budget > 0)
            m_budget = m_budget + m_step > m_max ? m_max : m_budget + m_step;
        return;
    }
    if (m_budget > 0) {
        m_budget /= 2;
        if (m_budget < m_step)
            m_budget = 0;
        m_idle_count = 0;
    } else if (++m_idle_count >= kProbeAfter) {
        m_budget = m_step;
        m_idle_count = 0;
    }
}

uint64_t NowNs() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace moat::platform::systrap
