#pragma once
#include "platform/platform.h"

namespace moat::platform {

// The systrap platform: one untraced stub process per address space whose seccomp filter
// turns every application system call into a SIGSYS; the stub's handler hands the signal
// frame to the sentry through shared memory. `memory_fd` is the memory file; the platform
// keeps its own dup of it.
[[nodiscard]] Result<std::unique_ptr<Platform>> CreateSystrapPlatform(int memory_fd);

}  // namespace moat::platform
