// Signals: actions, masks, the alternate stack, waiting for signals, sending, and
// rt_sigreturn / restart_syscall. Delivery itself is the kernel's (task_signals.cc).

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/signal_frame.h"
#include "sentry/kernel/signals.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/kernel/wait_queue.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <signal.h>
#include <time.h>

#include <chrono>

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

namespace moat::syscalls {

using kernel::SigBit;

namespace {
constexpr uint64_t kSigsetSize = 8;

bool ValidSignal(int sig) { return sig >= 0 && sig <= kernel::kNumSignals; }

bool IgnoredAction(const kernel::KernelSigaction& act, int sig) {
    if (act.handler == reinterpret_cast<uint64_t>(SIG_IGN))
        return true;
    auto d = kernel::DefaultActionOf(sig);
    return act.handler == reinterpret_cast<uint64_t>(SIG_DFL) &&
           (d == kernel::DefaultAction::Ignore || d == kernel::DefaultAction::Continue);
}
}  // namespace

// Implements Linux rt_sigaction(2).
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
        act.mask &= ~kernel::kUnblockableSignals;
    }
    if (a[2])
        TRY(t.mm().CopyOutObject(arg_addr(a, 2), t.thread_group().sigaction(sig)));
    if (a[1]) {
        kernel::ThreadGroup& tg = t.thread_group();
        tg.set_sigaction(sig, act);
        // POSIX: making a pending signal ignored discards it.
        if (IgnoredAction(act, sig)) {
            std::lock_guard lock(tg.signal_lock());
            tg.shared_pending().Discard(SigBit(sig));
            for (kernel::Task* other : tg.tasks())
                other->pending_signals().Discard(SigBit(sig));
        }
    }
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
        t.set_signal_mask(mask);  // newly unblocked pending signals are delivered on return
    }
    return 0;
}

// Implements Linux sigaltstack(2).
SyscallResult sys_sigaltstack(kernel::Task& t, const SyscallArgs& a) {
    constexpr uint64_t kMinSigStackSize = 2048;  // MINSIGSTKSZ
    const uint64_t sp = t.regs().rsp;
    if (a[1]) {
        stack_t old{};
        old.ss_sp = reinterpret_cast<void*>(t.altstack.sp);
        old.ss_size = t.altstack.size;
        old.ss_flags = kernel::AltStackFlags(t, sp) | (t.altstack.size ? t.altstack.flags : 0);
        TRY(t.mm().CopyOutObject(arg_addr(a, 1), old));
    }
    if (a[0]) {
        auto ss = TRY(t.mm().CopyInObject<stack_t>(arg_addr(a, 0)));
        if (kernel::OnAltStack(t, sp))
            return Error(EPERM);
        int mode = ss.ss_flags & ~static_cast<int>(SS_AUTODISARM);
        if (mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK)
            return Error(EINVAL);
        if (mode == SS_DISABLE) {
            t.altstack = {};
        } else {
            if (ss.ss_size < kMinSigStackSize)
                return Error(ENOMEM);
            t.altstack = kernel::Task::AltStack{reinterpret_cast<uint64_t>(ss.ss_sp), ss.ss_size,
                                                static_cast<int>(ss.ss_flags & SS_AUTODISARM)};
        }
    }
    return 0;
}

// Implements Linux rt_sigreturn(2). A bad frame is a SIGSEGV, as on Linux.
SyscallResult sys_rt_sigreturn(kernel::Task& t, const SyscallArgs&) {
    if (auto r = kernel::RestoreRtFrame(t); !r.ok()) {
        kernel::ForceSignal(t, kernel::MakeSigInfo(SIGSEGV, SI_KERNEL));
        return 0;
    }
    return t.regs().rax;  // regs_replaced: the dispatcher leaves rax as restored
}

// Implements Linux rt_sigpending(2): pending signals that are blocked.
SyscallResult sys_rt_sigpending(kernel::Task& t, const SyscallArgs& a) {
    if (a[1] > kSigsetSize)
        return Error(EINVAL);
    uint64_t set;
    {
        std::lock_guard lock(t.thread_group().signal_lock());
        set = (t.pending_signals().set() | t.thread_group().shared_pending().set()) & t.signal_mask();
    }
    TRY(t.mm().CopyOut(arg_addr(a, 0), &set, a[1]));
    return 0;
}

namespace {
// Sleeps until a signal is deliverable (or the task must exit); the restart code tells
// delivery what to do with the call after that.
SyscallResult WaitForSignal(kernel::Task& t) {
    kernel::WaitQueue never;
    (void)t.Block(never, [&] { return t.HasDeliverableSignal(); });
    return Error(ERESTARTNOHAND);
}
}  // namespace

