// The initial stack (see stack.h for the layout).

#include "sentry/loader/stack.h"

#include <cpuid.h>
#include <elf.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstring>

namespace moat::loader {

namespace {

using mm::kPageSize;
using mm::PageDown;
using mm::PageUp;

constexpr char kPlatform[] = "x86_64";  // ELF_PLATFORM: utsname()->machine
constexpr uint64_t kRandomBytes = 16;
constexpr uint64_t kAlignStackRandom = 8192;  // arch_align_stack: up to 8 KiB below the strings
// auxv entries create_elf_tables writes, AT_NULL included (one more for AT_SYSINFO_EHDR).
constexpr uint64_t kMaxAuxvEntries = 24;
constexpr uint64_t kStackGuardGap = 256 * kPageSize;  // Linux stack_guard_gap (1 MiB)

Result<uint64_t> CheckedAdd(uint64_t a, uint64_t b) {
    uint64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return Error(E2BIG);
    return r;
}

// What fits below the strings: the align gap, platform, random bytes, auxv, pointer arrays.
uint64_t TablesSize(size_t argc, size_t envc) {
    return kAlignStackRandom + 16 + sizeof(kPlatform) + kRandomBytes + kMaxAuxvEntries * 16 +
           (uint64_t(argc) + envc + 3) * 8 + 16;
}

// Kernel get_sigframe_size() for 64-bit tasks, from the XSAVE size in CPUID 0xD: the frame
// (siginfo + ucontext), its alignment padding, the XSAVE area with FP_XSTATE_MAGIC2 and its
// 64-byte alignment padding, rounded to 16.
uint64_t ComputeMinSigStackSize() {
    constexpr uint64_t kRtSigframe = 440, kFramePadding = 15, kMagic2 = 4, kXsavePadding = 63;
    unsigned a = 0, b = 0, c = 0, d = 0;
    uint64_t fpstate = 512;  // FXSAVE
    if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_OSXSAVE) && __get_cpuid_count(0xd, 0, &a, &b, &c, &d) && b)
        fpstate = uint64_t(b) + kMagic2;
    uint64_t size = kRtSigframe + kFramePadding + fpstate + kXsavePadding;
    return (size + 15) & ~uint64_t(15);
}

}  // namespace

const HostAuxv& HostAuxvValues() {
    static const HostAuxv values = [] {
        HostAuxv v;
        unsigned a = 0, b = 0, c = 0, d = 0;
        if (__get_cpuid(1, &a, &b, &c, &d))
            v.hwcap = d;  // ELF_HWCAP on x86: CPUID 1 EDX
        v.hwcap2 = getauxval(AT_HWCAP2);  // ring3mwait, fsgsbase: the host kernel's word
        v.minsigstksz = getauxval(AT_MINSIGSTKSZ);
        if (v.minsigstksz == 0)
            v.minsigstksz = ComputeMinSigStackSize();
        return v;
    }();
    return values;
}

Result<uint64_t> CheckArgLimits(const std::string& filename, const std::vector<std::string>& argv,
                                const std::vector<std::string>& envp, uint64_t stack_rlimit) {
    if (argv.size() > kMaxArgStrings || envp.size() > kMaxArgStrings)
        return Error(E2BIG);
    // bprm_stack_limits(): a quarter of the stack limit, capped at 3/4 of _STK_LIM so the
    // program keeps room to run, and never less than ARG_MAX.
    uint64_t limit = std::max(std::min(kStackLim / 4 * 3, stack_rlimit / 4), kArgMax);
    uint64_t ptr_size = (std::max<uint64_t>(argv.size(), 1) + envp.size()) * sizeof(uint64_t);
    if (limit <= ptr_size)
        return Error(E2BIG);
    limit -= ptr_size;
    uint64_t total = 0;
    auto add = [&](const std::string& s) -> Result<void> {
        uint64_t len = uint64_t(s.size()) + 1;
        if (len > kMaxArgStrlen)
            return Error(E2BIG);
        total = TRY(CheckedAdd(total, len));
        if (total > limit)
            return Error(E2BIG);
        return {};
    };
    TRY(add(filename));
    for (const auto& s : envp)
        TRY(add(s));
    for (const auto& s : argv)
        TRY(add(s));
    return total;
}

Result<uint64_t> MapStack(mm::MemoryManager& mm, uint64_t strings_size, size_t argc, size_t envc,
                          bool exec_stack, uint64_t stack_rlimit, LayoutRandom& random) {
    const uint64_t lo = mm.min_address(), hi = PageDown(mm.max_address());
    if (hi <= lo)
        return Error(ENOMEM);
    uint64_t used = TRY(CheckedAdd(TRY(CheckedAdd(strings_size, 8)), TablesSize(argc, envc)));
    uint64_t size = TRY(CheckedAdd(PageUp(used), kStackExpand));
    // randomize_stack_top(): up to 16 GiB below the top, but never so far down that the
    // stack could not grow to its rlimit above mmap_base (where top-down mmap starts).
    uint64_t room = std::min(std::max(stack_rlimit, size), hi) + kStackGuardGap;  // rlimit may be infinite
    uint64_t mmap_base = std::min(mm.mmap_base(), hi);
    uint64_t range = hi - mmap_base > room ? hi - mmap_base - room : 0;
    uint64_t top = hi - random.PageOffset(std::min({kStackRandomRange, range, (hi - lo) / 64}));
    if (size > top - lo)
        return Error(ENOMEM);
    mm::MmapRequest req;
    req.addr = top - size;
    req.length = size;
    req.prot = PROT_READ | PROT_WRITE | (exec_stack ? PROT_EXEC : 0);
    req.flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN;
    req.name = "[stack]";
    TRY(mm.Mmap(req));
    return top;
}

