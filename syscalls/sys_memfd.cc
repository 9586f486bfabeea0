// memfd_create(2) and fcntl's seal commands (FcntlSeals).

#include "fs/fd_table.h"
#include "fs/memfd/memfd.h"
#include "fs/task_fs.h"
#include "fs/vfs.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/fcntl_ops.h"
#include "syscalls/handlers.h"

#include <fcntl.h>
#include <linux/memfd.h>

namespace moat::syscalls {

namespace {
constexpr unsigned kMfdKnown = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | fs::kMfdNoexecSeal | fs::kMfdExec;
}  // namespace

// Implements Linux memfd_create(2). Differs: MFD_HUGETLB is EINVAL (the sandbox has no huge
// pages; Linux gives EINVAL too where hugetlbfs is absent).
SyscallResult sys_memfd_create(kernel::Task& task, const SyscallArgs& args) {
    unsigned flags = arg_uint(args, 1);
    if (flags & MFD_HUGETLB)
        return Error(EINVAL);
    if (flags & ~kMfdKnown)
        return Error(EINVAL);
    if ((flags & fs::kMfdExec) && (flags & fs::kMfdNoexecSeal))
        return Error(EINVAL);
    auto name = task.mm().CopyInString(arg_addr(args, 0), fs::kMemfdNameMax);
    if (!name.ok())
        return Error(name.error() == ENAMETOOLONG ? EINVAL : name.error());
    auto file = TRY(fs::CreateMemfd(task.kernel().vfs(), fs::CallerOf(task), *name, flags));
    int fd = TRY(task.fd_table().Install(std::move(file), (flags & MFD_CLOEXEC) != 0, 0, fs::NofileLimit(task)));
    return static_cast<uint64_t>(fd);
}

// fcntl(2) F_ADD_SEALS / F_GET_SEALS (memfd_fcntl): EPERM to seal through a read-only
// description; EINVAL for files that are not tmpfs files.
SyscallResult FcntlSeals(kernel::Task&, const std::shared_ptr<fs::File>& file, int cmd, uint64_t arg) {
    fs::Seals* seals = fs::SealsOf(*file);
    if (cmd == F_GET_SEALS) {
        if (!seals)
            return Error(EINVAL);
        return seals->get();
    }
    if (!file->writable())
        return Error(EPERM);
    auto want = static_cast<uint32_t>(arg);
    if (want & ~fs::Seals::kAll)
        return Error(EINVAL);
    if (!seals)
        return Error(EINVAL);
    TRY(seals->Add(want));
    return 0;
}

}  // namespace moat::syscalls