// Implements Linux pause(2).
SyscallResult sys_pause(kernel::Task& t, const SyscallArgs&) { return WaitForSignal(t); }

// Implements Linux rt_sigsuspend(2): the old mask comes back once a handler ran (via its
// frame's uc_sigmask) or the signal was otherwise taken.
SyscallResult sys_rt_sigsuspend(kernel::Task& t, const SyscallArgs& a) {
    if (a[1] != kSigsetSize)
        return Error(EINVAL);
    uint64_t mask = TRY(t.mm().CopyInObject<uint64_t>(arg_addr(a, 0)));
    t.saved_signal_mask = t.signal_mask();
    t.set_signal_mask(mask);
    return WaitForSignal(t);
}

// Implements Linux rt_sigtimedwait(2).
SyscallResult sys_rt_sigtimedwait(kernel::Task& t, const SyscallArgs& a) {
    if (a[3] != kSigsetSize)
        return Error(EINVAL);
    uint64_t set = TRY(t.mm().CopyInObject<uint64_t>(arg_addr(a, 0))) & ~kernel::kUnblockableSignals;
    std::optional<std::chrono::steady_clock::time_point> deadline;
    if (a[2]) {
        auto ts = TRY(t.mm().CopyInObject<struct timespec>(arg_addr(a, 2)));
        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
            return Error(EINVAL);
        deadline = std::chrono::steady_clock::now() + std::chrono::seconds(ts.tv_sec) +
                   std::chrono::nanoseconds(ts.tv_nsec);
    }
    kernel::ThreadGroup& tg = t.thread_group();
    auto take = [&]() -> std::optional<siginfo_t> {
        std::lock_guard lock(tg.signal_lock());
        auto info = t.pending_signals().Dequeue(set);
        return info ? info : tg.shared_pending().Dequeue(set);
    };
    auto info = take();
    if (!info) {
        if (deadline && *deadline <= std::chrono::steady_clock::now())
            return Error(EAGAIN);
        t.sigwait_set.store(set);
        kernel::WaitQueue never;
        auto r = t.Block(never, [&] {
            std::lock_guard lock(tg.signal_lock());
            return ((t.pending_signals().set() | tg.shared_pending().set()) & set) != 0;
        }, deadline);
        t.sigwait_set.store(0);
        info = take();
        if (!info)
            return Error(r.ok() || r.error() == ETIMEDOUT ? EAGAIN : EINTR);
    }
    if (a[1])
        TRY(t.mm().CopyOutObject(arg_addr(a, 1), *info));
    return static_cast<uint64_t>(info->si_signo);
}

// Implements Linux restart_syscall(2): resumes a call interrupted with ERESTART_RESTARTBLOCK.
SyscallResult sys_restart_syscall(kernel::Task& t, const SyscallArgs&) {
    auto fn = std::move(t.restart_block);
    t.restart_block = nullptr;
    if (!fn)
        return Error(EINTR);
    return fn(t);
}

// ---- Sending ----

namespace {

// Moat's sandbox is one user namespace whose root may signal anything: no EPERM checks
// beyond the siginfo rules of rt_sigqueueinfo.
Result<void> SendToGroup(kernel::ThreadGroup& tg, const siginfo_t& info) {
    if (info.si_signo == 0)
        return {};
    return kernel::SendGroupSignal(tg, info);
}

// The task with thread id `tid` (in group `tgid` when > 0); `keep` holds its group alive.
kernel::Task* FindTask(kernel::Task& self, pid_t tgid, pid_t tid, std::shared_ptr<kernel::ThreadGroup>& keep) {
    kernel::Task* found = nullptr;
    auto look = [&](kernel::ThreadGroup& tg) {
        if (found || (tgid > 0 && tg.pid() != tgid))
            return;
        for (kernel::Task* task : tg.tasks())
            if (task->tid() == tid && !task->exiting())
                found = task;
        if (found)
            keep = self.kernel().FindThreadGroup(tg.pid());
    };
    if (tgid > 0) {
        if (auto tg = self.kernel().FindThreadGroup(tgid))
            look(*tg);
    } else {
        self.kernel().ForEachThreadGroup(look);
    }
    return found;
}

Result<void> KillOne(kernel::Task& self, pid_t pid, const siginfo_t& info) {
    std::shared_ptr<kernel::ThreadGroup> tg = self.kernel().FindThreadGroup(pid);
    if (!tg) {
        // kill(2) also takes a thread id: the signal goes to that thread's process.
        if (!FindTask(self, 0, pid, tg) || !tg)
            return Error(ESRCH);
    }
    if (tg->exiting() && tg->tasks().empty())
        return Error(ESRCH);
    return SendToGroup(*tg, info);
}

// kill(0), kill(-pgrp), kill(-1): every matching process; ESRCH when none matched.
Result<void> KillMany(kernel::Task& self, pid_t pgrp, const siginfo_t& info) {
    bool any = false;
    int err = 0;
    self.kernel().ForEachThreadGroup([&](kernel::ThreadGroup& tg) {
        if (pgrp > 0 ? tg.pgid() != pgrp : (tg.pid() <= 1 || &tg == &self.thread_group()))
            return;
        if (tg.tasks().empty())
            return;
        auto r = SendToGroup(tg, info);
        if (r.ok())
            any = true;
        else
            err = r.error();
    });
    if (any)
        return {};
    return Error(err ? err : ESRCH);
}

Result<siginfo_t> CopyInQueueInfo(kernel::Task& t, mm::UserAddr addr, int sig, pid_t target, pid_t self_id) {
    auto info = TRY(t.mm().CopyInObject<siginfo_t>(addr));
    // Only the kernel may claim kill()/tkill() (si_code >= 0 or SI_TKILL) for another task.
    if ((info.si_code >= 0 || info.si_code == SI_TKILL) && target != self_id)
        return Error(EPERM);
    info.si_signo = sig;
    return info;
}

}  // namespace

