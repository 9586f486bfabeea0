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
// systrap with the site patched: the fast path's hand-off alone (no signal, no sigreturn).
// The memory manager's part (reads, code writes, the trap table) is played by a translation
// of two areas onto the memory file: the code page at offset 0, the table after it.
class BenchCodeMemory final : public CodeWriter {
public:
    explicit BenchCodeMemory(uint8_t* memory) : m_memory(memory) {}
    uint8_t* At(uint64_t addr, size_t len) {
        if (addr >= kCode && addr + len <= kCode + kPage)
            return m_memory + (addr - kCode);
        if (addr >= kTable && addr + len <= kTable + kTableSize)
            return m_memory + kPage + (addr - kTable);
        return nullptr;
    }
    Result<void> WriteCode(uint64_t addr, const void* src, size_t len) override {
        uint8_t* p = At(addr, len);
        if (!p)
            return Errno(EFAULT);
        std::memcpy(p, src, len);
        return {};
    }
    Result<void> MapPlatformArea(uint64_t, uint64_t, std::string_view) override { return {}; }
    static constexpr uint64_t kTable = 0x60000;
    static constexpr uint64_t kTableSize = 0x10000;

private:
    uint8_t* m_memory;
};

void BM_PatchedSyscallRoundTrip(benchmark::State& state) {
    Setup s;
    s.memfd = UniqueFd(::memfd_create("moat-bench", MFD_CLOEXEC));
    if (!s.memfd || ::ftruncate(s.memfd.get(), kMemorySize) != 0)
        return (void)Setup::Fail(state, "memfd");
    void* p = ::mmap(nullptr, kMemorySize, PROT_READ | PROT_WRITE, MAP_SHARED, s.memfd.get(), 0);
    if (p == MAP_FAILED)
        return (void)Setup::Fail(state, "mmap");
    s.memory = HostMapping(p, kMemorySize);
    auto code_memory = std::make_shared<BenchCodeMemory>(s.memory.bytes());
    auto created = CreateSystrapPlatform(s.memfd.get());
    if (!created.ok())
        return (void)Setup::Fail(state, "platform");
    s.platform = created.release_value();
    auto made = s.platform->NewAddressSpace([code_memory](uint64_t addr, void* buf, size_t len) -> size_t {
        uint8_t* at = code_memory->At(addr, len);
        if (!at)
            return 0;
        std::memcpy(buf, at, len);
        return len;
    });
    if (!made.ok())
        return (void)Setup::Fail(state, "address space");
    s.as = made.release_value();
    s.as->SetCodeWriter(code_memory);
    const uint8_t code[] = {0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7};  // 1: mov $39,%eax; syscall; jmp 1b
    std::memcpy(s.memory.bytes(), code, sizeof(code));
    if (!s.as->Map(kCode, kPage, 0, PROT_READ | PROT_EXEC).ok() ||
        !s.as->Map(BenchCodeMemory::kTable, BenchCodeMemory::kTableSize, kPage, PROT_READ | PROT_EXEC).ok())
        return (void)Setup::Fail(state, "map");
    auto ctx = s.platform->NewContext();
    if (!ctx.ok())
        return (void)Setup::Fail(state, "context");
    Registers regs{};
    regs.rip = kCode;
    for (int i = 0; i < 4; ++i)  // trap, trap (patched), then the fast path
        (void)(*ctx)->Switch(*s.as, regs);
    if (s.memory.bytes()[0] != 0xff)
        return (void)Setup::Fail(state, "the site was not patched");
    for (auto _ : state) {
        if ((*ctx)->Switch(*s.as, regs).kind != EventKind::Syscall)
            return (void)Setup::Fail(state, "unexpected event");
    }
}
BENCHMARK(BM_PatchedSyscallRoundTrip);

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
