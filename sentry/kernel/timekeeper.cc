// Timekeeper: the sandbox's clocks, published in the vvar page for Moat's vDSO.
//
// REALTIME, MONOTONIC, BOOTTIME and MONOTONIC_RAW are computed from the TSC with the
// parameters in the vvar page (sentry/loader/vdso/vvar.h) — by the vDSO in the app, and by
// Now() here with the very same inline function, so the two never disagree. Each follows the
// host clock of the same name: a background thread re-measures every clock's rate against
// the TSC and slews out any offset (or steps a clock that fell far behind forwards; never
// backwards). See sentry/loader/vdso/README.md.
//
// Lock order: m_write_lock (serialises vvar writers), then m_thread_lock. Readers take none.

#include "sentry/kernel/timekeeper.h"

#include "platform/base/log.h"
#include "sentry/loader/vdso/vvar.h"
#include "sentry/loader/vdso/vvar_writer.h"
#include "sentry/mm/user_addr.h"

#include <cpuid.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace moat::kernel {

// Makes every live Timekeeper re-measure and republish now, and waits until they have.
// Tests use it; so could a resume-from-suspend hook. Declared where it is used.
namespace {

using loader::HostClockReading;
using loader::VvarUpdate;
using loader::VvarWriter;

// The host clock each vvar clock follows.
constexpr clockid_t kHostClock[MOAT_VVAR_NCLOCKS] = {
    CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_MONOTONIC_RAW};

// Start-up calibration window (`moat do true` pays for it) and the refinement schedule.
constexpr auto kStartupWindow = std::chrono::microseconds(1000);
constexpr auto kFirstRefine = std::chrono::seconds(1);
constexpr auto kRefineInterval = std::chrono::seconds(10);
// Rates are only re-measured over windows at least this long (a forced recalibration right
// after another keeps the rates and only corrects offsets): a 100 ns read jitter over
// 500 ms is 0.2 ppm.
constexpr int64_t kMinRateWindowNs = 500'000'000;

// A measured clock rate further than this from the MONOTONIC_RAW rate means the host clock
// was stepped during the window (NTP slews at most 500 ppm): use the RAW rate instead.
constexpr double kMaxRateDeviation = 2000e-6;

int64_t ToNs(const timespec& ts) { return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec; }

timespec FromNs(int64_t ns) {
    timespec ts;
    ts.tv_sec = ns / 1'000'000'000;
    ts.tv_nsec = ns % 1'000'000'000;
    if (ts.tv_nsec < 0) {
        ts.tv_nsec += 1'000'000'000;
        ts.tv_sec -= 1;
    }
    return ts;
}

// One host clock read bracketed by two TSC reads; the narrowest of a few tries, the TSC
// taken as the bracket's middle.
struct Sample {
    uint64_t tsc = 0;
    int64_t ns = 0;
    uint64_t width = UINT64_MAX;
};

bool SampleClock(clockid_t clock, Sample* out, int tries = 5) {
    Sample best;
    for (int i = 0; i < tries; ++i) {
        timespec ts;
        uint64_t t0 = moat_rdtsc_ordered();
        if (clock_gettime(clock, &ts) != 0)
            return false;
        uint64_t t1 = moat_rdtsc_ordered();
        if (t1 - t0 < best.width)
            best = Sample{t0 + (t1 - t0) / 2, ToNs(ts), t1 - t0};
    }
    *out = best;
    return true;
}

bool SampleAll(Sample (&out)[MOAT_VVAR_NCLOCKS]) {
    for (int i = 0; i < MOAT_VVAR_NCLOCKS; ++i) {
        if (!SampleClock(kHostClock[i], &out[i]))
            return false;
    }
    return true;
}

bool HasInvariantTsc() {
    unsigned a, b, c, d;
    if (!__get_cpuid(0x80000000, &a, &b, &c, &d) || a < 0x80000007)
        return false;
    __cpuid(0x80000007, a, b, c, d);
    return (d >> 8) & 1;
}

// The TSC frequency CPUID states, or 0: leaf 0x15 (crystal ratio), the hypervisor's timing
// leaf 0x40000010 (VMware/KVM/bhyve: TSC kHz), leaf 0x16 (nominal base MHz).
uint64_t CpuidTscHz() {
    unsigned a, b, c, d;
    unsigned max_leaf = __get_cpuid_max(0, nullptr);
    if (max_leaf >= 0x15) {
        __cpuid_count(0x15, 0, a, b, c, d);
        if (a != 0 && b != 0 && c != 0)
            return uint64_t(c) * b / a;
    }
    __cpuid(1, a, b, c, d);
    if ((c >> 31) & 1) {  // running under a hypervisor
        __cpuid(0x40000000, a, b, c, d);
        if (a >= 0x40000010) {
            __cpuid(0x40000010, a, b, c, d);
            if (a != 0)
                return uint64_t(a) * 1000;
        }
    }
    if (max_leaf >= 0x16) {
        __cpuid_count(0x16, 0, a, b, c, d);
        if (a != 0)
            return uint64_t(a) * 1'000'000;
    }
    return 0;
}

uint32_t GetcpuMode() {
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, nullptr) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        if ((c >> 22) & 1)
            return MOAT_GETCPU_RDPID;
    }
    if (__get_cpuid(0x80000001, &a, &b, &c, &d) && ((d >> 27) & 1))
        return MOAT_GETCPU_RDTSCP;
    return MOAT_GETCPU_ZERO;
}

