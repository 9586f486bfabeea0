#include "platform/ptrace/ptrace_context.h"

#include "platform/base/log.h"
#include "platform/base/unique_fd.h"
#include "platform/ptrace/fault_decoder.h"
#include "platform/ptrace/ptrace_address_space.h"
#include "platform/ptrace/ptrace_util.h"
#include "platform/ptrace/stub_layout.h"
#include "platform/thread_cpu_time.h"

#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

namespace moat::platform {

namespace {

constexpr long kTraceOptions = PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD;
// Interrupt() uses SIGCHLD: no stub ever has children, so it cannot mean anything else.
constexpr int kInterruptSignal = SIGCHLD;

bool IsSynchronousFaultSignal(int signo) {
    return signo == SIGSEGV || signo == SIGBUS || signo == SIGFPE || signo == SIGILL || signo == SIGTRAP;
}

Event MakeEvent(EventKind kind) {
    Event e;
    e.kind = kind;
    return e;
}

}  // namespace

PtraceContext::PtraceContext() : m_owner(static_cast<pid_t>(::syscall(SYS_gettid))) {}

PtraceContext::~PtraceContext() {
    if (m_stub && static_cast<pid_t>(::syscall(SYS_gettid)) != m_owner) {
        // Not the tracer: touching the thread would fail or hang. Leave it to the stub's
        // reaping (StubProcess::KillAndReap).
        log::warn("ptrace: context of thread {} destroyed on thread {}", m_owner, ::syscall(SYS_gettid));
        m_target.Set(0, 0);
        return;
    }
    Leave();
}

Context::CpuTimes PtraceContext::CpuTime() { return m_target.CpuTime(); }

void PtraceContext::Interrupt() {
    m_interrupt_pending.store(true);
    m_target.Signal(kInterruptSignal);
}

Result<void> PtraceContext::Enter(PtraceAddressSpace& as) {
    pid_t tid = TRY(as.stub()->CloneThread());
    // The new thread is parked in poll(), untraced. From here on only this host thread
    // touches it.
    if (::ptrace(PTRACE_SEIZE, tid, nullptr, kTraceOptions) < 0 ||
        ::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) < 0) {
        Error err = HostErrno();
        log::warn("ptrace: cannot attach to stub thread {}: errno {}", tid, err.code());
        return err;
    }
    for (;;) {
        int status = TRY(ptrace_util::Wait(tid));
        if (ptrace_util::IsExitStatus(status))
            return Errno(ESRCH);
        if (WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_STOP)
            break;
        TRY(ptrace_util::Resume(PTRACE_CONT, tid, 0));
    }
    m_stub = as.stub();
    m_tid = tid;
    m_regs_valid = false;
    m_target.Set(m_stub->pid(), tid);
    if (m_pending_fpu) {
        auto applied = WriteXstate(*m_pending_fpu);
        if (!applied.ok())
            log::warn("ptrace: cannot restore FPU state into thread {}: errno {}", tid, applied.error());
        m_pending_fpu.reset();
    }
    return {};
}

// Collects the exit of our thread, which is dead or dying (killed with its stub).
void PtraceContext::ReapDeadThread() {
    for (;;) {
        auto status = ptrace_util::Wait(m_tid);
        if (!status.ok() || ptrace_util::IsExitStatus(*status))
            return;
    }
}

// Makes our stub thread exit and collects it; drops our reference to its stub.
void PtraceContext::Leave() {
    if (!m_stub)
        return;
    m_target.Retire();
    Registers regs{};
    bool exiting = ptrace_util::GetRegs(m_tid, regs).ok();
    if (exiting) {
        regs.rip = stub::SyscallSite();
        regs.rax = SYS_exit;
        regs.rdi = 0;
        regs.orig_rax = static_cast<uint64_t>(-1);
        exiting = ptrace_util::SetRegs(m_tid, regs).ok() && ptrace_util::Resume(PTRACE_CONT, m_tid, 0).ok();
    }
    if (exiting) {
        for (;;) {
            auto status = ptrace_util::Wait(m_tid);
            if (!status.ok() || ptrace_util::IsExitStatus(*status))
                break;
            // Stopped for a signal before the exit ran: suppress it and go on.
            if (!ptrace_util::Resume(PTRACE_CONT, m_tid, 0).ok()) {
                ReapDeadThread();
                break;
            }
        }
    } else {
        ReapDeadThread();
    }
    m_stub->ForgetThread(m_tid);
    m_tid = 0;
    m_regs_valid = false;
    m_stub.reset();  // may be the last reference: reaps the stub and joins its thread
}

Event PtraceContext::LostThread(bool reaped) {
    m_target.Retire();  // a dead, unreaped thread still shows its times
    if (!reaped)
        ReapDeadThread();
    if (m_stub)
        m_stub->ForgetThread(m_tid);
    m_tid = 0;
    m_regs_valid = false;
    m_stub.reset();
    return MakeEvent(EventKind::Died);
}

