#include "platform/systrap/systrap_context.h"

#include "platform/base/log.h"
#include "platform/systrap/handoff.h"
#include "platform/systrap/stub_layout.h"
#include "platform/systrap/systrap_address_space.h"
#include "platform/thread_cpu_time.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace moat::platform::systrap {

namespace {

// Interrupt() uses SIGCHLD: no stub ever has children, so it cannot mean anything else.
constexpr int kInterruptSignal = SIGCHLD;
// SIGSYS from a seccomp filter (SYS_SECCOMP, not exported by glibc).
constexpr int kSysSeccomp = 1;

// arch_prctl(ARCH_SET_FS/GS) refuses bases at or above this (TASK_SIZE_MAX, 4-level paging).
constexpr uint64_t kTaskSizeMax = 0x7ffffffff000;

bool IsSynchronousFaultSignal(int signo) {
    return signo == SIGSEGV || signo == SIGBUS || signo == SIGFPE || signo == SIGILL || signo == SIGTRAP;
}

Event MakeEvent(EventKind kind) {
    Event e;
    e.kind = kind;
    return e;
}

}  // namespace

SystrapContext::~SystrapContext() { Leave(); }

Context::CpuTimes SystrapContext::CpuTime() { return m_target.CpuTime(); }

void SystrapContext::Interrupt() {
    m_interrupt_pending.store(true);
    m_target.Signal(kInterruptSignal);
}

Result<void> SystrapContext::Enter(SystrapAddressSpace& as) {
    std::shared_ptr<SystrapStub> stub = as.stub();
    uint32_t slot = TRY(stub->AllocSlot());
    auto tid = stub->CloneThread(slot);
    if (!tid.ok()) {
        stub->FreeSlot(slot);
        return Error(tid.error());
    }
    m_stub = std::move(stub);
    m_slot = slot;
    m_tid = *tid;
    m_header = &m_stub->Slot(slot);
    m_bases_known = false;
    m_target.Set(m_stub->pid(), m_tid);
    // The new thread parks in the handler (its int3) before it runs anything else.
    if (!WaitForFrame())
        return Errno(ESRCH);
    if (m_pending_fpu) {
        if (auto applied = SetFpu(*m_pending_fpu); !applied.ok())
            log::warn("systrap: cannot restore FPU state into thread {}: errno {}", m_tid, applied.error());
        m_pending_fpu.reset();
    }
    return {};
}

// Makes our stub thread exit (it is parked in the handler) and does not wait for it: the slot,
// its altstack included, is reused only once the kernel has cleared the thread's tid word
// (AllocSlot checks). A killed or dead stub needs nothing at all.
void SystrapContext::Leave() {
    if (!m_stub)
        return;
    m_target.Retire();
    bool exiting = false;
    if (auto f = ToSignalFrame(); f.ok() && !m_stub->dead() && !m_stub->killed()) {
        f->uc->uc_mcontext.gregs[REG_RIP] = static_cast<greg_t>(CodeAddress(moat_systrap_exit));
        // Every signal blocked on the way out: a pending process-directed signal would
        // otherwise run the handler again, and nobody would release that frame.
        std::memset(&f->uc->uc_sigmask, 0xff, 8);
        exiting = Release();
    }
    if (exiting)
        m_stub->RetireSlot(m_slot);
    m_tid = 0;
    m_header = nullptr;
    m_published_fast = false;
    m_stub.reset();  // may be the last reference
}

Event SystrapContext::Lost() {
    m_target.Retire();
    m_tid = 0;
    m_header = nullptr;
    m_published_fast = false;
    m_stub.reset();
    return MakeEvent(EventKind::Died);
}

bool SystrapContext::Release() {
    uint32_t expected = m_published_fast ? kStateFast : kStateEvent;
    if (!m_header->state.compare_exchange_strong(expected, kStateResume, std::memory_order_seq_cst))
        return false;  // dead (or the application scribbled on its slot)
    bool stub_slept = m_header->stub_sleeping.load(std::memory_order_seq_cst);
    if (stub_slept)
        FutexWake(m_header->state);
    m_released_at = NowNs();
    if (m_event_at)
        m_stub_spin.Record(m_released_at - m_event_at);  // how long the stub waited for us
    return true;
}

