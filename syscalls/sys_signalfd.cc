// signalfd(2) and signalfd4(2); reading is fs::SignalFdFile's.

#include "fs/events/signalfd.h"
#include "fs/fd_table.h"
#include "fs/task_fs.h"
#include "sentry/kernel/signals.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <poll.h>
#include <sys/signalfd.h>

namespace moat::syscalls {

namespace {
constexpr uint64_t kSigsetSize = 8;

// do_signalfd4: fd -1 makes a new signalfd; an existing signalfd gets the new mask.
SyscallResult DoSignalFd(kernel::Task& t, int fd, mm::UserAddr mask_addr, uint64_t size, int flags) {
    if (size != kSigsetSize)
        return Error(EINVAL);
    uint64_t mask = TRY(t.mm().CopyInObject<uint64_t>(mask_addr)) & ~kernel::kUnblockableSignals;
    if (flags & ~(SFD_CLOEXEC | SFD_NONBLOCK))
        return Error(EINVAL);
    if (fd == -1) {
        auto file = std::make_shared<fs::SignalFdFile>(mask, flags & SFD_NONBLOCK);
        return TRY(t.fd_table().Install(std::move(file), flags & SFD_CLOEXEC, 0, fs::NofileLimit(t)));
    }
    auto file = TRY(fs::GetFile(t, fd));
    auto sfd = std::dynamic_pointer_cast<fs::SignalFdFile>(file);
    if (!sfd)
        return Error(EINVAL);
    sfd->set_mask(mask);
    t.thread_group().signalfd_events()->Notify(POLLIN);  // readiness may have changed
    return static_cast<uint64_t>(fd);
}
}  // namespace

// Implements Linux signalfd(2).
SyscallResult sys_signalfd(kernel::Task& t, const SyscallArgs& a) {
    return DoSignalFd(t, arg_int(a, 0), arg_addr(a, 1), a[2], 0);
}

// Implements Linux signalfd4(2).
SyscallResult sys_signalfd4(kernel::Task& t, const SyscallArgs& a) {
    return DoSignalFd(t, arg_int(a, 0), arg_addr(a, 1), a[2], arg_int(a, 3));
}

}  // namespace moat::syscalls