// Implements Linux kill(2).
SyscallResult sys_kill(kernel::Task& t, const SyscallArgs& a) {
    pid_t pid = arg_int(a, 0);
    int sig = arg_int(a, 1);
    if (!ValidSignal(sig))
        return Error(EINVAL);
    siginfo_t info = kernel::MakeSigInfo(sig, SI_USER, t.pid(), t.creds().ruid);
    if (pid > 0)
        TRY(KillOne(t, pid, info));
    else if (pid == 0)
        TRY(KillMany(t, t.thread_group().pgid(), info));
    else if (pid == -1)
        TRY(KillMany(t, 0, info));
    else if (pid == INT32_MIN)
        return Error(ESRCH);
    else
        TRY(KillMany(t, -pid, info));
    return 0;
}

namespace {
SyscallResult SendToThread(kernel::Task& t, pid_t tgid, pid_t tid, const siginfo_t& info) {
    std::shared_ptr<kernel::ThreadGroup> keep;
    kernel::Task* target = FindTask(t, tgid, tid, keep);
    if (!target)
        return Error(ESRCH);
    if (info.si_signo != 0)
        TRY(kernel::SendSignal(*target, info));
    return 0;
}
}  // namespace

// Implements Linux tkill(2).
SyscallResult sys_tkill(kernel::Task& t, const SyscallArgs& a) {
    pid_t tid = arg_int(a, 0);
    int sig = arg_int(a, 1);
    if (tid <= 0 || !ValidSignal(sig))
        return Error(EINVAL);
    return SendToThread(t, 0, tid, kernel::MakeSigInfo(sig, SI_TKILL, t.pid(), t.creds().ruid));
}

// Implements Linux tgkill(2).
SyscallResult sys_tgkill(kernel::Task& t, const SyscallArgs& a) {
    pid_t tgid = arg_int(a, 0), tid = arg_int(a, 1);
    int sig = arg_int(a, 2);
    if (tgid <= 0 || tid <= 0 || !ValidSignal(sig))
        return Error(EINVAL);
    return SendToThread(t, tgid, tid, kernel::MakeSigInfo(sig, SI_TKILL, t.pid(), t.creds().ruid));
}

// Implements Linux rt_sigqueueinfo(2).
SyscallResult sys_rt_sigqueueinfo(kernel::Task& t, const SyscallArgs& a) {
    pid_t pid = arg_int(a, 0);
    int sig = arg_int(a, 1);
    if (!ValidSignal(sig))
        return Error(EINVAL);
    siginfo_t info = TRY(CopyInQueueInfo(t, arg_addr(a, 2), sig, pid, t.pid()));
    TRY(KillOne(t, pid, info));
    return 0;
}

// Implements Linux rt_tgsigqueueinfo(2).
SyscallResult sys_rt_tgsigqueueinfo(kernel::Task& t, const SyscallArgs& a) {
    pid_t tgid = arg_int(a, 0), tid = arg_int(a, 1);
    int sig = arg_int(a, 2);
    if (tgid <= 0 || tid <= 0 || !ValidSignal(sig))
        return Error(EINVAL);
    siginfo_t info = TRY(CopyInQueueInfo(t, arg_addr(a, 3), sig, tid, t.tid()));
    return SendToThread(t, tgid, tid, info);
}

}  // namespace moat::syscalls
