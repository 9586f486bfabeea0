#include "platform/systrap/systrap_address_space.h"

#include "platform/systrap/stub_layout.h"

#include <sys/mman.h>
#include <sys/syscall.h>

namespace moat::platform::systrap {

namespace {

// Page-aligned, non-empty and entirely below the stub: the sentry can never map over, unmap
// or unprotect the stub's code or the shared region.
Result<void> CheckRange(uint64_t addr, uint64_t len) {
    if (len == 0 || (addr | len) % kPageSize != 0)
        return Errno(EINVAL);
    if (addr > kCodeBase || len > kCodeBase - addr)
        return Errno(EINVAL);
    return {};
}

}  // namespace

Result<void> SystrapAddressSpace::Map(uint64_t addr, uint64_t len, uint64_t file_offset, int prot) {
    TRY(CheckRange(addr, len));
    uint64_t mapped = TRY(m_stub->Syscall(SYS_mmap, {addr, len, static_cast<uint64_t>(prot), MAP_SHARED | MAP_FIXED,
                                                     static_cast<uint64_t>(kMemoryFd), file_offset}));
    if (mapped != addr)
        return Errno(EFAULT);  // MAP_FIXED cannot move it; the stub is not what we think
    return {};
}

Result<void> SystrapAddressSpace::Unmap(uint64_t addr, uint64_t len) {
    TRY(CheckRange(addr, len));
    TRY(m_stub->Syscall(SYS_munmap, {addr, len, 0, 0, 0, 0}));
    return {};
}

Result<void> SystrapAddressSpace::Protect(uint64_t addr, uint64_t len, int prot) {
    TRY(CheckRange(addr, len));
    TRY(m_stub->Syscall(SYS_mprotect, {addr, len, static_cast<uint64_t>(prot), 0, 0, 0}));
    return {};
}

}  // namespace moat::platform::systrap
