#pragma once
// memfd_create(2): an anonymous tmpfs regular file in the sandbox's internal tmpfs (the Vfs's
// internal_root(), mounted nowhere, like Linux's shm_mnt). Its dentry "memfd:NAME" is dead from
// the start, so /proc/self/fd shows "/memfd:NAME (deleted)". Being a tmpfs file it reads,
// writes, truncates and maps (shared or private) like any other; seals are tmpfs's
// (fs/memfd/seals.h).

#include "fs/file.h"
#include "fs/memfd/seals.h"
#include "fs/vfs/caller.h"
#include "platform/base/result.h"
#include "sentry/mm/mappable.h"

#include <memory>
#include <string>

namespace moat::fs {

class Vfs;

// Linux's MFD_NAME_MAX_LEN: the longest name (bytes before the NUL), without "memfd:".
inline constexpr size_t kMemfdNameMax = 249;

// A new memfd. `flags` were validated by the syscall layer (MFD_ALLOW_SEALING,
// MFD_NOEXEC_SEAL, MFD_EXEC; MFD_CLOEXEC is the fd table's).
Result<std::shared_ptr<File>> CreateMemfd(Vfs& vfs, const FsCaller& caller, const std::string& name,
                                          unsigned flags);

// The seals of `file` (a tmpfs regular file), or null: fcntl's seals give EINVAL then.
Seals* SealsOf(File& file);

// What mmap uses for a MAP_SHARED mapping of `file`: `mappable` itself, or, when the file has
// seals and the mapping is writable, a wrapper counting it for F_SEAL_WRITE's EBUSY (EPERM
// under a write seal). Null `mappable` passes through.
Result<std::shared_ptr<mm::Mappable>> SealCheckedMappable(File& file, std::shared_ptr<mm::Mappable> mappable,
                                                          bool writable);

}  // namespace moat::fs
