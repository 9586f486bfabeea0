#include "sentry/loader/vdso/vvar_writer.h"

#include <algorithm>
#include <cmath>

namespace moat::loader {
namespace {

uint64_t MultFor(double ns_per_tick) {
    double m = std::ldexp(ns_per_tick, MOAT_VVAR_SHIFT);
    return m < 1 ? 1 : static_cast<uint64_t>(std::llround(m));
}

// Store-load barrier: the odd sequence number is globally visible before the TSC is read
// (MFENCE;LFENCE before RDTSC, as the SDM prescribes for ordering RDTSC after stores).
inline void StoreFence() { __asm__ __volatile__("mfence" ::: "memory"); }
inline void CompilerBarrier() { __asm__ __volatile__("" ::: "memory"); }

}  // namespace

VvarWriter::VvarWriter(moat_vvar* page) : m_page(page) {
    m_page->magic = MOAT_VVAR_MAGIC;
    m_page->use_syscall = 1;
    for (auto& c : m_page->clocks)
        c.shift = MOAT_VVAR_SHIFT;
}

void VvarWriter::SetUseSyscall(bool use_syscall) {
    uint32_t seq = m_page->seq;
    m_page->seq = seq + 1;
    StoreFence();
    m_page->use_syscall = use_syscall ? 1 : 0;
    CompilerBarrier();
    m_page->seq = seq + 2;
}

void VvarWriter::Publish(const VvarUpdate& update) {
    // Decide each clock's new rate and step outside the write section, so that readers
    // spin only for a few stores.
    uint64_t mult[MOAT_VVAR_NCLOCKS];
    int64_t step[MOAT_VVAR_NCLOCKS];
    for (int i = 0; i < MOAT_VVAR_NCLOCKS; ++i) {
        const HostClockReading& host = update.clocks[i];
        step[i] = 0;
        m_last_stepped[i] = false;
        if (!m_published) {
            m_last_error_ns[i] = 0;
            mult[i] = MultFor(host.ns_per_tick);
            continue;
        }
        moat_vvar_clock current = m_page->clocks[i];
        int64_t error = host.ns - moat_vvar_clock_eval(&current, host.tsc);
        m_last_error_ns[i] = error;
        if (error > kStepThresholdNs) {
            step[i] = error;
            m_last_stepped[i] = true;
            mult[i] = MultFor(host.ns_per_tick);
        } else {
            double interval = static_cast<double>(std::max<int64_t>(update.interval_ns, 1'000'000));
            double slew = std::clamp(static_cast<double>(error) / interval, -kMaxSlew, kMaxSlew);
            mult[i] = MultFor(host.ns_per_tick * (1.0 + slew));
        }
    }

    uint32_t seq = m_page->seq;
    m_page->seq = seq + 1;
    StoreFence();
    // Every reader that used the old parameters read its TSC before this point (it re-checks
    // seq after an LFENCE'd RDTSC), so starting the new parameters from the old value here
    // can never make a later read smaller than an earlier one.
    uint64_t now = moat_rdtsc_ordered();
    for (int i = 0; i < MOAT_VVAR_NCLOCKS; ++i) {
        moat_vvar_clock& c = m_page->clocks[i];
        int64_t base_ns;
        if (!m_published) {
            const HostClockReading& host = update.clocks[i];
            moat_vvar_clock from_host{host.tsc, host.ns, mult[i], MOAT_VVAR_SHIFT, 0};
            base_ns = moat_vvar_clock_eval(&from_host, now);
        } else {
            base_ns = moat_vvar_clock_eval(&c, now) + step[i];
        }
        c.base_tsc = now;
        c.base_ns = base_ns;
        c.mult = mult[i];
        c.shift = MOAT_VVAR_SHIFT;
    }
    m_page->tsc_hz = static_cast<uint64_t>(
        std::llround(1e9 / update.clocks[MOAT_VVAR_MONOTONIC_RAW].ns_per_tick));
    m_page->updates = m_page->updates + 1;
    m_page->use_syscall = 0;
    CompilerBarrier();
    m_page->seq = seq + 2;
    m_published = true;
}

}  // namespace moat::loader
