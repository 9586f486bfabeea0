// Creating tasks: clone, clone3, fork, vfork. The flags are validated here exactly as Linux's
// copy_process does; Task::Clone (sentry/kernel/task_clone.cc) does the work.

#include "sentry/kernel/process_tree.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <linux/sched.h>
#include <signal.h>

namespace moat::syscalls {

namespace {

constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
                                     CLONE_NEWNET | CLONE_NEWCGROUP;

SyscallResult DoClone(kernel::Task& t, kernel::CloneArgs args) {
    const uint64_t f = args.flags;
    if ((f & (CLONE_NEWNS | CLONE_FS)) == (CLONE_NEWNS | CLONE_FS))
        return Error(EINVAL);
    if ((f & (CLONE_NEWUSER | CLONE_FS)) == (CLONE_NEWUSER | CLONE_FS))
        return Error(EINVAL);
    if ((f & CLONE_THREAD) && !(f & CLONE_SIGHAND))
        return Error(EINVAL);
    if ((f & CLONE_SIGHAND) && !(f & CLONE_VM))
        return Error(EINVAL);
    // PID 1 cannot make siblings (it has no parent in the sandbox).
    if ((f & CLONE_PARENT) && t.thread_group().parent_pid() == 0)
        return Error(EINVAL);
    if ((f & CLONE_THREAD) && (f & (CLONE_NEWUSER | CLONE_NEWPID)))
        return Error(EINVAL);
    if ((f & CLONE_CLEAR_SIGHAND) && (f & CLONE_SIGHAND))
        return Error(EINVAL);
    // FIXME(#3): pidfds are not offered yet.
    if (f & CLONE_PIDFD)
        return Error(EINVAL);
    // Namespaces need privileges the sandbox does not grant (for now).
    if (f & (kNamespaceFlags | CLONE_NEWTIME))
        return Error(EPERM);
    if (f & CLONE_THREAD)
        args.exit_signal = 0;
    auto child = TRY(t.Clone(args));
    return static_cast<uint64_t>(child->tid());
}

}  // namespace

// Implements Linux clone(2) (x86-64 argument order: flags, stack, parent_tid, child_tid, tls).
// Differs: namespace flags fail with EPERM, CLONE_PIDFD with EINVAL.
SyscallResult sys_clone(kernel::Task& t, const SyscallArgs& a) {
    kernel::CloneArgs args;
    // Linux uses only the lower 32 bits (so clone3-only flags cannot be passed this way).
    args.flags = (a[0] & 0xffffffff) & ~uint64_t{CSIGNAL};
    args.exit_signal = static_cast<int>(a[0] & CSIGNAL);
    if (args.exit_signal > kernel::kNumSignals)
        args.exit_signal = 0;  // Linux accepts it and then sends nothing valid
    args.stack = a[1];
    args.parent_tid = a[2];
    args.child_tid = a[3];
    args.tls = a[4];
    return DoClone(t, args);
}

// Implements Linux fork(2).
SyscallResult sys_fork(kernel::Task& t, const SyscallArgs&) {
    kernel::CloneArgs args;
    args.exit_signal = SIGCHLD;
    return DoClone(t, args);
}

// Implements Linux vfork(2): the parent waits until the child execs or exits.
SyscallResult sys_vfork(kernel::Task& t, const SyscallArgs&) {
    kernel::CloneArgs args;
    args.flags = CLONE_VM | CLONE_VFORK;
    args.exit_signal = SIGCHLD;
    return DoClone(t, args);
}

// Implements Linux clone3(2). Differs: set_tid fails with EPERM, CLONE_INTO_CGROUP with EINVAL.
SyscallResult sys_clone3(kernel::Task& t, const SyscallArgs& a) {
    struct CloneArgs3 {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
            cgroup;
    };
    constexpr size_t kVer0 = 64;
    constexpr size_t kPage = 4096;
    size_t size = a[1];
    if (size > kPage)
        return Error(E2BIG);
    if (size < kVer0)
        return Error(EINVAL);
    CloneArgs3 ua{};
    TRY(t.mm().CopyIn(arg_addr(a, 0), &ua, std::min(size, sizeof(ua))));
    // A larger struct from a newer libc is fine only if the part we do not know is zero.
    for (size_t off = sizeof(ua); off < size; off += 8) {
        uint8_t tail[8] = {};
        size_t n = std::min<size_t>(8, size - off);
        TRY(t.mm().CopyIn(mm::UserAddr(a[0] + off), tail, n));
        for (size_t i = 0; i < n; ++i)
            if (tail[i])
                return Error(E2BIG);
    }
    if (ua.exit_signal & ~uint64_t{CSIGNAL} || ua.exit_signal > static_cast<uint64_t>(kernel::kNumSignals))
        return Error(EINVAL);
    if (ua.flags & ~(uint64_t{0xffffffff} | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP))
        return Error(EINVAL);
    // The signal goes in exit_signal; CSIGNAL's bits (but CLONE_NEWTIME) and CLONE_DETACHED are
    // reserved in clone3's flags.
    if (ua.flags & (CLONE_DETACHED | (CSIGNAL & ~uint64_t{CLONE_NEWTIME})))
        return Error(EINVAL);
    if ((ua.flags & (CLONE_THREAD | CLONE_PARENT)) && ua.exit_signal)
        return Error(EINVAL);
    if (ua.set_tid_size > 32 || (!ua.set_tid && ua.set_tid_size) || (ua.set_tid && !ua.set_tid_size))
        return Error(EINVAL);
    if (ua.set_tid_size)
        return Error(EPERM);
    if ((ua.stack == 0) != (ua.stack_size == 0))
        return Error(EINVAL);
    if (ua.flags & CLONE_INTO_CGROUP)
        return Error(EINVAL);
    kernel::CloneArgs args;
    args.flags = ua.flags;
    args.exit_signal = static_cast<int>(ua.exit_signal);
    args.stack = ua.stack ? ua.stack + ua.stack_size : 0;
    args.tls = ua.tls;
    args.parent_tid = ua.parent_tid;
    args.child_tid = ua.child_tid;
    return DoClone(t, args);
}

}  // namespace moat::syscalls
