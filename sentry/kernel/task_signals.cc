// Task: signal delivery at each return to app code — choosing a signal, its action, the
// handler frame, job-control stops — and the one place where -ERESTART* codes become EINTR
// or a restart.

#include "platform/base/log.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/process_tree.h"
#include "sentry/kernel/signal_frame.h"
#include "sentry/kernel/signals.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"

#include <sys/syscall.h>

namespace moat::kernel {

namespace {

int RestartCodeOf(const platform::Registers& r) {
    if (static_cast<int64_t>(r.orig_rax) < 0)
        return 0;  // not returning from a syscall (rt_sigreturn sets orig_rax to -1)
    int64_t v = -static_cast<int64_t>(r.rax);
    if (v == ERESTARTSYS || v == ERESTARTNOINTR || v == ERESTARTNOHAND || v == ERESTART_RESTARTBLOCK)
        return static_cast<int>(v);
    return 0;
}

// Re-executes the syscall instruction (2 bytes) with the original number.
void RestartSyscall(platform::Registers& r, int code) {
    r.rax = code == ERESTART_RESTARTBLOCK ? SYS_restart_syscall : r.orig_rax;
    r.rip -= 2;
}

}  // namespace

bool Task::HasDeliverableSignal() {
    std::lock_guard lock(m_tg->signal_lock());
    if (m_tg->stop_state().stopped)
        return true;
    return ((m_pending.set() | m_tg->shared_pending().set()) & ~signal_mask()) != 0;
}

void Task::WaitWhileStopped() {
    for (;;) {
        if (m_exiting || m_tg->exiting() || exit_requested())
            return;
        auto stopped = [&] {
            std::lock_guard lock(m_tg->signal_lock());
            return m_tg->stop_state().stopped;
        };
        if (!stopped())
            return;
        if (!Block(m_tg->stop_queue(), [&] { return !stopped(); }).ok())
            clear_wake_for_signal();  // signals stay pending while stopped; SIGKILL ends the group
    }
}

namespace {

void StopGroup(Task& self, int signo) {
    ThreadGroup& tg = self.thread_group();
    {
        std::lock_guard lock(tg.signal_lock());
        auto& st = tg.stop_state();
        if (st.stopped)
            return;
        st.stopped = true;
        st.stop_signo = signo;
        st.stop_report = true;
        st.continue_report = false;
    }
    log::debug("[{}] group {} stopped by signal {}", self.tid(), tg.pid(), signo);
    tg.stop_queue().Notify();
    self.kernel().processes().NotifyParent(tg);
    for (Task* other : tg.tasks()) {
        if (other != &self) {
            other->WakeForSignal();
            other->Interrupt();
        }
    }
    // Tell the parent, unless it asked not to hear about stops.
    if (auto parent = self.kernel().FindThreadGroup(tg.parent_pid())) {
        if (!(parent->sigaction(SIGCHLD).flags & SA_NOCLDSTOP)) {
            siginfo_t info = MakeSigInfo(SIGCHLD, CLD_STOPPED, tg.pid(), self.creds().ruid);
            info.si_status = signo;
            (void)SendGroupSignal(*parent, info);
        }
    }
}

void ForceSigsegv(Task& t) {
    // Linux's force_sigsegv: the handler could not be set up, so the default action it is.
    t.thread_group().set_sigaction(SIGSEGV, KernelSigaction{});
    ForceSignal(t, MakeSigInfo(SIGSEGV, SI_KERNEL));
}

}  // namespace

// Acts on one dequeued signal. `restart_code` is the pending -ERESTART* of the syscall this
// return ends (0 if none); it is consumed when a handler runs. Returns true when the task is
// ending and delivery must stop.
bool Task::HandleSignal(const siginfo_t& info, int& restart_code) {
    int signo = info.si_signo;
    KernelSigaction act = m_tg->sigaction(signo);
    if (signo == SIGKILL || act.handler == reinterpret_cast<uint64_t>(SIG_DFL)) {
        switch (DefaultActionOf(signo)) {
        case DefaultAction::Ignore:
        case DefaultAction::Continue:
            return false;
        case DefaultAction::Stop:
            StopGroup(*this, signo);
            return false;
        case DefaultAction::Terminate:
        case DefaultAction::CoreDump:
            // No core file is written, so the wait status never has the core bit (0x80).
            KillBySignal(signo);
            return true;
        }
    }
    if (act.handler == reinterpret_cast<uint64_t>(SIG_IGN))
        return false;

    // A handler runs: the interrupted syscall returns EINTR or restarts first.
    switch (restart_code) {
    case ERESTARTNOHAND:
    case ERESTART_RESTARTBLOCK:
        m_regs.rax = static_cast<uint64_t>(-EINTR);
        break;
    case ERESTARTSYS:
        if (act.flags & SA_RESTART)
            RestartSyscall(m_regs, restart_code);
        else
            m_regs.rax = static_cast<uint64_t>(-EINTR);
        break;
    case ERESTARTNOINTR:
        RestartSyscall(m_regs, restart_code);
        break;
    default:
        break;
    }
    restart_code = 0;
    restart_block = nullptr;

    uint64_t old_mask = saved_signal_mask.value_or(signal_mask());
    saved_signal_mask.reset();
    if (auto r = SetupRtFrame(*this, info, act, old_mask); !r.ok()) {
        log::debug("[{}] cannot set up the frame for signal {}: {}", m_tid, signo, strerror(r.error()));
        set_signal_mask(old_mask);
        ForceSigsegv(*this);
        return false;
    }
    uint64_t mask = signal_mask() | act.mask;
    if (!(act.flags & SA_NODEFER))
        mask |= SigBit(signo);
    set_signal_mask(mask);
    if (act.flags & SA_RESETHAND) {
        act.handler = reinterpret_cast<uint64_t>(SIG_DFL);
        m_tg->set_sigaction(signo, act);
    }
    return false;
}

void Task::DeliverSignals(bool after_syscall) {
    int restart_code = after_syscall ? RestartCodeOf(m_regs) : 0;
    for (;;) {
        if (m_exiting || m_tg->exiting() || exit_requested())
            return;
        clear_wake_for_signal();
        WaitWhileStopped();
        if (m_exiting || m_tg->exiting() || exit_requested())
            return;
        std::optional<siginfo_t> info;
        {
            std::lock_guard lock(m_tg->signal_lock());
            uint64_t allowed = ~signal_mask();
            info = m_pending.Dequeue(allowed);
            if (!info)
                info = m_tg->shared_pending().Dequeue(allowed);
        }
        if (!info)
            break;
        if (HandleSignal(*info, restart_code))
            return;
    }
    // No handler ran: the interrupted syscall starts again (ignored, stopped-and-continued or
    // spurious wake-ups), as if nothing happened.
    if (restart_code)
        RestartSyscall(m_regs, restart_code);
    if (saved_signal_mask) {
        set_signal_mask(*saved_signal_mask);
        saved_signal_mask.reset();
    }
}

}  // namespace moat::kernel
