#pragma once
#include "platform/platform.h"

namespace moat::platform {

struct SystrapOptions {
    // Rewrite hot `mov $nr,%eax; syscall` sites into jumps to the stub's fast path
    // (syscall_patcher.h). `moat do --no-syscall-patch` turns it off.
    bool patch_syscalls = true;
};

// The systrap platform: one untraced stub process per address space whose seccomp filter
// turns every application system call into a SIGSYS; the stub's handler hands the signal
// frame to the sentry through shared memory. `memory_fd` is the memory file; the platform
// keeps its own dup of it.
[[nodiscard]] Result<std::unique_ptr<Platform>> CreateSystrapPlatform(int memory_fd, SystrapOptions options = {});

}  // namespace moat::platform
