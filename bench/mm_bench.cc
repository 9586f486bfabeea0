// Microbenchmarks of sentry/mm: VMA lookup, and the fault + map path on a fake platform.

#include "sentry/mm/memory_manager.h"
#include "sentry/mm/mm_test_util.h"
#include "sentry/mm/vma_set.h"

#include <benchmark/benchmark.h>

#include <random>

namespace {

using namespace moat::mm;

void BM_VmaLookup1000(benchmark::State& state) {
    VmaSet set;
    for (uint64_t i = 0; i < 1000; ++i) {
        Vma v;
        v.start = (i * 3 + 16) * kPageSize;
        v.end = v.start + 2 * kPageSize;
        v.prot = static_cast<int>(i % 2 ? PROT_READ : PROT_READ | PROT_WRITE);  // no merging
        set.Insert(v);
    }
    std::mt19937_64 rng(1);
    std::vector<uint64_t> addrs(4096);
    for (auto& a : addrs)
        a = (16 + rng() % 3000) * kPageSize;
    size_t i = 0, hits = 0;
    for (auto _ : state) {
        hits += set.Find(addrs[i++ & 4095]) != nullptr;
        benchmark::DoNotOptimize(hits);
    }
}
BENCHMARK(BM_VmaLookup1000);

// One anonymous fault: VMA lookup, frame run allocation, one platform Map; then munmap so
// every iteration faults fresh memory.
void BM_AnonFaultAndMap(benchmark::State& state) {
    auto t = testing::MakeTestMm();
    const uint64_t len = 64 * kPageSize;
    for (auto _ : state) {
        uint64_t addr = t.mm->Mmap(testing::Anon(len)).value();
        benchmark::DoNotOptimize(t.mm->HandleFault(addr, moat::platform::kAccessWrite));
        state.PauseTiming();
        (void)t.mm->Munmap(addr, len);
        t.as->calls.clear();
        t.as->pages.clear();
        state.ResumeTiming();
    }
}
BENCHMARK(BM_AnonFaultAndMap);

// Copy-out of 4 KiB to an already populated page (the syscall-argument path).
void BM_CopyOut4K(benchmark::State& state) {
    auto t = testing::MakeTestMm();
    uint64_t addr = t.mm->Mmap(testing::Anon(1 << 20)).value();
    char buf[4096] = {};
    for (auto _ : state)
        benchmark::DoNotOptimize(t.mm->CopyOut(UserAddr(addr + 8192), buf, sizeof buf).ok());
}
BENCHMARK(BM_CopyOut4K);

}  // namespace
