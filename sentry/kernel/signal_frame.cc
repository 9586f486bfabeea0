#include "sentry/kernel/signal_frame.h"

#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"

#include <cstring>

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

namespace moat::kernel {

namespace {

constexpr uint64_t kRedZone = 128;
constexpr uint16_t kUserCs = 0x33, kUserSs = 0x2b;
constexpr uint64_t kUcFpXstate = 0x1, kUcSigcontextSs = 0x2, kUcStrictRestoreSs = 0x4;
// The flags user code may change through sigreturn (Linux's FIX_EFLAGS).
constexpr uint64_t kFixEflags = 0x40000 /*AC*/ | 0x800 /*OF*/ | 0x400 /*DF*/ | 0x100 /*TF*/ | 0x80 /*SF*/ |
                                0x40 /*ZF*/ | 0x10 /*AF*/ | 0x4 /*PF*/ | 0x1 /*CF*/ | 0x10000 /*RF*/;
constexpr size_t kSwReservedOffset = 464;  // fxsave's sw_reserved: struct _fpx_sw_bytes
constexpr size_t kXstateHeaderOffset = 512;

struct FpxSwBytes {
    uint32_t magic1;
    uint32_t extended_size;
    uint64_t xfeatures;
    uint32_t xstate_size;
    uint32_t padding[7];
};
static_assert(sizeof(FpxSwBytes) == 48);

Result<void> Out(Task& t, uint64_t addr, const void* p, size_t n) {
    return t.mm().CopyOut(mm::UserAddr(addr), p, n);
}

std::vector<uint8_t> InitFpu(size_t size) {
    std::vector<uint8_t> image(std::max<size_t>(size, 576), 0);
    uint16_t fcw = 0x37f;
    uint32_t mxcsr = 0x1f80;
    uint64_t bv = 0x3;
    std::memcpy(&image[0], &fcw, sizeof(fcw));
    std::memcpy(&image[24], &mxcsr, sizeof(mxcsr));
    std::memcpy(&image[kXstateHeaderOffset], &bv, sizeof(bv));
    return image;
}

}  // namespace

bool OnAltStack(Task& t, uint64_t sp) {
    if (t.altstack.flags & SS_AUTODISARM)
        return false;
    return t.altstack.size && sp > t.altstack.sp && sp - t.altstack.sp <= t.altstack.size;
}

int AltStackFlags(Task& t, uint64_t sp) {
    if (!t.altstack.size)
        return SS_DISABLE;
    return OnAltStack(t, sp) ? SS_ONSTACK : 0;
}

Result<void> SetupRtFrame(Task& t, const siginfo_t& info, const KernelSigaction& act, uint64_t old_mask) {
    platform::Registers& r = t.regs();
    if (!(act.flags & kSaRestorer))
        return Error(EFAULT);  // x86-64 has no kernel-provided trampoline

    std::vector<uint8_t> fpu = TRY(t.context()->GetFpu());
    const size_t xsize = fpu.size();

    uint64_t sp = r.rsp - kRedZone;
    if ((act.flags & SA_ONSTACK) && AltStackFlags(t, sp) == 0)
        sp = t.altstack.sp + t.altstack.size;
    uint64_t fpstate = (sp - (xsize + 4)) & ~uint64_t{63};
    uint64_t frame_addr = ((fpstate - sizeof(RtSigframe)) & ~uint64_t{15}) - 8;
    if (frame_addr > sp)  // wrapped around
        return Error(EFAULT);

    // The FPU state, with the software-reserved bytes that tell user code its layout.
    FpxSwBytes sw{};
    std::memcpy(&sw, &fpu[kSwReservedOffset], sizeof(sw));
    uint64_t bv;
    std::memcpy(&bv, &fpu[kXstateHeaderOffset], sizeof(bv));
    if (sw.magic1 != kFpXstateMagic1)
        sw.xfeatures = bv | 0x3;
    sw.magic1 = kFpXstateMagic1;
    sw.xstate_size = static_cast<uint32_t>(xsize);
    sw.extended_size = static_cast<uint32_t>(xsize + 4);
    std::memcpy(&fpu[kSwReservedOffset], &sw, sizeof(sw));
    bv |= 0x3;  // FP and SSE are always in the frame (Linux does the same)
    std::memcpy(&fpu[kXstateHeaderOffset], &bv, sizeof(bv));
    TRY(Out(t, fpstate, fpu.data(), xsize));
    TRY(Out(t, fpstate + xsize, &kFpXstateMagic2, 4));

    RtSigframe f;
    std::memset(&f, 0, sizeof(f));
    f.pretcode = act.restorer;
    f.info = info;
    f.uc.uc_flags = kUcFpXstate | kUcSigcontextSs | kUcStrictRestoreSs;
    f.uc.uc_stack.ss_sp = t.altstack.sp;
    f.uc.uc_stack.ss_flags = t.altstack.size ? t.altstack.flags : SS_DISABLE;
    f.uc.uc_stack.ss_size = t.altstack.size;
    KernelSigcontext& sc = f.uc.uc_mcontext;
    sc.r8 = r.r8; sc.r9 = r.r9; sc.r10 = r.r10; sc.r11 = r.r11;
    sc.r12 = r.r12; sc.r13 = r.r13; sc.r14 = r.r14; sc.r15 = r.r15;
    sc.rdi = r.rdi; sc.rsi = r.rsi; sc.rbp = r.rbp; sc.rbx = r.rbx;
    sc.rdx = r.rdx; sc.rax = r.rax; sc.rcx = r.rcx; sc.rsp = r.rsp;
    sc.rip = r.rip; sc.eflags = r.eflags;
    sc.cs = kUserCs;
    sc.ss = kUserSs;
    if (info.si_signo == SIGSEGV || info.si_signo == SIGBUS) {
        sc.trapno = 14;  // #PF
        sc.cr2 = reinterpret_cast<uint64_t>(info.si_addr);
        sc.err = 4;      // user-mode access
    }
    sc.oldmask = old_mask;
    sc.fpstate = fpstate;
    f.uc.uc_sigmask = old_mask;
    TRY(Out(t, frame_addr, &f, sizeof(f)));

    if (t.altstack.flags & SS_AUTODISARM)
        t.altstack = {};

    r.rsp = frame_addr;
    r.rip = act.handler;
    r.rdi = static_cast<uint64_t>(info.si_signo);
    r.rsi = frame_addr + offsetof(RtSigframe, info);
    r.rdx = frame_addr + offsetof(RtSigframe, uc);
    r.rax = 0;
    r.eflags &= ~uint64_t{0x400 | 0x10000 | 0x100};  // DF, RF, TF
    r.cs = kUserCs;
    r.ss = kUserSs;
    return {};
}

Result<void> RestoreRtFrame(Task& t) {
    platform::Registers& r = t.regs();
    uint64_t frame_addr = r.rsp - 8;  // the handler's `ret` popped pretcode
    auto f = TRY(t.mm().CopyInObject<RtSigframe>(mm::UserAddr(frame_addr)));
    const KernelSigcontext& sc = f.uc.uc_mcontext;

    // FPU first: a bad image fails the whole sigreturn before anything changed.
    std::vector<uint8_t> cur = TRY(t.context()->GetFpu());
    std::vector<uint8_t> image;
    if (sc.fpstate == 0) {
        image = InitFpu(cur.size());
        image.resize(cur.size());
    } else {
        if (sc.fpstate & 63)
            return Error(EFAULT);
        image.resize(cur.size());
        TRY(t.mm().CopyIn(mm::UserAddr(sc.fpstate), image.data(), 512));
        FpxSwBytes sw{};
        std::memcpy(&sw, &image[kSwReservedOffset], sizeof(sw));
        uint32_t magic2 = 0;
        bool full = sw.magic1 == kFpXstateMagic1 && sw.xstate_size == cur.size() &&
                    sw.extended_size == sw.xstate_size + 4 &&
                    t.mm().CopyIn(mm::UserAddr(sc.fpstate + sw.xstate_size), &magic2, 4).ok() &&
                    magic2 == kFpXstateMagic2;
        if (full) {
            TRY(t.mm().CopyIn(mm::UserAddr(sc.fpstate), image.data(), cur.size()));
        } else {
            // A legacy fxsave image: x87/SSE from the frame, the other components reset.
            std::memcpy(image.data() + 512, cur.data() + 512, cur.size() - 512);
            std::memset(image.data() + 512, 0, 64);
            uint64_t bv = 0x3;
            std::memcpy(&image[kXstateHeaderOffset], &bv, sizeof(bv));
        }
        // The MXCSR reserved bits would make the host's XRSTOR fault: Linux refuses them too.
        uint32_t mxcsr;
        std::memcpy(&mxcsr, &image[24], sizeof(mxcsr));
        if (mxcsr & 0xffff0000u)
            return Error(EFAULT);
    }
    TRY(t.context()->SetFpu(image));

    r.r8 = sc.r8; r.r9 = sc.r9; r.r10 = sc.r10; r.r11 = sc.r11;
    r.r12 = sc.r12; r.r13 = sc.r13; r.r14 = sc.r14; r.r15 = sc.r15;
    r.rdi = sc.rdi; r.rsi = sc.rsi; r.rbp = sc.rbp; r.rbx = sc.rbx;
    r.rdx = sc.rdx; r.rax = sc.rax; r.rcx = sc.rcx; r.rsp = sc.rsp;
    r.rip = sc.rip;
    r.eflags = (r.eflags & ~kFixEflags) | (sc.eflags & kFixEflags);
    r.cs = kUserCs;
    r.ss = kUserSs;
    r.orig_rax = ~uint64_t{0};  // no syscall restart from here

    t.set_signal_mask(f.uc.uc_sigmask);

    // restore_altstack: errors other than EFAULT are ignored, as Linux does.
    const KernelStack& ss = f.uc.uc_stack;
    if (!OnAltStack(t, r.rsp)) {
        int mode = ss.ss_flags & ~static_cast<int>(SS_AUTODISARM);
        if (mode == SS_DISABLE)
            t.altstack = {};
        else if (mode == 0 || mode == SS_ONSTACK)
            t.altstack = Task::AltStack{ss.ss_sp, ss.ss_size, static_cast<int>(ss.ss_flags & SS_AUTODISARM)};
    }
    t.regs_replaced = true;
    return {};
}

}  // namespace moat::kernel
