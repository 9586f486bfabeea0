// Microbenchmarks of each platform: one intercepted syscall round trip (Switch returning a
// Syscall event), and one Map (injected into the stub by ptrace, served by the stub's helper
// thread under systrap). Registered once per backend with the same code.

#include "platform/base/host_mapping.h"
#include "platform/base/unique_fd.h"
#include "platform/ptrace/ptrace_platform.h"
#include "platform/systrap/systrap_platform.h"

#include <benchmark/benchmark.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

namespace moat::platform {
namespace {

constexpr uint64_t kCode = 0x400000;
constexpr uint64_t kData = 0x10000000;
constexpr uint64_t kPage = 0x1000;
constexpr size_t kMemorySize = 1 << 20;

using PlatformFactory = Result<std::unique_ptr<Platform>> (*)(int memfd);

struct Setup {
    UniqueFd memfd;
    HostMapping memory;
    std::unique_ptr<Platform> platform;
    std::shared_ptr<AddressSpace> as;

    bool Init(benchmark::State& state, PlatformFactory create) {
        memfd = UniqueFd(::memfd_create("moat-bench", MFD_CLOEXEC));
        if (!memfd || ::ftruncate(memfd.get(), kMemorySize) != 0)
            return Fail(state, "memfd");
        void* p = ::mmap(nullptr, kMemorySize, PROT_READ | PROT_WRITE, MAP_SHARED, memfd.get(), 0);
        if (p == MAP_FAILED)
            return Fail(state, "mmap");
        memory = HostMapping(p, kMemorySize);
        auto created = create(memfd.get());
        if (!created.ok())
            return Fail(state, "platform");
        platform = created.release_value();
        auto made = platform->NewAddressSpace([](uint64_t, void*, size_t) -> size_t { return 0; });
        if (!made.ok())
            return Fail(state, "address space");
        as = made.release_value();
        return true;
    }
    static bool Fail(benchmark::State& state, const char* what) {
        state.SkipWithError(what);
        return false;
    }
};

void BM_SyscallRoundTrip(benchmark::State& state, PlatformFactory create) {
    Setup s;
    if (!s.Init(state, create))
        return;
    const uint8_t code[] = {0x0f, 0x05, 0xeb, 0xfc};  // 1: syscall; jmp 1b
    std::memcpy(s.memory.bytes(), code, sizeof(code));
    if (!s.as->Map(kCode, kPage, 0, PROT_READ | PROT_EXEC).ok())
        return (void)Setup::Fail(state, "map");
    auto ctx = s.platform->NewContext();
    if (!ctx.ok())
        return (void)Setup::Fail(state, "context");
    Registers regs{};
    regs.rip = kCode;
    regs.rax = 39;
    for (auto _ : state) {
        if ((*ctx)->Switch(*s.as, regs).kind != EventKind::Syscall)
            return (void)Setup::Fail(state, "unexpected event");
    }
}
void BM_Map(benchmark::State& state, PlatformFactory create) {
    Setup s;
    if (!s.Init(state, create))
        return;
    uint64_t i = 0;
    for (auto _ : state) {
        // Cycle through 4096 pages so the stub's page tables stay small.
        if (!s.as->Map(kData + (i++ % 4096) * kPage, kPage, 0, PROT_READ | PROT_WRITE).ok())
            return (void)Setup::Fail(state, "map");
    }
}
Result<std::unique_ptr<Platform>> CreateSystrap(int memory_fd) { return CreateSystrapPlatform(memory_fd); }

BENCHMARK_CAPTURE(BM_SyscallRoundTrip, ptrace, &CreatePtracePlatform);
BENCHMARK_CAPTURE(BM_SyscallRoundTrip, systrap, &CreateSystrap);
BENCHMARK_CAPTURE(BM_Map, ptrace, &CreatePtracePlatform);
BENCHMARK_CAPTURE(BM_Map, systrap, &CreateSystrap);

}  // namespace
}  // namespace moat::platform
