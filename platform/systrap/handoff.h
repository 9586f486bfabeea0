#pragma once
// The sentry's side of the hand-off words in the shared region: futexes on memory shared
// with another process (never FUTEX_PRIVATE_FLAG), and a wait that spins briefly before it
// sleeps.
//
// Spinning pays when the other side answers within a few microseconds (a system call that
// the sentry serves at once, the stub's helper mapping a page); sleeping keeps an idle or
// long-running sandbox from burning a CPU. The spin is bounded in time, never in
// iterations, so that a slow or preempted CPU does not stretch it.

#include <atomic>
#include <cstdint>

namespace moat::platform::systrap {

void FutexWake(std::atomic<uint32_t>& word);
// Sleeps while `word` holds `value` (or until woken, or `timeout_ns`, 0 = none).
void FutexWait(std::atomic<uint32_t>& word, uint32_t value, uint64_t timeout_ns = 0);

// Waits until `done(word)` holds. Spins up to `spin_ns`, then sleeps in futex_wait with the
// Dekker-style `sleeping` flag raised, so that the other side wakes us only when we sleep.
// True when the wait ended during the spin.
template <typename Done>
bool SpinThenWait(std::atomic<uint32_t>& word, std::atomic<uint32_t>* sleeping, uint64_t spin_ns, Done done);

// The clock the spin is measured with (CLOCK_MONOTONIC through the vDSO).
uint64_t NowNs();

inline void CpuRelax() { __builtin_ia32_pause(); }

// A spin budget from measured latency: how long the other side took to answer, lately (an
// exponential average of each wait, whether we spun or slept through it). Spinning pays when
// that is short: we spin for a few times the usual answer time, at least kFloorNs, at most
// `max_ns`; when the usual answer takes longer than `max_ns` (a blocking call, a busy CPU that
// preempts the spinner) we do not spin at all. Because sleeping waits are measured too, the
// budget comes back by itself once answers are quick again: no probing, and no state in which
// both sides sleep because the other one did. On a single CPU it is always zero: the other
// side cannot run while we spin.
class LatencyTuner {
public:
    explicit LatencyTuner(uint64_t max_ns);
    uint64_t budget_ns() const { return m_budget_ns; }
    void Record(uint64_t observed_ns);
    uint64_t average_ns() const { return m_average_ns; }

    static constexpr uint64_t kFloorNs = 2000;

private:
    uint64_t m_max_ns;
    uint64_t m_average_ns;
    uint64_t m_budget_ns;
};

// What one `pause` costs on this CPU (measured once), to turn a time budget into the stub's
// iteration count.
uint64_t PauseNs();

template <typename Done>
bool SpinThenWait(std::atomic<uint32_t>& word, std::atomic<uint32_t>* sleeping, uint64_t spin_ns, Done done) {
    uint32_t value = word.load(std::memory_order_acquire);
    if (done(value))
        return true;
    if (spin_ns > 0) {
        uint64_t deadline = NowNs() + spin_ns;
        for (unsigned i = 1;; ++i) {
            CpuRelax();
            value = word.load(std::memory_order_acquire);
            if (done(value))
                return true;
            if (i % 64 == 0 && NowNs() >= deadline)
                break;
        }
    }
    for (;;) {
        if (sleeping)
            sleeping->exchange(1, std::memory_order_seq_cst);
        value = word.load(std::memory_order_seq_cst);
        if (done(value))
            break;
        FutexWait(word, value);
        if (sleeping)
            sleeping->store(0, std::memory_order_relaxed);
        value = word.load(std::memory_order_acquire);
        if (done(value))
            break;
    }
    if (sleeping)
        sleeping->store(0, std::memory_order_relaxed);
    return false;
}

}  // namespace moat::platform::systrap
