// Moat's vDSO clock_gettime (loaded into this process as an app would see it, the vvar page
// a live view of a Timekeeper's frame) against the host's clock_gettime (the host vDSO),
// plus the Timekeeper's own Now() (what a trapped clock_gettime costs once in the sentry).

#include "sentry/kernel/timekeeper.h"
#include "sentry/loader/vdso/vdso_loader_for_test.h"

#include <sys/time.h>

#include <benchmark/benchmark.h>

#include <cstdlib>

namespace {

struct VdsoFixture {
    std::unique_ptr<moat::mm::MemoryFile> mf;
    std::unique_ptr<moat::kernel::Timekeeper> tk;
    moat::loader::testing::LoadedVdso vdso;

    VdsoFixture() {
        mf = MUST(moat::mm::MemoryFile::Create(1ull << 30));
        tk = MUST(moat::kernel::Timekeeper::Create(*mf));
        if (!vdso.Load(mf->fd(), tk->vvar_frame()))
            abort();
    }
};

VdsoFixture& fixture() {
    static VdsoFixture f;
    return f;
}

void BM_MoatVdsoClockGettime(benchmark::State& state) {
    auto fn = fixture().vdso.clock_gettime;
    clockid_t clock = clockid_t(state.range(0));
    timespec ts;
    for (auto _ : state) {
        fn(clock, &ts);
        benchmark::DoNotOptimize(ts);
    }
}
BENCHMARK(BM_MoatVdsoClockGettime)->Arg(CLOCK_MONOTONIC)->Arg(CLOCK_REALTIME)->Arg(CLOCK_MONOTONIC_COARSE);

void BM_HostClockGettime(benchmark::State& state) {
    clockid_t clock = clockid_t(state.range(0));
    timespec ts;
    for (auto _ : state) {
        clock_gettime(clock, &ts);
        benchmark::DoNotOptimize(ts);
    }
}
BENCHMARK(BM_HostClockGettime)->Arg(CLOCK_MONOTONIC)->Arg(CLOCK_REALTIME)->Arg(CLOCK_MONOTONIC_COARSE);

void BM_MoatVdsoGettimeofday(benchmark::State& state) {
    auto fn = fixture().vdso.gettimeofday;
    timeval tv;
    for (auto _ : state) {
        fn(&tv, nullptr);
        benchmark::DoNotOptimize(tv);
    }
}
BENCHMARK(BM_MoatVdsoGettimeofday);

void BM_HostGettimeofday(benchmark::State& state) {
    timeval tv;
    for (auto _ : state) {
        gettimeofday(&tv, nullptr);
        benchmark::DoNotOptimize(tv);
    }
}
BENCHMARK(BM_HostGettimeofday);

void BM_TimekeeperNow(benchmark::State& state) {
    auto& tk = *fixture().tk;
    for (auto _ : state) {
        auto r = tk.Now(CLOCK_MONOTONIC);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_TimekeeperNow);

}  // namespace
