#pragma once
// The host's /proc, as the platform reads it (the CPU time of stub threads). After the sentry
// pivots into an empty root (sentry/sandbox) there is no "/proc" path any more: confinement
// hands over a directory fd of the host's procfs first, and every read is relative to it.

#include "platform/base/unique_fd.h"

#include <string>

namespace moat::platform {

// Takes the host /proc directory fd (O_PATH is fine). Call once, before the root goes away.
void SetHostProcDir(UniqueFd dir);

// Reads up to `max` bytes of the host /proc file at `relative` ("123/task/124/stat"); empty
// on any failure. Without SetHostProcDir, relative to the path "/proc".
std::string ReadHostProcFile(const std::string& relative, size_t max = 1023);

}  // namespace moat::platform
