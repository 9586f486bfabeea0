#pragma once
// PtraceContext: one application thread, run as a thread of the stub of whichever address
// space it is switched into, traced by the host thread that created the context.
//
// Threading: everything but Interrupt() runs on the owning host thread, which is the only
// tracer of the stub thread (ptrace binds a tracee to one tracer thread). Interrupt() may be
// called from any thread; it only takes m_target's lock.
//
// Lock order: m_target's lock is a leaf.

#include "platform/platform.h"
#include "platform/thread_cpu_time.h"
#include "platform/ptrace/stub_process.h"

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace moat::platform {

class PtraceAddressSpace;

class PtraceContext final : public Context {
public:
    PtraceContext();
    ~PtraceContext() override;

    Event Switch(AddressSpace& as, Registers& regs) override;
    void Interrupt() override;
    [[nodiscard]] Result<std::vector<uint8_t>> GetFpu() override;
    [[nodiscard]] Result<void> SetFpu(const std::vector<uint8_t>& xsave) override;
    // The stub thread's utime/stime from /proc/<stub>/task/<tid>/stat, scaled to its exact
    // runtime from .../schedstat (as Linux's cputime_adjust does), plus earlier threads'.
    CpuTimes CpuTime() override;

    // The stub thread currently run by this context (0 when none). For tests and logs.
    pid_t tid() const { return m_tid; }

private:
    [[nodiscard]] Result<void> Enter(PtraceAddressSpace& as);
    void Leave();
    void ReapDeadThread();
    // Our thread is dead (its stub was killed): collect it and forget the stub.
    Event LostThread(bool reaped = false);
    [[nodiscard]] Result<void> FetchRegs(Registers& regs);
    Event FaultEvent(int signo, const siginfo_t& info, const Registers& regs, PtraceAddressSpace& as);
    [[nodiscard]] Result<std::vector<uint8_t>> ReadXstate();
    [[nodiscard]] Result<void> WriteXstate(const std::vector<uint8_t>& xsave);

    pid_t m_owner;                          // the host thread this context is bound to
    std::shared_ptr<StubProcess> m_stub;    // the stub m_tid lives in
    pid_t m_tid = 0;                        // our thread in m_stub, traced by m_owner
    Registers m_regs{};                     // what the thread's registers are, when m_regs_valid
    bool m_regs_valid = false;
    std::optional<std::vector<uint8_t>> m_pending_fpu;  // applied when the next thread starts

    std::atomic<bool> m_interrupt_pending{false};
    HostThreadTarget m_target;  // the host thread running our app thread, for other threads
};

}  // namespace moat::platform