Result<StackResult> WriteStack(mm::MemoryManager& mm, uint64_t top, const std::string& filename,
                               const std::vector<std::string>& argv, const std::vector<std::string>& envp,
                               const AuxvInputs& in, LayoutRandom& random) {
    StackResult out;
    // Addresses first, top-down exactly as copy_strings() and create_elf_tables() do.
    uint64_t p = top - sizeof(uint64_t);  // bprm->p starts one pointer below the top
    p -= filename.size() + 1;
    out.execfn = p;
    std::vector<uint64_t> env_addrs(envp.size()), arg_addrs(argv.size());
    for (size_t i = envp.size(); i-- > 0;) {
        p -= envp[i].size() + 1;
        env_addrs[i] = p;
    }
    for (size_t i = argv.size(); i-- > 0;) {
        p -= argv[i].size() + 1;
        arg_addrs[i] = p;
    }
    out.arg_start = p;
    out.arg_end = out.env_start = envp.empty() ? out.execfn : env_addrs.front();
    out.env_end = out.execfn;

    p = (p - random.Below(kAlignStackRandom)) & ~uint64_t(15);  // arch_align_stack
    p -= sizeof(kPlatform);
    out.platform = p;
    p -= kRandomBytes;
    out.random = p;

    const HostAuxv& host = HostAuxvValues();
    auto& av = out.auxv;
    auto put = [&av](uint64_t type, uint64_t value) {
        av.push_back(type);
        av.push_back(value);
    };
    if (in.sysinfo_ehdr)
        put(AT_SYSINFO_EHDR, in.sysinfo_ehdr);
    put(AT_MINSIGSTKSZ, host.minsigstksz);
    put(AT_HWCAP, host.hwcap);
    put(AT_PAGESZ, kPageSize);
    put(AT_CLKTCK, 100);
    put(AT_PHDR, in.phdr);
    put(AT_PHENT, sizeof(Elf64_Phdr));
    put(AT_PHNUM, in.phnum);
    put(AT_BASE, in.base);
    put(AT_FLAGS, 0);
    put(AT_ENTRY, in.entry);
    put(AT_UID, in.uid);
    put(AT_EUID, in.euid);
    put(AT_GID, in.gid);
    put(AT_EGID, in.egid);
    put(AT_SECURE, in.secure);
    put(AT_RANDOM, out.random);
    put(AT_HWCAP2, host.hwcap2);
    put(AT_EXECFN, out.execfn);
    put(AT_PLATFORM, out.platform);
    put(AT_NULL, 0);

    uint64_t words = 1 + (argv.size() + 1) + (envp.size() + 1) + av.size();
    out.sp = (p - words * sizeof(uint64_t)) & ~uint64_t(15);  // STACK_ROUND
    if (out.sp >= p || out.sp > top)
        return Error(E2BIG);

    // Build [sp, top) in one buffer and copy it out once.
    std::vector<uint8_t> image(top - out.sp, 0);
    auto at = [&](uint64_t addr) { return image.data() + (addr - out.sp); };
    auto put_word = [&](uint64_t addr, uint64_t v) { memcpy(at(addr), &v, sizeof(v)); };
    memcpy(at(out.execfn), filename.c_str(), filename.size() + 1);
    for (size_t i = 0; i < envp.size(); ++i)
        memcpy(at(env_addrs[i]), envp[i].c_str(), envp[i].size() + 1);
    for (size_t i = 0; i < argv.size(); ++i)
        memcpy(at(arg_addrs[i]), argv[i].c_str(), argv[i].size() + 1);
    memcpy(at(out.platform), kPlatform, sizeof(kPlatform));
    TRY(HostRandomBytes(std::span(at(out.random), kRandomBytes)));

    uint64_t w = out.sp;
    put_word(w, argv.size());
    w += 8;
    for (uint64_t a : arg_addrs) {
        put_word(w, a);
        w += 8;
    }
    w += 8;  // NULL
    for (uint64_t a : env_addrs) {
        put_word(w, a);
        w += 8;
    }
    w += 8;  // NULL
    for (uint64_t v : av) {
        put_word(w, v);
        w += 8;
    }
    TRY(mm.CopyOut(mm::UserAddr(out.sp), image.data(), image.size()));
    return out;
}

}  // namespace moat::loader
