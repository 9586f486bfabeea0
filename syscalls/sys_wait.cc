// Waiting for children: wait4, waitid. The process tree (sentry/kernel/process_tree.h) finds
// and reaps the zombies. Differs: job-control stops are not reported yet (no stopped or
// continued children exist until signal stops land); __WNOTHREAD is accepted but every
// thread waits for the whole group's children.

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/process_tree.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <climits>
#include <cstring>

namespace moat::syscalls {

namespace {
constexpr int kWaitThreadFlags = __WNOTHREAD | __WCLONE | __WALL;
}  // namespace

// Implements Linux wait4(2).
SyscallResult sys_wait4(kernel::Task& t, const SyscallArgs& a) {
    pid_t pid = arg_int(a, 0);
    int options = arg_int(a, 2);
    if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | kWaitThreadFlags))
        return Error(EINVAL);
    // INT_MIN cannot be negated into a process group id.
    if (pid == INT_MIN)
        return Error(ESRCH);
    kernel::WaitRequest req;
    req.options = options | WEXITED;
    if (pid > 0) {
        req.which = kernel::WaitRequest::Which::Pid;
        req.id = pid;
    } else if (pid == 0) {
        req.which = kernel::WaitRequest::Which::Pgid;
        req.id = t.thread_group().pgid();
    } else if (pid < -1) {
        req.which = kernel::WaitRequest::Which::Pgid;
        req.id = -pid;
    }
    auto res = TRY(t.kernel().processes().Wait(t, req));
    if (!res)
        return 0;
    if (a[1])
        TRY(t.mm().CopyOutObject<int>(arg_addr(a, 1), res->status));
    if (a[3]) {
        struct rusage ru = res->usage.ToRusage();
        TRY(t.mm().CopyOutObject(arg_addr(a, 3), ru));
    }
    return static_cast<uint64_t>(res->pid);
}

// Implements Linux waitid(2). P_PIDFD is not offered (no pidfds yet): EINVAL.
SyscallResult sys_waitid(kernel::Task& t, const SyscallArgs& a) {
    int idtype = arg_int(a, 0);
    pid_t id = arg_int(a, 1);
    int options = arg_int(a, 3);
    if (options & ~(WNOHANG | WNOWAIT | WEXITED | WSTOPPED | WCONTINUED | kWaitThreadFlags))
        return Error(EINVAL);
    if (!(options & (WEXITED | WSTOPPED | WCONTINUED)))
        return Error(EINVAL);
    kernel::WaitRequest req;
    req.options = options;
    switch (idtype) {
    case P_ALL:
        break;
    case P_PID:
        if (id <= 0)
            return Error(EINVAL);
        req.which = kernel::WaitRequest::Which::Pid;
        req.id = id;
        break;
    case P_PGID:
        if (id < 0)
            return Error(EINVAL);
        req.which = kernel::WaitRequest::Which::Pgid;
        req.id = id ? id : t.thread_group().pgid();
        break;
    default:
        return Error(EINVAL);
    }
    auto res = TRY(t.kernel().processes().Wait(t, req));
    if (a[2]) {
        siginfo_t si;
        memset(&si, 0, sizeof(si));
        // WNOHANG with nothing to report leaves a zeroed siginfo (si_pid 0), as Linux does.
        if (res) {
            si.si_signo = SIGCHLD;
            si.si_code = res->code;
            si.si_pid = res->pid;
            si.si_uid = res->uid;
            si.si_status = res->code_status;
        }
        TRY(t.mm().CopyOutObject(arg_addr(a, 2), si));
    }
    if (a[4]) {
        // Linux fills it only for a reported child; zeros otherwise.
        struct rusage ru = res ? res->usage.ToRusage() : rusage{};
        TRY(t.mm().CopyOutObject(arg_addr(a, 4), ru));
    }
    return 0;
}

}  // namespace moat::syscalls
