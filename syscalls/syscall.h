#pragma once
// The shape of a syscall handler. A handler decodes and validates its arguments, delegates to
// a subsystem method shaped like the syscall, and returns the value or Linux's errno.

#include "platform/base/result.h"
#include "sentry/kernel/forward.h"
#include "sentry/mm/user_addr.h"

#include <array>
#include <cstdint>

namespace moat::syscalls {

using SyscallArgs = std::array<uint64_t, 6>;
using SyscallResult = Result<uint64_t>;
using Handler = SyscallResult (*)(kernel::Task& task, const SyscallArgs& args);

// Argument helpers: Linux truncates int arguments to 32 bits.
inline int arg_int(const SyscallArgs& a, int i) { return static_cast<int>(static_cast<uint32_t>(a[i])); }
inline unsigned arg_uint(const SyscallArgs& a, int i) { return static_cast<uint32_t>(a[i]); }
inline mm::UserAddr arg_addr(const SyscallArgs& a, int i) { return mm::UserAddr(a[i]); }

}  // namespace moat::syscalls
