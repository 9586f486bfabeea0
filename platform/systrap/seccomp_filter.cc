#include "platform/systrap/seccomp_filter.h"

#include "platform/systrap/stub_layout.h"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#include <cstddef>
#include <initializer_list>

namespace moat::platform::systrap {

namespace {

constexpr uint32_t kIpLowOffset = offsetof(seccomp_data, instruction_pointer);
constexpr uint32_t kIpHighOffset = kIpLowOffset + 4;

sock_filter Stmt(uint16_t code, uint32_t k) { return BPF_STMT(code, k); }
sock_filter Jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) { return BPF_JUMP(code, k, jt, jf); }

// 0 arch, 1 ip high, 3 ip low (at or above the code), 6 ip low (not past it), 7 nr, then
// one test per allowed number, then `trap`, then `allow`.
std::vector<sock_filter> Build(std::initializer_list<int> allowed) {
    // The instruction pointer seccomp sees is the one after the `syscall` instruction.
    constexpr uint32_t kIpHigh = static_cast<uint32_t>(kCodeBase >> 32);
    constexpr uint32_t kIpLow = static_cast<uint32_t>(kCodeBase);
    constexpr uint32_t kIpLowEnd = static_cast<uint32_t>(kCodeBase + kCodeSize);
    static_assert(kIpLow < kIpLowEnd, "the code must not cross a 4 GiB boundary");

    const size_t trap = 8 + allowed.size();
    const size_t allow = trap + 1;
    std::vector<sock_filter> f;
    // A jump at the next index to `target` (offsets count from the following instruction).
    auto to = [&](size_t target) { return static_cast<uint8_t>(target - f.size() - 1); };
    f.push_back(Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
    f.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, to(trap)));
    f.push_back(Stmt(BPF_LD | BPF_W | BPF_ABS, kIpHighOffset));
    f.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, kIpHigh, 0, to(trap)));
    f.push_back(Stmt(BPF_LD | BPF_W | BPF_ABS, kIpLowOffset));
    f.push_back(Jump(BPF_JMP | BPF_JGE | BPF_K, kIpLow, 0, to(trap)));
    f.push_back(Jump(BPF_JMP | BPF_JGT | BPF_K, kIpLowEnd, to(trap), 0));
    f.push_back(Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
    for (int nr : allowed)
        f.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), to(allow), 0));
    f.push_back(Stmt(BPF_RET | BPF_K, SECCOMP_RET_TRAP));
    f.push_back(Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    return f;
}

}  // namespace

std::vector<sock_filter> StubFilter() {
    // prctl, getppid and close: a stub forked by the zygote sets up with them (stub.S).
    return Build({SYS_futex, SYS_mmap, SYS_munmap, SYS_mprotect, SYS_clone, SYS_sigaltstack, SYS_rt_sigprocmask,
                  SYS_seccomp, SYS_rt_sigreturn, SYS_arch_prctl, SYS_exit, SYS_exit_group, SYS_prctl,
                  SYS_getppid, SYS_close});
}

std::vector<sock_filter> ThreadFilter() {
    return Build({SYS_futex, SYS_rt_sigreturn, SYS_arch_prctl, SYS_exit});
}

}  // namespace moat::platform::systrap
