// SystrapContext and the signal frame its parked thread published: registers in
// uc_mcontext, FPU state in the XSAVE image the frame's fpstate points to. Both live on the
// thread's altstack inside its slot, so the sentry reads and writes them in place and
// rt_sigreturn loads them.

#include "platform/systrap/stub_layout.h"
#include "platform/systrap/systrap_context.h"

#include <algorithm>
#include <cstring>

namespace moat::platform::systrap {

namespace {

// The software-reserved bytes of the FXSAVE area in a signal frame (struct _fpx_sw_bytes).
constexpr size_t kSwReservedOffset = 464;
constexpr size_t kLegacySize = 512;
constexpr uint32_t kFpXstateMagic1 = 0x46505853;
struct FpxSwBytes {
    uint32_t magic1;
    uint32_t extended_size;
    uint64_t xfeatures;
    uint32_t xstate_size;
};

// The kernel's struct ucontext ends with an 8-byte signal mask (glibc's ucontext_t is larger).
constexpr size_t kKernelUcontextSize = offsetof(ucontext_t, uc_sigmask) + 8;

constexpr uint64_t kUserCs = 0x33;
constexpr uint64_t kUserSs = 0x2b;

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

Result<SystrapContext::Frame> SystrapContext::CurrentFrame() const {
    if (!m_stub || !m_header)
        return Errno(ESRCH);
    if (m_published_fast) {
        Frame f;
        f.fast = true;
        f.gregs = reinterpret_cast<greg_t*>(m_header->fast_gregs);
        return f;
    }
    // The pointers are stub addresses, and the application can write its slot: accept only
    // what lies within the altstack.
    const uint64_t lo = SlotAddress(m_slot) + SYSTRAP_SLOT_ALTSTACK;
    const uint64_t hi = SlotAddress(m_slot) + kSlotSize;
    uint8_t* base = m_stub->SlotBytes(m_slot);
    auto inside = [&](uint64_t addr, size_t len) { return addr >= lo && addr <= hi && len <= hi - addr; };
    auto local = [&](uint64_t addr) { return base + (addr - SlotAddress(m_slot)); };
    Frame f;
    uint64_t info = m_header->siginfo;
    uint64_t uc = m_header->ucontext;
    if (!inside(info, sizeof(siginfo_t)) || !inside(uc, kKernelUcontextSize))
        return Errno(EFAULT);
    f.info = reinterpret_cast<siginfo_t*>(local(info));
    f.uc = reinterpret_cast<ucontext_t*>(local(uc));
    f.gregs = f.uc->uc_mcontext.gregs;
    uint64_t fp = reinterpret_cast<uint64_t>(f.uc->uc_mcontext.fpregs);
    if (fp != 0 && inside(fp, kLegacySize)) {
        f.fpstate = local(fp);
        f.fpsize = kLegacySize;
        FpxSwBytes sw;
        std::memcpy(&sw, f.fpstate + kSwReservedOffset, sizeof(sw));
        if (sw.magic1 == kFpXstateMagic1 && sw.xstate_size > kLegacySize && inside(fp, uint64_t{sw.xstate_size} + 4))
            f.fpsize = sw.xstate_size;
    }
    return f;
}

void SystrapContext::ReadRegs(const Frame& f, Registers& regs) const {
    const greg_t* g = f.gregs;
    auto u = [](greg_t v) { return static_cast<unsigned long long>(v); };
    regs.r8 = u(g[REG_R8]);
    regs.r9 = u(g[REG_R9]);
    regs.r10 = u(g[REG_R10]);
    regs.r11 = u(g[REG_R11]);
    regs.r12 = u(g[REG_R12]);
    regs.r13 = u(g[REG_R13]);
    regs.r14 = u(g[REG_R14]);
    regs.r15 = u(g[REG_R15]);
    regs.rdi = u(g[REG_RDI]);
    regs.rsi = u(g[REG_RSI]);
    regs.rbp = u(g[REG_RBP]);
    regs.rbx = u(g[REG_RBX]);
    regs.rdx = u(g[REG_RDX]);
    regs.rax = u(g[REG_RAX]);
    regs.rcx = u(g[REG_RCX]);
    regs.rsp = u(g[REG_RSP]);
    regs.rip = u(g[REG_RIP]);
    regs.eflags = u(g[REG_EFL]);
    uint64_t csgsfs = f.fast ? (kUserCs | (kUserSs << 48)) : u(g[REG_CSGSFS]);
    regs.cs = csgsfs & 0xffff;
    regs.ss = (csgsfs >> 48) & 0xffff;
    regs.orig_rax = static_cast<unsigned long long>(-1);
    regs.fs_base = m_fs_base;
    regs.gs_base = m_gs_base;
    regs.ds = regs.es = regs.fs = regs.gs = 0;
}

void SystrapContext::WriteRegs(const Frame& f, const Registers& regs) {
    greg_t* g = f.gregs;
    auto s = [](unsigned long long v) { return static_cast<greg_t>(v); };
    g[REG_R8] = s(regs.r8);
    g[REG_R9] = s(regs.r9);
    g[REG_R10] = s(regs.r10);
    g[REG_R11] = s(regs.r11);
    g[REG_R12] = s(regs.r12);
    g[REG_R13] = s(regs.r13);
    g[REG_R14] = s(regs.r14);
    g[REG_R15] = s(regs.r15);
    g[REG_RDI] = s(regs.rdi);
    g[REG_RSI] = s(regs.rsi);
    g[REG_RBP] = s(regs.rbp);
    g[REG_RBX] = s(regs.rbx);
    g[REG_RDX] = s(regs.rdx);
    g[REG_RAX] = s(regs.rax);
    g[REG_RCX] = s(regs.rcx);
    g[REG_RSP] = s(regs.rsp);
    g[REG_RIP] = s(regs.rip);
    g[REG_EFL] = s(regs.eflags);
    if (f.fast)
        return;  // Switch made a signal frame first if the bases change
    uint64_t cs = regs.cs ? regs.cs : kUserCs;
    uint64_t ss = regs.ss ? regs.ss : kUserSs;
    g[REG_CSGSFS] = s((cs & 0xffff) | ((ss & 0xffff) << 48));
    // The host mask of an application thread is always empty: the sentry keeps the real one.
    std::memset(&f.uc->uc_sigmask, 0, 8);
    // fs/gs bases are not part of a signal frame: the handler sets them when they change.
    // The host's gs base is the slot while the application's is 0, for the fast path.
    if (!m_bases_known || regs.fs_base != m_fs_base) {
        m_header->fs_base = regs.fs_base;
        m_header->set_fs = 1;
        m_fs_base = regs.fs_base;
    }
    if (!m_bases_known || regs.gs_base != m_gs_base) {
        m_header->gs_base = regs.gs_base ? regs.gs_base : SlotAddress(m_slot);
        m_header->set_gs = 1;
        m_gs_base = regs.gs_base;
    }
    m_bases_known = true;
}

bool SystrapContext::NeedsBaseChange(const Registers& regs) const {
    return !m_bases_known || regs.fs_base != m_fs_base || regs.gs_base != m_gs_base;
}

Result<std::vector<uint8_t>> SystrapContext::GetFpu() {
    if (!m_stub)
        return m_pending_fpu ? *m_pending_fpu : InitialXstate();
    Frame f = TRY(ToSignalFrame());
    if (!f.fpstate)
        return Errno(EFAULT);
    return std::vector<uint8_t>(f.fpstate, f.fpstate + f.fpsize);
}

Result<void> SystrapContext::SetFpu(const std::vector<uint8_t>& xsave) {
    if (xsave.size() < 512 + 64)
        return Errno(EINVAL);
    if (!m_stub) {
        m_pending_fpu = xsave;
        return {};
    }
    Frame f = TRY(ToSignalFrame());
    if (!f.fpstate)
        return Errno(EFAULT);
    // Laid over the frame's image; its software-reserved bytes stay the kernel's, since they
    // tell rt_sigreturn the image's layout.
    size_t n = std::min(xsave.size(), f.fpsize);
    std::memcpy(f.fpstate, xsave.data(), kSwReservedOffset);
    if (n > kLegacySize)
        std::memcpy(f.fpstate + kLegacySize, xsave.data() + kLegacySize, n - kLegacySize);
    return {};
}

}  // namespace moat::platform::systrap
