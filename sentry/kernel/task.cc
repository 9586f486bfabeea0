#include "sentry/kernel/task.h"

#include "platform/base/log.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"

#include <csignal>

namespace moat::kernel {

Task::Task(Kernel& kernel, std::shared_ptr<ThreadGroup> tg, pid_t tid)
    : m_kernel(kernel), m_tg(std::move(tg)), m_tid(tid) {
    m_tg->AddTask(this);
}

Task::~Task() = default;

pid_t Task::pid() const { return m_tg->pid(); }

void Task::set_signal_mask(uint64_t mask) {
    // SIGKILL and SIGSTOP can never be blocked.
    m_signal_mask = mask & ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));
}

void Task::Exit(int code) {
    (void)code;  // a thread's own exit code is visible only to ptrace, which Moat does not offer yet
    m_exiting = true;
}

void Task::ExitGroup(int wait_status) {
    m_tg->BeginGroupExit(wait_status);
    m_exiting = true;
    for (Task* other : m_tg->tasks())
        if (other != this)
            other->Interrupt();
}

void Task::Interrupt() {
    if (platform::Context* ctx = m_running_context.load())
        ctx->Interrupt();
    // A task blocked in the sentry re-checks why it should stop.
    Wake();
    m_kernel.futexes().WakeAll();
}

void Task::KillBySignal(int signo) {
    log::debug("[{}] killed by signal {}", m_tid, signo);
    ExitGroup(signo);
}

bool Task::HandleFault(const platform::Event& ev) {
    const platform::FaultInfo& f = ev.fault;
    if (f.signo == SIGSEGV || f.signo == SIGBUS) {
        switch (m_mm->HandleFault(f.addr, f.access)) {
        case mm::FaultResult::Handled:
            return true;
        case mm::FaultResult::SegvMapErr:
        case mm::FaultResult::SegvAccErr:
            log::debug("[{}] SIGSEGV at {:#x} (rip {:#x}, access {})", m_tid, f.addr, m_regs.rip, f.access);
            KillBySignal(SIGSEGV);
            return false;
        case mm::FaultResult::BusErr:
            KillBySignal(SIGBUS);
            return false;
        }
    }
    // FIXME(#3): synchronous signals go to the app's handler once signal delivery lands.
    log::debug("[{}] fatal fault signal {} at rip {:#x}", m_tid, f.signo, m_regs.rip);
    KillBySignal(f.signo);
    return false;
}

void Task::Run() {
    auto ctx = m_kernel.platform().NewContext();
    if (!ctx.ok()) {
        log::warn("cannot create an execution context: {}", strerror(ctx.error()));
        ExitGroup(SIGKILL);
        m_tg->RemoveTask(this);
        return;
    }
    m_context = ctx.release_value();
    SetCurrent(this);
    SyscallDispatcher dispatch = m_kernel.syscall_dispatcher();

    while (!m_exiting && !m_tg->exiting()) {
        m_running_context.store(m_context.get());
        platform::Event ev = m_context->Switch(m_mm->address_space(), m_regs);
        m_running_context.store(nullptr);
        switch (ev.kind) {
        case platform::EventKind::Syscall:
            dispatch(*this);
            break;
        case platform::EventKind::Fault:
            HandleFault(ev);
            break;
        case platform::EventKind::Signal:
            log::debug("[{}] host signal {} for the app thread ignored", m_tid, ev.siginfo.si_signo);
            break;
        case platform::EventKind::Interrupted:
            break;
        case platform::EventKind::Died:
            log::warn("the sandboxed process {} vanished on the host side", m_tid);
            ExitGroup(SIGKILL);
            break;
        }
    }
    // Drop the execution context (and its stub thread) before the address space goes.
    m_context.reset();
    SetCurrent(nullptr);
    m_tg->RemoveTask(this);
}

}  // namespace moat::kernel
