#pragma once
// SystrapContext: one application thread, run as a thread of the stub of whichever address
// space it is switched into, with a slot of that stub's shared region.
//
// Between Switch calls the stub thread is parked in its signal handler, the kernel's signal
// frame (registers, FPU state) on its altstack in the slot: Switch writes the registers into
// that frame, releases the thread and waits for the next frame. Nothing is traced, so any host
// thread could drive a context; the platform's rule (one owning thread) still holds.
//
// Lock order: m_target's lock is a leaf.

#include "platform/platform.h"
#include "platform/thread_cpu_time.h"
#include "platform/systrap/handoff.h"
#include "platform/systrap/stub_process.h"

#include <sys/types.h>
#include <sys/ucontext.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace moat::platform::systrap {

class SystrapAddressSpace;

class SystrapContext final : public Context {
public:
    SystrapContext() = default;
    ~SystrapContext() override;

    Event Switch(AddressSpace& as, Registers& regs) override;
    void Interrupt() override;
    [[nodiscard]] Result<std::vector<uint8_t>> GetFpu() override;
    [[nodiscard]] Result<void> SetFpu(const std::vector<uint8_t>& xsave) override;
    CpuTimes CpuTime() override;

    // The stub thread currently run by this context (0 when none). For tests and logs.
    pid_t tid() const { return m_tid; }

private:
    // Where the frame the parked thread published lies, in the sentry's view of the slot;
    // null when the stub's pointers are outside the altstack (the application scribbled there).
    // Either a signal frame (info, uc, the XSAVE image) or the fast path's registers (fast:
    // the FPU state is still in the thread's registers, see ToSignalFrame).
    struct Frame {
        siginfo_t* info = nullptr;
        ucontext_t* uc = nullptr;
        greg_t* gregs = nullptr;     // uc's or the slot's fast_gregs
        bool fast = false;
        uint8_t* fpstate = nullptr;  // the XSAVE image; null when the frame has none
        size_t fpsize = 0;
    };

    [[nodiscard]] Result<void> Enter(SystrapAddressSpace& as);
    void Leave();
    Event Lost();
    // Releases the parked thread and waits for its next frame; false when the stub is dead.
    bool Release();
    bool WaitForFrame();
    [[nodiscard]] Result<Frame> CurrentFrame() const;
    // Turns a fast-path stop into a signal frame (the thread traps in the park tail), for the
    // FPU state, a change of the fs/gs bases or an exit.
    [[nodiscard]] Result<Frame> ToSignalFrame();
    bool NeedsBaseChange(const Registers& regs) const;
    void WriteRegs(const Frame& f, const Registers& regs);
    void ReadRegs(const Frame& f, Registers& regs) const;
    Event Classify(const Frame& f, Registers& regs, bool& stale);
    // The fast path's own faults and traps, and SIGILLs on patched sites; nullopt otherwise.
    std::optional<Event> ClassifyPatchTrap(const Frame& f, const siginfo_t& info, Registers& regs, bool& stale);

    std::shared_ptr<SystrapStub> m_stub;  // the stub m_tid lives in
    SystrapAddressSpace* m_as = nullptr;   // the address space of the current Switch
    uint32_t m_slot = 0;
    pid_t m_tid = 0;
    SlotHeader* m_header = nullptr;
    bool m_bases_known = false;  // the thread's fs/gs bases are m_fs_base/m_gs_base
    uint64_t m_fs_base = 0;
    uint64_t m_gs_base = 0;  // as the application sees it (the host's is the slot while it is 0)
    bool m_published_fast = false;  // the thread waits in the fast path (state FAST)
    std::optional<std::vector<uint8_t>> m_pending_fpu;  // applied when the next thread starts
    // How long we spin for the application's next event (ns), and how long the handler spins
    // for our answer (iterations of `pause`, set in the slot before each release).
    // How long the application runs between events (our spin), and how long we take to
    // serve one (the handler's spin), both measured (handoff.h).
    LatencyTuner m_sentry_spin{50000};
    LatencyTuner m_stub_spin{50000};
    uint64_t m_released_at = 0;  // NowNs() of the last release
    uint64_t m_event_at = 0;     // NowNs() when we saw the last event

    std::atomic<bool> m_interrupt_pending{false};
    HostThreadTarget m_target;  // the host thread running our app thread, for other threads
};

}  // namespace moat::platform::systrap