bool SystrapContext::WaitForFrame() {
    SpinThenWait(m_header->state, &m_header->sentry_sleeping, m_sentry_spin.budget_ns(),
                 [](uint32_t s) { return s == kStateEvent || s == kStateFast || s == kStateDead; });
    m_event_at = NowNs();
    if (m_released_at)
        m_sentry_spin.Record(m_event_at - m_released_at);  // how long the application ran
    m_header->stub_spin.store(static_cast<uint32_t>(m_stub_spin.budget_ns() / PauseNs()), std::memory_order_relaxed);
    uint32_t state = m_header->state.load(std::memory_order_acquire);
    m_published_fast = state == kStateFast;
    return (state == kStateEvent || state == kStateFast) && !m_stub->dead();
}

Result<SystrapContext::Frame> SystrapContext::ToSignalFrame() {
    if (!m_published_fast)
        return CurrentFrame();
    m_header->fast_exit = CodeAddress(moat_systrap_park_tail);
    if (!Release() || !WaitForFrame())
        return Errno(ESRCH);
    Frame f = TRY(CurrentFrame());
    if (f.fast)
        return Errno(EIO);  // the park tail always traps
    if (f.info->si_signo == SIGTRAP && static_cast<uint64_t>(f.gregs[REG_RIP]) == CodeAddress(moat_systrap_park_end))
        f.gregs[REG_RIP] = m_header->fast_gregs[SYSTRAP_RIP];
    // Otherwise a signal came in the tail, and the handler already put the application's
    // registers in its frame (an interrupt stays pending in m_interrupt_pending).
    return f;
}

Event SystrapContext::Switch(AddressSpace& as_base, Registers& regs) {
    // The platform makes every AddressSpace its contexts are given.
    auto& as = static_cast<SystrapAddressSpace&>(as_base);
    m_as = &as;
    if (m_interrupt_pending.exchange(false))
        return MakeEvent(EventKind::Interrupted);
    if (m_stub != as.stub()) {
        // A new address space (exec): the FPU state moves with the context.
        if (m_stub && !m_pending_fpu) {
            if (auto fpu = GetFpu(); fpu.ok())
                m_pending_fpu = fpu.release_value();
        }
        Leave();
        if (auto entered = Enter(as); !entered.ok()) {
            log::debug("systrap: cannot start a thread in stub {}: errno {}", as.stub_pid(), entered.error());
            return Lost();
        }
    }
    auto frame = CurrentFrame();
    if (frame.ok() && frame->fast && NeedsBaseChange(regs))
        frame = ToSignalFrame();  // only the handler's way back sets the bases
    if (!frame.ok())
        return Lost();
    if (regs.fs_base >= kTaskSizeMax || regs.gs_base >= kTaskSizeMax) {
        // arch_prctl would refuse the base (say a kernel address from a forged signal
        // frame): Linux would fault returning to such a state, and so do we.
        Event e = MakeEvent(EventKind::Fault);
        e.fault.signo = e.siginfo.si_signo = SIGSEGV;
        e.fault.si_code = e.siginfo.si_code = SI_KERNEL;
        return e;
    }
    WriteRegs(*frame, regs);
    // Once the target is published every Interrupt also signals the thread; one that came
    // earlier (say while Enter ran) only left the flag, so look again before resuming.
    if (m_interrupt_pending.exchange(false))
        return MakeEvent(EventKind::Interrupted);
    for (;;) {
        if (!Release() || !WaitForFrame())
            return Lost();
        frame = CurrentFrame();
        if (!frame.ok())
            return Lost();
        bool stale = false;
        Event e = Classify(*frame, regs, stale);
        if (stale)
            continue;
        if (e.kind == EventKind::Syscall && !frame->fast)
            as.patcher().OnTrappedSyscall(regs.rip, regs.orig_rax);
        return e;
    }
}

