#include "platform/systrap/handoff.h"

#include <linux/futex.h>

#include <algorithm>
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
}  // namespace

LatencyTuner::LatencyTuner(uint64_t max_ns)
    : m_max_ns(SingleCpu() ? 0 : max_ns), m_average_ns(kFloorNs), m_budget_ns(SingleCpu() ? 0 : 4 * kFloorNs) {}

void LatencyTuner::Record(uint64_t observed_ns) {
    if (m_max_ns == 0)
        return;
    // One very long wait (a sleep, a blocking read) counts as a long one, not as forever.
    uint64_t sample = std::min(observed_ns, 4 * m_max_ns);
    m_average_ns = m_average_ns - m_average_ns / 8 + sample / 8;
    if (m_average_ns > m_max_ns)
        m_budget_ns = 0;
    else
        m_budget_ns = std::min(m_max_ns, std::max(kFloorNs, 4 * m_average_ns));
}

uint64_t PauseNs() {
    static const uint64_t ns = [] {
        constexpr int kRounds = 4096;
        uint64_t start = NowNs();
        for (int i = 0; i < kRounds; ++i)
            CpuRelax();
        uint64_t per = (NowNs() - start) / kRounds;
        return per > 0 ? per : 1;
    }();
    return ns;
}

uint64_t NowNs() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace moat::platform::systrap
