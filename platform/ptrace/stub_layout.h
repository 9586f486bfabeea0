#pragma once
// Where the stub lives in every stub process, and the sites the tracers jump to (stub.S).

#include <cstdint>

extern "C" {
// Defined in stub.S. moat_stub_enter runs in the forked child; the rest is the copied page.
[[noreturn]] void moat_stub_enter(uint64_t stub_base, uint64_t user_top);
extern const char moat_stub_start[];
extern const char moat_stub_syscall[];
extern const char moat_stub_clone[];
extern const char moat_stub_end[];
}

namespace moat::platform::stub {

// The stub page sits just above the last application address; the 16 MiB below the top of
// the 47-bit user address space are the platform's (only the first page is used).
inline constexpr uint64_t kBase = 0x7fffff000000;
inline constexpr uint64_t kPageSize = 0x1000;
// TASK_SIZE on x86-64 with 4-level paging; the host never maps anything above it by default.
inline constexpr uint64_t kUserTop = 0x7ffffffff000;
// The memory file's fd number inside every stub (its only open fd).
inline constexpr int kMemoryFd = 3;

inline uint64_t SiteAddress(const char* label) {
    return kBase + static_cast<uint64_t>(label - moat_stub_start);
}
// `syscall; int3`: the tracer regains control with the result in rax, rip = site + 3.
inline uint64_t SyscallSite() { return SiteAddress(moat_stub_syscall); }
// `syscall; test; jz; int3` for the parent, poll(NULL, 0, -1) loop for the new thread.
inline uint64_t CloneSite() { return SiteAddress(moat_stub_clone); }

}  // namespace moat::platform::stub
