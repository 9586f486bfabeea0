#pragma once
// VvarWriter: the one writer of a vvar page (vvar.h). It owns the update protocol — the
// seqlock, continuity, slewing and forward steps — and nothing else: when to measure and
// what the host clocks say is the Timekeeper's business (sentry/kernel/timekeeper.cc).
// README.md in this folder explains the math.
//
// Not thread-safe: the caller serialises Publish/SetUseSyscall (Timekeeper's m_write_lock).
// Readers (the vDSO, Timekeeper::Now) are lock-free and may run concurrently.

#include "sentry/loader/vdso/vvar.h"

#include <cstdint>

namespace moat::loader {

// What the host says about one clock: its value `ns` at TSC `tsc`, and its rate.
struct HostClockReading {
    uint64_t tsc = 0;
    int64_t ns = 0;
    double ns_per_tick = 0;  // the host clock's rate against the TSC
};

struct VvarUpdate {
    HostClockReading clocks[MOAT_VVAR_NCLOCKS];  // indexed by MOAT_VVAR_*
    // Time until the next planned update: an offset is slewed out over this interval.
    int64_t interval_ns = 10'000'000'000;
};

class VvarWriter {
public:
    // A clock more than this far behind the host is stepped forwards; closer, or ahead of
    // the host (a step would go backwards), it is slewed.
    static constexpr int64_t kStepThresholdNs = 20'000'000;
    // The most a slewed clock's rate may differ from the host clock's rate (as adjtime(3)'s
    // 500 ppm, doubled so the initial calibration's error is absorbed within one interval).
    static constexpr double kMaxSlew = 1000e-6;

    // `page` must be zeroed; it gets use_syscall = 1 until the first Publish.
    explicit VvarWriter(moat_vvar* page);

    // The first call sets every clock to the host's value; later calls keep each clock
    // continuous at the moment of the update and only change its rate (or step it forwards).
    void Publish(const VvarUpdate& update);
    void SetUseSyscall(bool use_syscall);
    void SetCoarseResolution(int64_t ns) { m_page->coarse_res_ns = ns; }
    void SetGetcpuMode(uint32_t mode) { m_page->getcpu_mode = mode; }

    bool published() const { return m_published; }
    // How far each clock was from the host at the last Publish (host - ours), for logs and tests.
    int64_t last_error_ns(int index) const { return m_last_error_ns[index]; }
    bool last_stepped(int index) const { return m_last_stepped[index]; }

private:
    moat_vvar* m_page;
    bool m_published = false;
    int64_t m_last_error_ns[MOAT_VVAR_NCLOCKS] = {};
    bool m_last_stepped[MOAT_VVAR_NCLOCKS] = {};
};

}  // namespace moat::loader
