#include "fs/fd_table.h"
#include "fs/pipe/pipe.h"
#include "fs/task_fs.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

namespace moat::syscalls {

namespace {
SyscallResult DoPipe(kernel::Task& t, mm::UserAddr fds_addr, int flags) {
    if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT))
        return Error(EINVAL);
    auto [reader, writer] = fs::Pipe::Create(t.kernel().NextAnonInode(), flags);
    bool cloexec = flags & O_CLOEXEC;
    int limit = fs::NofileLimit(t);
    int rfd = TRY(t.fd_table().Install(std::move(reader), cloexec, 0, limit));
    auto wfd = t.fd_table().Install(std::move(writer), cloexec, 0, limit);
    if (!wfd.ok()) {
        (void)t.fd_table().Close(rfd);
        return Error(wfd.error());
    }
    int fds[2] = {rfd, *wfd};
    if (!t.mm().CopyOut(fds_addr, fds, sizeof(fds)).ok()) {
        (void)t.fd_table().Close(rfd);
        (void)t.fd_table().Close(*wfd);
        return Error(EFAULT);
    }
    return 0;
}
}  // namespace

// Implements Linux pipe(2).
SyscallResult sys_pipe(kernel::Task& t, const SyscallArgs& a) { return DoPipe(t, arg_addr(a, 0), 0); }

// Implements Linux pipe2(2). O_DIRECT (packet mode) is accepted but the pipe stays a stream.
SyscallResult sys_pipe2(kernel::Task& t, const SyscallArgs& a) { return DoPipe(t, arg_addr(a, 0), arg_int(a, 1)); }

}  // namespace moat::syscalls
