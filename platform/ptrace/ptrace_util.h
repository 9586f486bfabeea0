#pragma once
// Small wrappers over the ptrace and wait calls every tracer in this backend makes.

#include "platform/base/result.h"
#include "platform/platform.h"

#include <sys/types.h>

#include <cstddef>

namespace moat::platform::ptrace_util {

// waitpid(tid, __WALL), retried on EINTR. Never waits for "any child": other sentry threads
// trace other stubs and their stops are not ours to collect.
[[nodiscard]] Result<int> Wait(pid_t tid);

[[nodiscard]] Result<void> GetRegs(pid_t tid, Registers& regs);
[[nodiscard]] Result<void> SetRegs(pid_t tid, const Registers& regs);
[[nodiscard]] Result<void> Resume(int request, pid_t tid, int signo);
[[nodiscard]] Result<void> GetSiginfo(pid_t tid, siginfo_t& info);

// The size of the kernel's user-ABI XSAVE image (what PTRACE_GETREGSET NT_X86_XSTATE fills).
size_t XstateBufferSize();

// Fills the selectors a fresh thread needs when the sentry leaves them zero, and stops the
// kernel from doing syscall-restart processing on our register writes (orig_rax = -1).
Registers Sanitized(const Registers& regs);

bool IsExitStatus(int status);

}  // namespace moat::platform::ptrace_util