Event SystrapContext::Classify(const Frame& f, Registers& regs, bool& stale) {
    if (f.fast) {
        ReadRegs(f, regs);
        regs.orig_rax = static_cast<uint64_t>(f.gregs[REG_RAX]);
        regs.rax = static_cast<uint64_t>(-ENOSYS);
        return MakeEvent(EventKind::Syscall);
    }
    siginfo_t info = *f.info;
    if (auto e = ClassifyPatchTrap(f, info, regs, stale))
        return *e;
    int signo = info.si_signo;
    if (signo == kInterruptSignal && info.si_code == SI_TKILL && info.si_pid == ::getpid()) {
        if (!m_interrupt_pending.exchange(false)) {
            stale = true;  // already reported (Switch returned before it arrived)
            return {};
        }
        ReadRegs(f, regs);
        return MakeEvent(EventKind::Interrupted);
    }
    ReadRegs(f, regs);
    if (signo == SIGSYS && info.si_code == kSysSeccomp) {
        regs.orig_rax = static_cast<uint64_t>(static_cast<uint32_t>(info.si_syscall));
        regs.rax = static_cast<uint64_t>(-ENOSYS);
        return MakeEvent(EventKind::Syscall);
    }
    if (IsSynchronousFaultSignal(signo) && info.si_code > 0) {
        Event e = MakeEvent(EventKind::Fault);
        e.siginfo = info;
        e.fault.signo = signo;
        e.fault.si_code = info.si_code;
        e.fault.addr = reinterpret_cast<uint64_t>(info.si_addr);
        constexpr greg_t kPageFault = 14;
        const greg_t* g = f.uc->uc_mcontext.gregs;
        if ((signo == SIGSEGV || signo == SIGBUS) && g[REG_TRAPNO] == kPageFault) {
            // The page-fault error code: bit 1 a write, bit 4 an instruction fetch.
            greg_t err = g[REG_ERR];
            e.fault.access = (err & 0x10) ? kAccessExec : (err & 0x2) ? kAccessWrite : kAccessRead;
        }
        return e;
    }
    Event e = MakeEvent(EventKind::Signal);
    e.siginfo = info;
    return e;
}

std::optional<Event> SystrapContext::ClassifyPatchTrap(const Frame& f, const siginfo_t& info, Registers& regs,
                                                      bool& stale) {
    const int signo = info.si_signo;
    if (signo != SIGTRAP && signo != SIGSEGV && signo != SIGILL)
        return std::nullopt;
    greg_t* g = f.gregs;
    const uint64_t rip = static_cast<uint64_t>(g[REG_RIP]);
    // As a syscall instruction at `ret - 2` would have left the registers.
    auto as_syscall = [&](uint64_t nr, uint64_t ret) {
        g[REG_RIP] = g[REG_RCX] = static_cast<greg_t>(ret);
        g[REG_R11] = g[REG_EFL];
        ReadRegs(f, regs);
        regs.orig_rax = nr;
        regs.rax = static_cast<uint64_t>(-ENOSYS);
        return MakeEvent(EventKind::Syscall);
    };
    if (signo == SIGTRAP && rip == CodeAddress(moat_systrap_park_end)) {
        // The fast path parked for an interrupt that came while it ran.
        g[REG_RIP] = m_header->fast_gregs[SYSTRAP_RIP];
        if (!m_interrupt_pending.exchange(false)) {
            stale = true;
            return Event{};
        }
        ReadRegs(f, regs);
        return MakeEvent(EventKind::Interrupted);
    }
    if (rip >= CodeAddress(moat_systrap_fast_entry) && rip <= CodeAddress(moat_systrap_fast_checked)) {
        // %gs was not our slot (the application has a gs base of its own): serve the call
        // from this frame; the entry the site jumped through is in r11.
        auto entry = m_as->patcher().ReadEntry(static_cast<uint64_t>(g[REG_R11]));
        if (!entry)
            return std::nullopt;
        return as_syscall(entry->nr, entry->ret);
    }
    if (signo == SIGILL) {
        auto site = m_as->patcher().PatchedSiteAt(rip);
        if (!site)
            return std::nullopt;
        if (static_cast<uint64_t>(g[REG_RAX]) == SYS_restart_syscall)
            return as_syscall(SYS_restart_syscall, *site + 7);
        // A half-written patch, or a call the sentry restarts: run the site again.
        g[REG_RIP] = static_cast<greg_t>(*site);
        stale = true;
        return Event{};
    }
    return std::nullopt;
}

}  // namespace moat::platform::systrap
