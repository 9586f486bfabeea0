#pragma once
// The platform: how application code is executed and how control comes back to the sentry.
//
// A Platform makes AddressSpaces (one per app process) and Contexts (one per app thread).
// Context::Switch runs app code with the given registers in the given address space until
// one of: a syscall, a synchronous fault, a signal, or an interrupt requested by the sentry.
// The platform knows nothing of files, processes or the sentry's memory manager: it maps
// ranges of the memory file (an fd given at construction) where the sentry tells it to.
//
// Threading: a Context is bound to the host thread that created it and is only used from
// that thread (ptrace tracers are per thread). AddressSpace methods may be called from any
// sentry thread. Context::Interrupt may be called from any thread.

#include "platform/base/result.h"

#include <signal.h>
#include <sys/user.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

namespace moat::platform {

using Registers = user_regs_struct;

// Access type bits of a fault (also used as a protection-like mask).
enum AccessBits : int {
    kAccessRead = 1,
    kAccessWrite = 2,
    kAccessExec = 4,
};

struct FaultInfo {
    uint64_t addr = 0;  // faulting data address (for SIGSEGV/SIGBUS), si_addr otherwise
    int access = 0;     // AccessBits of the faulting access; 0 when unknown
    int signo = 0;      // SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP
    int si_code = 0;    // as the host kernel reported it
};

enum class EventKind {
    Syscall,      // regs.orig_rax is the number, regs.rip is after the syscall instruction
    Fault,        // synchronous fault: `fault` is filled, regs.rip is the faulting instruction
    Signal,       // an asynchronous host signal arrived for the thread (`siginfo`)
    Interrupted,  // Context::Interrupt was called
    Died,         // the host side of the context is gone (stub killed from outside)
};

struct Event {
    EventKind kind = EventKind::Died;
    FaultInfo fault;
    siginfo_t siginfo{};
};

// Reads application memory for the platform's own use (decoding a faulting instruction).
// Returns the number of bytes read (0 on a bad address). Supplied by the memory manager.
using MemoryReader = std::function<size_t(uint64_t addr, void* buf, size_t len)>;

// Lets a platform rewrite the application code it runs (systrap patches system call sites
// into jumps). Supplied by the memory manager, which keeps the VMAs and frames consistent.
class CodeWriter {
public:
    virtual ~CodeWriter() = default;
    // Writes `len` bytes at `addr`, ignoring the protections, if the whole range lies in one
    // private, executable, non-writable mapping (a copy-on-write copy is made); EFAULT/EPERM
    // otherwise.
    [[nodiscard]] virtual Result<void> WriteCode(uint64_t addr, const void* src, size_t len) = 0;
    // Maps [addr, addr+len) private, anonymous and r-x, named `name` in /proc/pid/maps, unless
    // something is mapped there already (EEXIST).
    [[nodiscard]] virtual Result<void> MapPlatformArea(uint64_t addr, uint64_t len, std::string_view name) = 0;
};

class AddressSpace {
public:
    virtual ~AddressSpace() = default;
    // Called once by the memory manager right after creation; the platform may keep it.
    virtual void SetCodeWriter(std::shared_ptr<CodeWriter> writer) { (void)writer; }
    // Maps [addr, addr+len) of the app address space to [file_offset, file_offset+len) of the
    // memory file, MAP_SHARED|MAP_FIXED, with `prot` (PROT_* bits). Page-aligned arguments.
    [[nodiscard]] virtual Result<void> Map(uint64_t addr, uint64_t len, uint64_t file_offset, int prot) = 0;
    [[nodiscard]] virtual Result<void> Unmap(uint64_t addr, uint64_t len) = 0;
    [[nodiscard]] virtual Result<void> Protect(uint64_t addr, uint64_t len, int prot) = 0;
};

class Context {
public:
    virtual ~Context() = default;
    // Runs app code until an event. `regs` is read on entry and holds the app's registers on
    // return. FPU/vector state lives in the context and persists across Switch calls.
    virtual Event Switch(AddressSpace& as, Registers& regs) = 0;
    // Makes the current (or next) Switch return EventKind::Interrupted soon. Any thread.
    virtual void Interrupt() = 0;
    // The app thread's extended FPU state in XSAVE layout (for signal frames and clone).
    [[nodiscard]] virtual Result<std::vector<uint8_t>> GetFpu() = 0;
    [[nodiscard]] virtual Result<void> SetFpu(const std::vector<uint8_t>& xsave) = 0;
    // CPU time the app thread(s) this context has run used so far, as the host accounts it
    // (getrusage, times, the CPU-time clocks). Zero where the platform cannot tell. Any thread.
    struct CpuTimes {
        uint64_t user_ns = 0;
        uint64_t sys_ns = 0;
    };
    virtual CpuTimes CpuTime() { return {}; }
};

class Platform {
public:
    virtual ~Platform() = default;
    virtual std::string_view name() const = 0;
    // App mappings must lie in [min_user_address(), max_user_address()); the platform keeps
    // what it needs (the stub) above max_user_address().
    virtual uint64_t min_user_address() const { return 0x10000; }
    virtual uint64_t max_user_address() const = 0;
    // Host fds of the platform's own shared memory that the sentry maps, grows or punches
    // after start-up: the host seccomp filter (sentry/sandbox) allows mmap/fallocate on these.
    virtual std::vector<int> host_mapped_fds() const { return {}; }
    [[nodiscard]] virtual Result<std::shared_ptr<AddressSpace>> NewAddressSpace(MemoryReader reader) = 0;
    // The context is bound to the calling host thread.
    [[nodiscard]] virtual Result<std::unique_ptr<Context>> NewContext() = 0;
};

}  // namespace moat::platform
