// The memory syscalls: thin decoders over MemoryManager, which holds Linux's checks.

#include "fs/fd_table.h"
#include "fs/file.h"
#include "fs/memfd/memfd.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"
#include "sentry/kernel/thread_group.h"
#include "syscalls/handlers.h"

#include <sys/mman.h>

namespace moat::syscalls {

// Implements Linux mmap(2). Differences: MAP_HUGETLB gives ENOMEM (no huge pages are
// reserved, as on a default host); MAP_LOCKED and MAP_POPULATE are accepted and ignored
// (pages are populated on fault); a file that cannot be mapped gives ENODEV before the
// address checks rather than after them.
SyscallResult sys_mmap(kernel::Task& t, const SyscallArgs& a) {
    const uint64_t offset = a[5];
    if (!mm::IsPageAligned(offset))
        return Error(EINVAL);
    const int prot = arg_int(a, 2);
    const int flags = arg_int(a, 3);
    mm::MmapRequest req;
    req.addr = a[0];
    req.length = a[1];
    req.prot = prot;
    req.flags = flags;
    req.offset = offset;
    if (!(flags & MAP_ANONYMOUS)) {
        std::shared_ptr<fs::File> file = TRY(t.fd_table().Get(arg_int(a, 4)));
        if (req.length == 0)
            return Error(EINVAL);
        const int type = flags & MAP_TYPE;
        req.file = file->mappable();
        if (!req.file) {
            if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE)
                return Error(EINVAL);
            if (type != MAP_PRIVATE && (prot & PROT_WRITE) && !file->writable())
                return Error(EACCES);
            if (!file->readable())
                return Error(EACCES);
            return Error(ENODEV);
        }
        // The MemoryManager reads the file's access mode from max_prot (EACCES, and the
        // ceiling for a later mprotect of a shared mapping).
        req.max_prot = PROT_EXEC;
        if (file->readable())
            req.max_prot |= PROT_READ;
        if (file->writable())
            req.max_prot |= PROT_WRITE;
        // memfd seals: a write-sealed file has no writable shared mappings (EPERM, and never
        // by mprotect either); a writable one is counted for F_SEAL_WRITE's EBUSY.
        if (type != MAP_PRIVATE && file->writable()) {
            if (fs::Seals* seals = fs::SealsOf(*file); seals && seals->denies_shared_write()) {
                if (prot & PROT_WRITE)
                    return Error(EPERM);
                req.max_prot &= ~PROT_WRITE;
            }
            req.file = TRY(fs::SealCheckedMappable(*file, std::move(req.file), (prot & PROT_WRITE) != 0));
        }
    } else if (flags & MAP_HUGETLB) {
        if (req.length == 0)
            return Error(EINVAL);
        return Error(ENOMEM);
    }
    // RLIMIT_AS (Linux's may_expand_vm). FIXME: a MAP_FIXED replacement is counted in full.
    struct rlimit as_limit = t.thread_group().rlimit(RLIMIT_AS);
    if (as_limit.rlim_cur != RLIM_INFINITY && req.length != 0) {
        uint64_t len = TRY(mm::PageUpChecked(req.length));
        if (t.mm().virtual_size() + len > as_limit.rlim_cur)
            return Error(ENOMEM);
    }
    return t.mm().Mmap(req);
}

// Implements Linux munmap(2).
SyscallResult sys_munmap(kernel::Task& t, const SyscallArgs& a) {
    TRY(t.mm().Munmap(a[0], a[1]));
    return 0;
}

// Implements Linux mprotect(2). Protection keys are not supported (PKEY bits are EINVAL).
SyscallResult sys_mprotect(kernel::Task& t, const SyscallArgs& a) {
    TRY(t.mm().Mprotect(a[0], a[1], arg_int(a, 2)));
    return 0;
}

// Implements Linux mremap(2).
SyscallResult sys_mremap(kernel::Task& t, const SyscallArgs& a) {
    return t.mm().Mremap(a[0], a[1], a[2], arg_int(a, 3), a[4]);
}

// Implements Linux brk(2): returns the new break, or the old one when it cannot move.
// RLIMIT_DATA is not enforced.
SyscallResult sys_brk(kernel::Task& t, const SyscallArgs& a) {
    return t.mm().Brk(a[0]);
}

// Implements Linux madvise(2). MADV_DONTNEED/MADV_FREE drop private pages (they read as
// zeros, or as the file, again); the other advice is accepted and has no effect.
// MADV_HWPOISON and MADV_SOFT_OFFLINE are EINVAL (a kernel without CONFIG_MEMORY_FAILURE).
SyscallResult sys_madvise(kernel::Task& t, const SyscallArgs& a) {
    TRY(t.mm().Madvise(a[0], a[1], arg_int(a, 2)));
    return 0;
}

// Implements Linux msync(2). Shared file pages already live in the page cache, so there is
// nothing to write back yet; only the argument and mapping checks apply.
SyscallResult sys_msync(kernel::Task& t, const SyscallArgs& a) {
    TRY(t.mm().Msync(a[0], a[1], arg_int(a, 2)));
    return 0;
}

// Implements Linux mincore(2). A page counts as resident when this address space holds a
// frame for it (Linux also counts page-cache pages not yet faulted into file mappings).
SyscallResult sys_mincore(kernel::Task& t, const SyscallArgs& a) {
    TRY(t.mm().Mincore(a[0], a[1], arg_addr(a, 2)));
    return 0;
}

}  // namespace moat::syscalls
