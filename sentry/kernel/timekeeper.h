#pragma once
// Timekeeper: the sandbox's clocks. It publishes, in one frame of the memory file, the
// parameters the vDSO needs to compute CLOCK_REALTIME/MONOTONIC/BOOTTIME from the TSC
// without a trap (a seqlock-protected struct, see sentry/loader/vdso/vvar.h), and serves
// the same clocks to clock_gettime(2) when an app traps anyway.

#include "platform/base/result.h"
#include "sentry/mm/memory_file.h"

#include <time.h>

#include <cstdint>
#include <memory>

namespace moat::kernel {

class Timekeeper {
public:
    static Result<std::unique_ptr<Timekeeper>> Create(mm::MemoryFile& memory_file);
    ~Timekeeper();
    // Memory-file offset of the vvar frame (mapped read-only into every process).
    uint64_t vvar_frame() const;
    // The clock as the sandbox sees it; EINVAL for an unknown clock id.
    Result<struct timespec> Now(clockid_t clock);
    Result<struct timespec> Resolution(clockid_t clock);
    // Re-measures the TSC rate now and republishes (tests; waits for the update).
    void RecalibrateNow();

private:
    Timekeeper() = default;
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace moat::kernel