bool SaneRate(double ns_per_tick) {
    // 100 MHz .. 20 GHz.
    return ns_per_tick > 0.05 && ns_per_tick < 10.0;
}

// Linux clock id → vvar index, or -1 when the host serves it. The COARSE and ALARM clocks
// read their precise twin (see README.md: why not the host's coarse clock).
int VvarIndex(clockid_t clock) {
    switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_REALTIME_ALARM:
        return MOAT_VVAR_REALTIME;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_COARSE:
        return MOAT_VVAR_MONOTONIC;
    case CLOCK_BOOTTIME:
    case CLOCK_BOOTTIME_ALARM:
        return MOAT_VVAR_BOOTTIME;
    case CLOCK_MONOTONIC_RAW:
        return MOAT_VVAR_MONOTONIC_RAW;
    default:
        return -1;
    }
}

bool ValidClock(clockid_t clock) {
    // Negative ids are dynamic clocks (CPU clocks of a pid/tid, or a PTP fd): not supported
    // yet. 10 (CLOCK_SGI_CYCLE) is gone from Linux.
    return clock >= 0 && clock <= CLOCK_TAI && clock != 10;
}

// Everything a Timekeeper is; Timekeeper::Impl (named only by Timekeeper's members) is this.
struct State {
    mm::MemoryFile* memory_file = nullptr;
    uint64_t frame = 0;
    moat_vvar* page = nullptr;
    int64_t coarse_res_ns = 4'000'000;

    std::mutex m_write_lock;
    VvarWriter writer;                 // guarded by m_write_lock
    Sample anchor[MOAT_VVAR_NCLOCKS];  // guarded by m_write_lock: start of the rate window
    double rate[MOAT_VVAR_NCLOCKS] = {};  // guarded by m_write_lock: each host clock's ns per tick

    std::mutex m_thread_lock;
    std::condition_variable m_wake;
    bool m_stop = false;                // guarded by m_thread_lock
    uint64_t m_recalibrations_asked = 0;  // guarded by m_thread_lock
    uint64_t m_recalibrations_done = 0;   // guarded by m_thread_lock
    std::condition_variable m_done;
    std::thread m_thread;

    explicit State(moat_vvar* p) : page(p), writer(p) {}

    // Measures every clock's rate since the anchor and republishes. Returns false if the
    // TSC looks unusable (the vvar then says "use the syscall").
    bool Refine(std::chrono::nanoseconds next_interval);
    void Run();
};

}  // namespace

struct Timekeeper::Impl : State {
    using State::State;
};

