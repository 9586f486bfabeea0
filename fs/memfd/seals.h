#pragma once
// Seals: Linux's memfd seals (fcntl F_ADD_SEALS/F_GET_SEALS) on a tmpfs regular file. Every
// tmpfs file has them; a file starts sealed with F_SEAL_SEAL (no more seals) unless it is a
// memfd created with MFD_ALLOW_SEALING. The tmpfs file checks them on write, truncate,
// fallocate and mmap (EPERM).
//
// F_SEAL_WRITE's EBUSY: Linux refuses it while writable shared mappings exist. Here the count
// is of mappings *created* shared and writable and still alive (an approximation: a shared
// mapping made writable later by mprotect is not counted).

#include "platform/base/result.h"

#include <cstdint>
#include <mutex>

namespace moat::fs {

// Newer than some build hosts' headers (Linux 6.3).
inline constexpr unsigned kSealExec = 0x20;       // F_SEAL_EXEC
inline constexpr unsigned kMfdNoexecSeal = 0x8;   // MFD_NOEXEC_SEAL
inline constexpr unsigned kMfdExec = 0x10;        // MFD_EXEC

class Seals {
public:
    // F_SEAL_* bits Linux knows (F_ALL_SEALS, F_SEAL_EXEC included).
    static constexpr unsigned kAll = 0x3f;

    unsigned get() const;
    // F_ADD_SEALS (the caller checked the description is writable): EINVAL for unknown bits,
    // EPERM once F_SEAL_SEAL is set, EBUSY for F_SEAL_WRITE with writable shared mappings.
    Result<void> Add(unsigned seals);
    // memfd_create: MFD_ALLOW_SEALING clears F_SEAL_SEAL; MFD_NOEXEC_SEAL sets F_SEAL_EXEC.
    void Set(unsigned seals);

    // A write of `len` bytes at `offset` to a file of `size` bytes: how many bytes may go
    // (F_SEAL_GROW stops at the last page boundary not past `size`, as Linux's per-page
    // write_begin does); EPERM for none, or for F_SEAL_WRITE/F_SEAL_FUTURE_WRITE.
    Result<uint64_t> WritableLength(uint64_t offset, uint64_t len, uint64_t size) const;
    // truncate/ftruncate from `old_size` to `new_size`: F_SEAL_SHRINK / F_SEAL_GROW.
    Result<void> CheckResize(uint64_t old_size, uint64_t new_size) const;
    // fallocate: punching holes needs no write seal; growing past `size` no F_SEAL_GROW.
    Result<void> CheckFallocate(bool punch_hole, uint64_t offset, uint64_t len, uint64_t size) const;
    // mmap MAP_SHARED with PROT_WRITE (EPERM under a write seal); counts it while it lives.
    Result<void> AddWritableMapping();
    void RemoveWritableMapping();
    // A shared mapping may never become writable (mprotect: Linux clears VM_MAYWRITE).
    bool denies_shared_write() const;

private:
    mutable std::mutex m_lock;
    unsigned m_seals = 1;       // guarded by m_lock; F_SEAL_SEAL
    int m_writable_maps = 0;    // guarded by m_lock
};

}  // namespace moat::fs
