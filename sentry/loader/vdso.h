#pragma once
// Moat's own vDSO: clock_gettime, gettimeofday, time, getcpu computed in the app from a
// read-only data page (vvar) that the sentry's Timekeeper keeps current — no trap.

#include "platform/base/result.h"
#include "sentry/mm/memory_file.h"
#include "sentry/mm/memory_manager.h"

#include <cstdint>
#include <memory>

namespace moat::kernel {
class Timekeeper;
}

namespace moat::loader {

class Vdso {
public:
    static Result<std::unique_ptr<Vdso>> Create(mm::MemoryFile& memory_file, kernel::Timekeeper& timekeeper);
    ~Vdso();
    // Maps [vvar][vdso] into `mm` (as "[vvar]" and "[vdso]") and returns the vDSO's base
    // address for AT_SYSINFO_EHDR.
    Result<uint64_t> MapInto(mm::MemoryManager& mm);

private:
    Vdso() = default;
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace moat::loader
