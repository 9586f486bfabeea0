#pragma once
#include "platform/platform.h"

namespace moat::platform {

// The ptrace platform: one stub process per address space, app threads as stub threads
// traced by the sentry thread of their task, PTRACE_SYSEMU for one stop per syscall.
// `memory_fd` is the memory file; the platform keeps its own dup of it.
[[nodiscard]] Result<std::unique_ptr<Platform>> CreatePtracePlatform(int memory_fd);

}  // namespace moat::platform
