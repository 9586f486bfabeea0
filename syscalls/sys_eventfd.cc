// eventfd(2) and eventfd2(2); the counter is fs::EventFdFile.

#include "fs/events/eventfd.h"
#include "fs/fd_table.h"
#include "fs/task_fs.h"
#include "sentry/kernel/task.h"
#include "syscalls/handlers.h"

#include <sys/eventfd.h>

namespace moat::syscalls {

namespace {
SyscallResult CreateEventFd(kernel::Task& t, unsigned initial, int flags) {
    if (flags & ~(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE))
        return Error(EINVAL);
    auto file = std::make_shared<fs::EventFdFile>(initial, flags & EFD_SEMAPHORE, flags & EFD_NONBLOCK);
    return TRY(t.fd_table().Install(std::move(file), flags & EFD_CLOEXEC, 0, fs::NofileLimit(t)));
}
}  // namespace

// Implements Linux eventfd(2).
SyscallResult sys_eventfd(kernel::Task& t, const SyscallArgs& a) { return CreateEventFd(t, arg_uint(a, 0), 0); }

// Implements Linux eventfd2(2).
SyscallResult sys_eventfd2(kernel::Task& t, const SyscallArgs& a) {
    return CreateEventFd(t, arg_uint(a, 0), arg_int(a, 1));
}

}  // namespace moat::syscalls
