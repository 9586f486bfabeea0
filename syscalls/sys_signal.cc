// Signal bookkeeping for program start-up: actions and masks are recorded; delivery arrives
// with the signals issue (#3).

#include "sentry/kernel/signals.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <signal.h>

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

namespace moat::syscalls {

namespace {
constexpr uint64_t kSigsetSize = 8;
constexpr uint64_t Bit(int sig) { return 1ull << (sig - 1); }
}  // namespace

// Implements Linux rt_sigaction(2). Handlers are recorded, not yet invoked.
SyscallResult sys_rt_sigaction(kernel::Task& t, const SyscallArgs& a) {
    int sig = arg_int(a, 0);
    if (a[3] != kSigsetSize)
        return Error(EINVAL);
    if (sig < 1 || sig > kernel::kNumSignals)
        return Error(EINVAL);
    kernel::KernelSigaction act{};
    if (a[1]) {
        if (sig == SIGKILL || sig == SIGSTOP)
            return Error(EINVAL);
        act = TRY(t.mm().CopyInObject<kernel::KernelSigaction>(arg_addr(a, 1)));
        act.mask &= ~(Bit(SIGKILL) | Bit(SIGSTOP));
    }
    if (a[2])
        TRY(t.mm().CopyOutObject(arg_addr(a, 2), t.thread_group().sigaction(sig)));
    if (a[1])
        t.thread_group().set_sigaction(sig, act);
    return 0;
}

// Implements Linux rt_sigprocmask(2).
SyscallResult sys_rt_sigprocmask(kernel::Task& t, const SyscallArgs& a) {
    int how = arg_int(a, 0);
    if (a[3] != kSigsetSize)
        return Error(EINVAL);
    uint64_t old = t.signal_mask();
    uint64_t set = 0;
    if (a[1]) {
        if (how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK)
            return Error(EINVAL);
        set = TRY(t.mm().CopyInObject<uint64_t>(arg_addr(a, 1)));
    }
    if (a[2])
        TRY(t.mm().CopyOutObject<uint64_t>(arg_addr(a, 2), old));
    if (a[1]) {
        uint64_t mask = how == SIG_BLOCK ? (old | set) : how == SIG_UNBLOCK ? (old & ~set) : set;
        t.set_signal_mask(mask);
    }
    return 0;
}

// Implements Linux sigaltstack(2): recorded only until delivery lands.
SyscallResult sys_sigaltstack(kernel::Task& t, const SyscallArgs& a) {
    constexpr uint64_t kMinSigStackSize = 2048;  // MINSIGSTKSZ
    if (a[1]) {
        stack_t old{};
        old.ss_sp = reinterpret_cast<void*>(t.altstack.sp);
        old.ss_size = t.altstack.size;
        old.ss_flags = t.altstack.size ? t.altstack.flags : SS_DISABLE;
        TRY(t.mm().CopyOutObject(arg_addr(a, 1), old));
    }
    if (a[0]) {
        auto ss = TRY(t.mm().CopyInObject<stack_t>(arg_addr(a, 0)));
        int mode = ss.ss_flags & ~SS_AUTODISARM;
        if (mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK)
            return Error(EINVAL);
        if (mode == SS_DISABLE) {
            t.altstack = {};
        } else {
            if (ss.ss_size < kMinSigStackSize)
                return Error(ENOMEM);
            t.altstack = kernel::Task::AltStack{reinterpret_cast<uint64_t>(ss.ss_sp), ss.ss_size, static_cast<int>(ss.ss_flags & SS_AUTODISARM)};
        }
    }
    return 0;
}

}  // namespace moat::syscalls

namespace moat::syscalls {

namespace {
// Sending within the one process Moat runs today; other processes arrive with #3.
SyscallResult SendToSelf(kernel::Task& t, pid_t target_pid, int sig) {
    if (sig < 0 || sig > kernel::kNumSignals)
        return Error(EINVAL);
    if (target_pid != t.pid())
        return Error(ESRCH);
    if (sig != 0)
        kernel::SendSignalToGroup(t, sig);
    return 0;
}
}  // namespace

// Implements Linux kill(2) for the caller's own process (and its group: pid 0 / -1).
SyscallResult sys_kill(kernel::Task& t, const SyscallArgs& a) {
    pid_t pid = arg_int(a, 0);
    int sig = arg_int(a, 1);
    if (pid == 0 || pid == -1 || pid == -t.thread_group().pgid())
        pid = t.pid();
    return SendToSelf(t, pid, sig);
}

// Implements Linux tkill(2).
SyscallResult sys_tkill(kernel::Task& t, const SyscallArgs& a) {
    pid_t tid = arg_int(a, 0);
    if (tid <= 0)
        return Error(EINVAL);
    return SendToSelf(t, tid == t.tid() ? t.pid() : -1, arg_int(a, 1));
}

// Implements Linux tgkill(2).
SyscallResult sys_tgkill(kernel::Task& t, const SyscallArgs& a) {
    pid_t tgid = arg_int(a, 0), tid = arg_int(a, 1);
    if (tgid <= 0 || tid <= 0)
        return Error(EINVAL);
    return SendToSelf(t, (tgid == t.pid() && tid == t.tid()) ? t.pid() : -1, arg_int(a, 2));
}

}  // namespace moat::syscalls
