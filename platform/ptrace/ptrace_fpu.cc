// PtraceContext's FPU state: the XSAVE image through PTRACE_{GET,SET}REGSET NT_X86_XSTATE.

#include "platform/ptrace/ptrace_context.h"
#include "platform/ptrace/ptrace_util.h"

#include <elf.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstring>

namespace moat::platform {

namespace {

// The state of a thread that never ran: x87 control word 0x37f, MXCSR 0x1f80, and the
// XSAVE header saying only x87 and SSE state are present.
std::vector<uint8_t> InitialXstate() {
    std::vector<uint8_t> image(512 + 64, 0);
    uint16_t fcw = 0x37f;
    uint32_t mxcsr = 0x1f80;
    uint64_t xstate_bv = 0x3;
    std::memcpy(&image[0], &fcw, sizeof(fcw));
    std::memcpy(&image[24], &mxcsr, sizeof(mxcsr));
    std::memcpy(&image[512], &xstate_bv, sizeof(xstate_bv));
    return image;
}

}  // namespace

Result<std::vector<uint8_t>> PtraceContext::ReadXstate() {
    std::vector<uint8_t> image(ptrace_util::XstateBufferSize());
    iovec iov{image.data(), image.size()};
    if (::ptrace(PTRACE_GETREGSET, m_tid, reinterpret_cast<void*>(NT_X86_XSTATE), &iov) < 0)
        return HostErrno();
    image.resize(iov.iov_len);
    return image;
}

Result<void> PtraceContext::WriteXstate(const std::vector<uint8_t>& xsave) {
    // The kernel takes only a whole image of exactly its own size; a shorter one (say the
    // legacy FXSAVE part) is laid over the thread's current state.
    std::vector<uint8_t> image = TRY(ReadXstate());
    std::memcpy(image.data(), xsave.data(), std::min(image.size(), xsave.size()));
    iovec iov{image.data(), image.size()};
    if (::ptrace(PTRACE_SETREGSET, m_tid, reinterpret_cast<void*>(NT_X86_XSTATE), &iov) < 0)
        return HostErrno();
    return {};
}

Result<std::vector<uint8_t>> PtraceContext::GetFpu() {
    if (m_tid == 0)
        return m_pending_fpu ? *m_pending_fpu : InitialXstate();
    return ReadXstate();
}

Result<void> PtraceContext::SetFpu(const std::vector<uint8_t>& xsave) {
    if (xsave.size() < 512 + 64)
        return Errno(EINVAL);
    if (m_tid == 0) {
        m_pending_fpu = xsave;
        return {};
    }
    return WriteXstate(xsave);
}

}  // namespace moat::platform
