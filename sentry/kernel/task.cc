#include "sentry/kernel/task.h"

#include "platform/base/log.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/oom_killer.h"
#include "sentry/kernel/signals.h"
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

void Task::set_mm(std::shared_ptr<mm::MemoryManager> mm) {
    std::unique_lock lock(m_mm_lock);
    m_mm.swap(mm);
    lock.unlock();
    // The old manager (if last) frees its frames here, outside the lock.
}

std::shared_ptr<mm::MemoryManager> Task::mm_snapshot() {
    std::lock_guard lock(m_mm_lock);
    return m_mm;
}

void Task::set_signal_mask(uint64_t mask) {
    // SIGKILL and SIGSTOP can never be blocked.
    m_signal_mask = mask & ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));
}

void Task::Exit(int code) {
    exit_code = code;  // becomes the group's status if this is its last thread
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
}

void Task::KillBySignal(int signo) {
    log::debug("[{}] killed by signal {}", m_tid, signo);
    ExitGroup(signo);
}

bool Task::HandleFault(const platform::Event& ev) {
    const platform::FaultInfo& f = ev.fault;
    int signo = f.signo, code = f.si_code;
    if (f.signo == SIGSEGV || f.signo == SIGBUS) {
        switch (m_mm->HandleFault(f.addr, f.access)) {
        case mm::FaultResult::Handled:
            minflt.fetch_add(1, std::memory_order_relaxed);
            return true;
        case mm::FaultResult::SegvMapErr:
            signo = SIGSEGV, code = SEGV_MAPERR;
            break;
        case mm::FaultResult::SegvAccErr:
            signo = SIGSEGV, code = SEGV_ACCERR;
            break;
        case mm::FaultResult::BusErr:
            signo = SIGBUS, code = BUS_ADRERR;
            break;
        case mm::FaultResult::OutOfMemory:
            // The OOM killer frees memory by killing the largest process; the app then
            // re-executes the access and the fault comes again (Linux's VM_FAULT_OOM retry).
            if (m_kernel.oom_killer().OutOfMemory(*this) == OomKiller::Outcome::Retry)
                return true;
            signo = SIGKILL, code = SI_KERNEL;  // this process is the one to go
            break;
        }
    }
    log::debug("[{}] fault: signal {} code {} addr {:#x} (rip {:#x}, access {})", m_tid, signo, code, f.addr,
               m_regs.rip, f.access);
    siginfo_t info = MakeSigInfo(signo, code);
    info.si_addr = reinterpret_cast<void*>(f.addr);
    ForceSignal(*this, info);  // delivered before the next Switch
    return false;
}

void Task::Run() {
    auto ctx = m_kernel.platform().NewContext();
    if (!ctx.ok()) {
        log::warn("cannot create an execution context: {}", strerror(ctx.error()));
        ExitGroup(SIGKILL);
        ExitNotify();
        AfterExit(m_tg->RemoveTask(this));
        return;
    }
    SetContext(ctx.release_value());
    if (initial_fpu) {
        if (auto r = m_context->SetFpu(*initial_fpu); !r.ok())
            log::warn("[{}] cannot set the cloned FPU state: {}", m_tid, strerror(r.error()));
        initial_fpu.reset();
    }
    SetCurrent(this);
    SyscallDispatcher dispatch = m_kernel.syscall_dispatcher();

    bool after_syscall = false;
    while (!m_exiting && !m_tg->exiting() && !m_exit_requested.load()) {
        // Signals are delivered at every return to app code (task_signals.cc).
        DeliverSignals(after_syscall);
        after_syscall = false;
        if (m_exiting || m_tg->exiting() || m_exit_requested.load())
            break;
        m_running_context.store(m_context.get());
        // A sender that saw no running context relies on this check (no lost interrupt).
        if (HasDeliverableSignal()) {
            m_running_context.store(nullptr);
            continue;
        }
        platform::Event ev = m_context->Switch(m_mm->address_space(), m_regs);
        m_running_context.store(nullptr);
        switch (ev.kind) {
        case platform::EventKind::Syscall:
            dispatch(*this);
            after_syscall = true;
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
    ExitNotify();  // clear_child_tid, vfork release (task_exit.cc)
    // Drop the execution context (and its stub thread) before the address space goes.
    ReleaseContext();
    SetCurrent(nullptr);
    bool last = m_tg->RemoveTask(this);
    AfterExit(last);  // zombie, SIGCHLD, reparenting (task_exit.cc)
}

}  // namespace moat::kernel
