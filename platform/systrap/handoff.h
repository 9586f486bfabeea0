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

// A spin budget that follows how often spinning pays: it grows while the awaited side comes
// back during the spin and halves each time it does not (the other side is slow, or the
// CPUs are busy and spinning only steals time from it). At zero it probes again now and
// then. On a single CPU it stays zero: the other side cannot run while we spin.
class SpinTuner {
public:
    SpinTuner(uint32_t initial, uint32_t step, uint32_t max);
    uint32_t budget() const { return m_budget; }
    void Record(bool came_while_spinning);

private:
    uint32_t m_budget;
    uint32_t m_step;
    uint32_t m_max;
    uint32_t m_idle_count = 0;  // sleeps since the budget reached zero
};

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