bool State::Refine(std::chrono::nanoseconds next_interval) {
    std::lock_guard guard(m_write_lock);
    Sample now[MOAT_VVAR_NCLOCKS];
    if (!SampleAll(now)) {
        writer.SetUseSyscall(true);
        return false;
    }
    const Sample& raw0 = anchor[MOAT_VVAR_MONOTONIC_RAW];
    const Sample& raw1 = now[MOAT_VVAR_MONOTONIC_RAW];
    if (raw1.tsc <= raw0.tsc || raw1.ns <= raw0.ns) {
        log::warn("timekeeper: the TSC did not advance; clocks go through the host from now on");
        writer.SetUseSyscall(true);
        return false;
    }
    if (raw1.ns - raw0.ns >= kMinRateWindowNs) {
        double raw_rate = double(raw1.ns - raw0.ns) / double(raw1.tsc - raw0.tsc);
        if (!SaneRate(raw_rate)) {
            log::warn("timekeeper: implausible TSC rate {} ns/tick; clocks go through the host", raw_rate);
            writer.SetUseSyscall(true);
            return false;
        }
        if (std::abs(raw_rate / rate[MOAT_VVAR_MONOTONIC_RAW] - 1) > 0.01)
            log::debug("timekeeper: TSC rate changed from {} to {} ns/tick", rate[MOAT_VVAR_MONOTONIC_RAW], raw_rate);
        for (int i = 0; i < MOAT_VVAR_NCLOCKS; ++i) {
            double r = double(now[i].ns - anchor[i].ns) / double(now[i].tsc - anchor[i].tsc);
            if (now[i].tsc <= anchor[i].tsc || std::abs(r / raw_rate - 1) > kMaxRateDeviation)
                r = raw_rate;  // the host clock was stepped in the window
            rate[i] = r;
            anchor[i] = now[i];
        }
    }

    VvarUpdate update;
    update.interval_ns = next_interval.count();
    for (int i = 0; i < MOAT_VVAR_NCLOCKS; ++i)
        update.clocks[i] = HostClockReading{now[i].tsc, now[i].ns, rate[i]};
    writer.Publish(update);
    log::debug("timekeeper: TSC {:.6f} MHz; offsets from host (ns) realtime {} monotonic {} boottime {} raw {}",
               1e3 / rate[MOAT_VVAR_MONOTONIC_RAW], writer.last_error_ns(MOAT_VVAR_REALTIME), writer.last_error_ns(MOAT_VVAR_MONOTONIC),
               writer.last_error_ns(MOAT_VVAR_BOOTTIME), writer.last_error_ns(MOAT_VVAR_MONOTONIC_RAW));
    return true;
}

void State::Run() {
    auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(kFirstRefine);
    std::unique_lock lock(m_thread_lock);
    for (;;) {
        bool asked = m_wake.wait_for(lock, wait, [&] { return m_stop || m_recalibrations_asked > m_recalibrations_done; });
        if (m_stop)
            return;
        uint64_t target = m_recalibrations_asked;
        lock.unlock();
        wait = kRefineInterval;
        bool ok = Refine(wait);
        lock.lock();
        if (asked)
            m_recalibrations_done = target;
        m_done.notify_all();
        if (!ok) {
            // The TSC is unusable; the host serves every clock. Only answer recalibration
            // requests from now on.
            wait = std::chrono::hours(24 * 365);
        }
    }
}