Result<void> PtraceContext::FetchRegs(Registers& regs) {
    TRY(ptrace_util::GetRegs(m_tid, m_regs));
    m_regs_valid = true;
    regs = m_regs;
    return {};
}

Event PtraceContext::FaultEvent(int signo, const siginfo_t& info, const Registers& regs,
                                PtraceAddressSpace& as) {
    Event e = MakeEvent(EventKind::Fault);
    e.siginfo = info;
    e.fault.signo = signo;
    e.fault.si_code = info.si_code;
    e.fault.addr = reinterpret_cast<uint64_t>(info.si_addr);
    if ((signo == SIGSEGV || signo == SIGBUS) && info.si_code != SI_KERNEL) {
        uint8_t code[16];
        size_t n = as.ReadMemory(regs.rip, code, 15);
        e.fault.access = DecodeFaultAccess({code, n > 15 ? 15 : n}, regs, e.fault.addr);
    }
    return e;
}

Event PtraceContext::Switch(AddressSpace& as_base, Registers& regs) {
    // The platform makes every AddressSpace its contexts are given.
    auto& as = static_cast<PtraceAddressSpace&>(as_base);
    if (m_interrupt_pending.exchange(false))
        return MakeEvent(EventKind::Interrupted);
    if (m_stub != as.stub()) {
        // A new address space (exec): the FPU state moves with the context.
        if (m_stub && !m_pending_fpu) {
            if (auto fpu = ReadXstate(); fpu.ok())
                m_pending_fpu = fpu.release_value();
        }
        Leave();
        if (auto entered = Enter(as); !entered.ok()) {
            log::debug("ptrace: cannot start a thread in stub {}: errno {}", as.stub_pid(), entered.error());
            return MakeEvent(EventKind::Died);
        }
    }
    if (!m_regs_valid || std::memcmp(&regs, &m_regs, sizeof(regs)) != 0) {
        auto set = ptrace_util::SetRegs(m_tid, ptrace_util::Sanitized(regs));
        if (!set.ok() && set.error() == ESRCH)
            return LostThread();
        if (!set.ok()) {
            // The kernel refused the state (a bad selector or segment base, say from a forged
            // signal frame). Linux would fault returning to such a state: so do we, leaving
            // the thread's registers as they were.
            log::debug("ptrace: thread {} refused registers: errno {}", m_tid, set.error());
            Event e = MakeEvent(EventKind::Fault);
            e.fault.signo = SIGSEGV;
            e.fault.si_code = SI_KERNEL;
            e.siginfo.si_signo = SIGSEGV;
            e.siginfo.si_code = SI_KERNEL;
            return e;
        }
        m_regs = regs;
        m_regs_valid = true;
    }
    // Once the target is published every Interrupt also signals the thread; one that came
    // earlier (say while Enter ran) only left the flag, so look again before resuming.
    if (m_interrupt_pending.exchange(false))
        return MakeEvent(EventKind::Interrupted);
    for (;;) {
        if (!ptrace_util::Resume(PTRACE_SYSEMU, m_tid, 0).ok())
            return LostThread();
        auto waited = ptrace_util::Wait(m_tid);
        if (!waited.ok())
            return LostThread();
        int status = *waited;
        if (ptrace_util::IsExitStatus(status))
            return LostThread(/*reaped=*/true);
        if (!WIFSTOPPED(status))
            continue;
        int signo = WSTOPSIG(status);
        int event = status >> 16;
        if (signo == (SIGTRAP | 0x80)) {
            if (!FetchRegs(regs).ok())
                return LostThread();
            return MakeEvent(EventKind::Syscall);
        }
        if (event != 0)
            continue;  // PTRACE_EVENT_STOP: a group stop from outside; just resume
        siginfo_t info{};
        if (!ptrace_util::GetSiginfo(m_tid, info).ok())
            return LostThread();
        // Every signal is suppressed: the sentry decides what the application sees.
        if (signo == kInterruptSignal && info.si_code == SI_TKILL && info.si_pid == ::getpid()) {
            if (!m_interrupt_pending.exchange(false))
                continue;  // already reported (Switch returned before it arrived)
            if (!FetchRegs(regs).ok())
                return LostThread();
            return MakeEvent(EventKind::Interrupted);
        }
        if (!FetchRegs(regs).ok())
            return LostThread();
        if (IsSynchronousFaultSignal(signo) && info.si_code > 0)
            return FaultEvent(signo, info, regs, as);
        Event e = MakeEvent(EventKind::Signal);
        e.siginfo = info;
        return e;
    }
}

}  // namespace moat::platform
