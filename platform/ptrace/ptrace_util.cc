#include "platform/ptrace/ptrace_util.h"

#include <cpuid.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include <algorithm>

namespace moat::platform::ptrace_util {

Result<int> Wait(pid_t tid) {
    if (tid <= 0)
        return Errno(ECHILD);  // never "any child" or "any in the group"
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(tid, &status, __WALL);
        if (r == tid)
            return status;
        if (r < 0 && errno == EINTR)
            continue;
        return HostErrno();
    }
}

Result<void> GetRegs(pid_t tid, Registers& regs) {
    if (::ptrace(PTRACE_GETREGS, tid, nullptr, &regs) < 0)
        return HostErrno();
    return {};
}

Result<void> SetRegs(pid_t tid, const Registers& regs) {
    if (::ptrace(PTRACE_SETREGS, tid, nullptr, &regs) < 0)
        return HostErrno();
    return {};
}

Result<void> Resume(int request, pid_t tid, int signo) {
    if (::ptrace(static_cast<__ptrace_request>(request), tid, nullptr,
                 reinterpret_cast<void*>(static_cast<uintptr_t>(signo))) < 0)
        return HostErrno();
    return {};
}

Result<void> GetSiginfo(pid_t tid, siginfo_t& info) {
    if (::ptrace(PTRACE_GETSIGINFO, tid, nullptr, &info) < 0)
        return HostErrno();
    return {};
}

size_t XstateBufferSize() {
    static const size_t size = [] {
        unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
        size_t n = 0;
        if (__get_cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx))
            n = ecx;  // the XSAVE area size for every feature the CPU supports
        // The FXSAVE area plus header when XSAVE is absent; a margin for what CPUID may omit.
        return std::max<size_t>(n, 576) + 4096;
    }();
    return size;
}

Registers Sanitized(const Registers& regs) {
    Registers r = regs;
    if (r.cs == 0)
        r.cs = 0x33;  // __USER_CS
    if (r.ss == 0)
        r.ss = 0x2b;  // __USER_DS
    r.orig_rax = static_cast<unsigned long long>(-1);
    return r;
}

bool IsExitStatus(int status) { return WIFEXITED(status) || WIFSIGNALED(status); }

}  // namespace moat::platform::ptrace_util