Result<std::unique_ptr<Timekeeper>> Timekeeper::Create(mm::MemoryFile& memory_file) {
    uint64_t frame = TRY(memory_file.Allocate(1));
    auto* page = reinterpret_cast<moat_vvar*>(memory_file.Ptr(frame));
    std::memset(page, 0, mm::kPageSize);

    std::unique_ptr<Timekeeper> tk(new Timekeeper());
    tk->m_impl = std::make_unique<Impl>(page);
    Impl& impl = *tk->m_impl;
    impl.memory_file = &memory_file;
    impl.frame = frame;

    timespec res;
    if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) == 0)
        impl.coarse_res_ns = ToNs(res);
    impl.writer.SetCoarseResolution(impl.coarse_res_ns);
    impl.writer.SetGetcpuMode(GetcpuMode());

    // Start-up calibration. Every clock's initial rate is the TSC's; the background thread
    // measures each host clock's own rate over longer windows.
    bool usable = HasInvariantTsc();
    if (!usable)
        log::debug("timekeeper: no invariant TSC; clocks go through the host");
    double rate = 0;  // ns per tick
    if (usable && SampleAll(impl.anchor)) {
        if (uint64_t hz = CpuidTscHz()) {
            rate = 1e9 / double(hz);
        } else {
            timespec pause = {0, std::chrono::nanoseconds(kStartupWindow).count()};
            nanosleep(&pause, nullptr);
            Sample end;
            const Sample& start = impl.anchor[MOAT_VVAR_MONOTONIC_RAW];
            if (SampleClock(CLOCK_MONOTONIC_RAW, &end) && end.tsc > start.tsc && end.ns > start.ns)
                rate = double(end.ns - start.ns) / double(end.tsc - start.tsc);
        }
        usable = SaneRate(rate);
        if (!usable)
            log::warn("timekeeper: TSC calibration failed; clocks go through the host");
    }
    if (usable) {
        std::lock_guard guard(impl.m_write_lock);
        Sample now[MOAT_VVAR_NCLOCKS];
        usable = SampleAll(now);
        if (usable) {
            VvarUpdate update;
            update.interval_ns = std::chrono::nanoseconds(kFirstRefine).count();
            for (int i = 0; i < MOAT_VVAR_NCLOCKS; ++i)
                update.clocks[i] = HostClockReading{now[i].tsc, now[i].ns, rate};
            for (double& r : impl.rate)
                r = rate;
            impl.writer.Publish(update);
            log::debug("timekeeper: initial TSC estimate {:.6f} MHz", 1e3 / rate);
        }
    }
    if (usable)
        impl.m_thread = std::thread([&impl] { impl.Run(); });
    return tk;
}

Timekeeper::~Timekeeper() {
    if (!m_impl)
        return;
    {
        std::lock_guard lock(m_impl->m_thread_lock);
        m_impl->m_stop = true;
    }
    m_impl->m_wake.notify_all();
    m_impl->m_done.notify_all();
    if (m_impl->m_thread.joinable())
        m_impl->m_thread.join();
    // Address spaces that still map the vvar frame hold their own references.
    m_impl->memory_file->DecRef(m_impl->frame);
}

uint64_t Timekeeper::vvar_frame() const { return m_impl->frame; }

Result<struct timespec> Timekeeper::Now(clockid_t clock) {
    if (!ValidClock(clock))
        return Error(EINVAL);
    int index = VvarIndex(clock);
    if (index >= 0) {
        int64_t ns;
        if (moat_vvar_clock_ns(m_impl->page, unsigned(index), &ns) == 0)
            return FromNs(ns);
        clock = kHostClock[index];  // the TSC is unusable: the host's clock itself
    }
    // TAI: the host's. CPU-time clocks: the calling sentry thread's / the whole sentry's,
    // not the app's (see README.md).
    timespec ts;
    if (clock_gettime(clock, &ts) != 0)
        return HostErrno();
    return ts;
}

Result<struct timespec> Timekeeper::Resolution(clockid_t clock) {
    if (!ValidClock(clock))
        return Error(EINVAL);
    if (clock == CLOCK_REALTIME_COARSE || clock == CLOCK_MONOTONIC_COARSE)
        return FromNs(m_impl->coarse_res_ns);
    return FromNs(1);
}

void Timekeeper::RecalibrateNow() {
    State& impl = *m_impl;
    std::unique_lock lock(impl.m_thread_lock);
    if (!impl.m_thread.joinable())
        return;
    uint64_t target = ++impl.m_recalibrations_asked;
    impl.m_wake.notify_all();
    impl.m_done.wait(lock, [&] { return impl.m_stop || impl.m_recalibrations_done >= target; });
}

}  // namespace moat::kernel
