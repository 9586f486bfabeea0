#pragma once
// The x86-64 signal frame, laid out exactly as Linux's (arch/x86/kernel/signal_64.c), so that
// glibc's sigreturn trampoline, longjmp out of handlers, unwinders and debuggers work:
//
//   [fpstate: XSAVE image, 64-byte aligned, FP_XSTATE_MAGIC2 after it]  (higher addresses)
//   struct rt_sigframe { pretcode (sa_restorer); struct ucontext uc; siginfo_t info; }
//   <- rsp at handler entry, (rsp + 8) % 16 == 0
//
// The frame sits below the 128-byte red zone of the interrupted code, or at the top of the
// sigaltstack for SA_ONSTACK handlers when not already on it.

#include "platform/base/result.h"
#include "sentry/kernel/forward.h"
#include "sentry/kernel/thread_group.h"

#include <signal.h>

#include <cstdint>

namespace moat::kernel {

struct KernelSigcontext {
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
    uint16_t cs, gs, fs, ss;
    uint64_t err, trapno, oldmask, cr2;
    uint64_t fpstate;
    uint64_t reserved1[8];
};
static_assert(sizeof(KernelSigcontext) == 256);

struct KernelStack {
    uint64_t ss_sp;
    int32_t ss_flags;
    int32_t pad;
    uint64_t ss_size;
};
static_assert(sizeof(KernelStack) == 24);

struct KernelUcontext {
    uint64_t uc_flags;
    uint64_t uc_link;
    KernelStack uc_stack;
    KernelSigcontext uc_mcontext;
    uint64_t uc_sigmask;
};
static_assert(sizeof(KernelUcontext) == 304);

struct RtSigframe {
    uint64_t pretcode;
    KernelUcontext uc;
    siginfo_t info;
};
static_assert(sizeof(RtSigframe) == 440);

inline constexpr uint32_t kFpXstateMagic1 = 0x46505853;
inline constexpr uint32_t kFpXstateMagic2 = 0x46505845;

// Builds the frame for `info` handled by `act` and points the registers at the handler.
// `old_mask` is the mask saved in uc_sigmask (restored by rt_sigreturn). An error means the
// frame could not be written: the caller forces SIGSEGV.
Result<void> SetupRtFrame(Task& t, const siginfo_t& info, const KernelSigaction& act, uint64_t old_mask);

// rt_sigreturn(2): restores registers, FPU, mask and altstack from the frame at rsp - 8.
// An error means a bad frame: the caller forces SIGSEGV.
Result<void> RestoreRtFrame(Task& t);

// sigaltstack helpers (Linux's on_sig_stack / sas_ss_flags).
bool OnAltStack(Task& t, uint64_t sp);
int AltStackFlags(Task& t, uint64_t sp);

}  // namespace moat::kernel
