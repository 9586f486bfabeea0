// LoadProgram end to end on a real MemoryManager (over a do-nothing platform): the stack
// layout and auxv, segments and bss, PIE placement, interpreters, `#!` chains, and real
// host binaries (/bin/busybox static, /bin/true dynamic PIE).

#include "sentry/loader/loader.h"

#include "sentry/loader/elf.h"
#include "sentry/loader/load_elf.h"
#include "sentry/loader/loader_test_util.h"
#include "sentry/loader/vdso.h"
#include "sentry/kernel/timekeeper.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <map>
#include <optional>
#include <set>

namespace moat::loader {
namespace {

using namespace testing;

class LoaderTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto mf = mm::MemoryFile::Create(1ull << 30);
        ASSERT_TRUE(mf.ok()) << mf.error();
        m_mf = std::move(*mf);
        auto mm = mm::MemoryManager::Create(*m_mf, m_platform);
        ASSERT_TRUE(mm.ok()) << mm.error();
        m_mm = std::move(*mm);
        m_files.emplace(m_mf.get(), /*host=*/true);
    }

    TestOpener& files() { return *m_files; }
    mm::MemoryManager& mm() { return *m_mm; }

    // A fresh, empty address space (execve makes a new one each time).
    void ResetMm() {
        m_mm.reset();
        m_mm = MUST(mm::MemoryManager::Create(*m_mf, m_platform));
    }

    LoadRequest Request(const std::string& filename, std::vector<std::string> argv,
                        std::vector<std::string> envp = {}) {
        LoadRequest req;
        req.filename = filename;
        req.argv = std::move(argv);
        req.envp = std::move(envp);
        req.open = files().opener();
        return req;
    }

    Result<LoadResult> Load(const LoadRequest& req) { return LoadProgram(*m_mm, req); }

    uint64_t Word(uint64_t addr) {
        uint64_t v = 0;
        EXPECT_EQ(m_mm->ReadForPlatform(addr, &v, 8), 8u) << std::hex << addr;
        return v;
    }
    Bytes Read(uint64_t addr, size_t len) {
        Bytes b(len);
        EXPECT_EQ(m_mm->ReadForPlatform(addr, b.data(), len), len) << std::hex << addr;
        return b;
    }
    std::string Str(uint64_t addr) {
        std::string s;
        for (;;) {
            char c = 0;
            if (m_mm->ReadForPlatform(addr++, &c, 1) != 1 || c == 0)
                return s;
            s.push_back(c);
        }
    }
    std::vector<std::string> StrArray(uint64_t addr) {
        std::vector<std::string> out;
        for (uint64_t p; (p = Word(addr)) != 0; addr += 8)
            out.push_back(Str(p));
        return out;
    }
    // Walks argc/argv/envp to the auxv; returns (type, value) pairs up to AT_NULL included.
    std::vector<std::pair<uint64_t, uint64_t>> Auxv(uint64_t sp) {
        uint64_t p = sp + 8 * (Word(sp) + 2);
        while (Word(p) != 0)
            p += 8;
        p += 8;
        std::vector<std::pair<uint64_t, uint64_t>> out;
        for (;; p += 16) {
            out.emplace_back(Word(p), Word(p + 8));
            if (out.back().first == AT_NULL || out.size() > 64)
                return out;
        }
    }
    std::map<uint64_t, uint64_t> AuxvMap(uint64_t sp) {
        std::map<uint64_t, uint64_t> m;
        for (auto [k, v] : Auxv(sp))
            m[k] = v;
        return m;
    }
    std::optional<mm::VmaInfo> VmaAt(uint64_t addr) {
        for (const auto& v : m_mm->Vmas())
            if (addr >= v.start && addr < v.end)
                return v;
        return std::nullopt;
    }
    std::optional<mm::VmaInfo> VmaNamed(const std::string& name) {
        for (const auto& v : m_mm->Vmas())
            if (v.name == name)
                return v;
        return std::nullopt;
    }

    NullPlatform m_platform;
    std::unique_ptr<mm::MemoryFile> m_mf;
    std::shared_ptr<mm::MemoryManager> m_mm;
    std::optional<TestOpener> m_files;
};

// ---- the stack and auxv ----

TEST_F(LoaderTest, LoaderStackLayoutMatchesLinux) {
    Bytes elf = BuildElf(StaticSpec());
    files().Add("/bin/prog", elf);
    auto r = Load(Request("/bin/prog", {"prog", "a", "bc"}, {"X=1", "HOME=/root"}));
    ASSERT_TRUE(r.ok()) << r.error();
    const uint64_t sp = r->stack_pointer;
    EXPECT_EQ(r->entry, 0x400100u);
    EXPECT_EQ(r->exe_path, "/bin/prog");
    EXPECT_EQ(sp % 16, 0u);

    EXPECT_EQ(Word(sp), 3u);
    EXPECT_EQ(StrArray(sp + 8), (std::vector<std::string>{"prog", "a", "bc"}));
    EXPECT_EQ(StrArray(sp + 8 * 5), (std::vector<std::string>{"X=1", "HOME=/root"}));

    auto aux = Auxv(sp);
    std::vector<uint64_t> types;
    for (auto [k, v] : aux)
        types.push_back(k);
    // Linux's create_elf_tables order (no vDSO here).
    EXPECT_EQ(types, (std::vector<uint64_t>{AT_MINSIGSTKSZ, AT_HWCAP, AT_PAGESZ, AT_CLKTCK, AT_PHDR, AT_PHENT,
                                            AT_PHNUM, AT_BASE, AT_FLAGS, AT_ENTRY, AT_UID, AT_EUID, AT_GID,
                                            AT_EGID, AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN, AT_PLATFORM,
                                            AT_NULL}));
    auto a = AuxvMap(sp);
    EXPECT_EQ(a[AT_PAGESZ], 4096u);
    EXPECT_EQ(a[AT_CLKTCK], 100u);
    EXPECT_EQ(a[AT_PHDR], 0x400040u);
    EXPECT_EQ(a[AT_PHENT], sizeof(Elf64_Phdr));
    EXPECT_EQ(a[AT_PHNUM], 3u);
    EXPECT_EQ(a[AT_BASE], 0u);
    EXPECT_EQ(a[AT_ENTRY], 0x400100u);
    EXPECT_EQ(a[AT_SECURE], 0u);
    EXPECT_NE(a[AT_HWCAP], 0u);
    EXPECT_GE(a[AT_MINSIGSTKSZ], 1024u);
    EXPECT_EQ(Str(a[AT_EXECFN]), "/bin/prog");
    EXPECT_EQ(Str(a[AT_PLATFORM]), "x86_64");
    // The program headers are really at AT_PHDR.
    EXPECT_EQ(Read(a[AT_PHDR], 3 * sizeof(Elf64_Phdr)), Bytes(elf.begin() + 64, elf.begin() + 64 + 3 * 56));

    // Strings: argv, envp, filename ascending and contiguous, then 8 zero bytes, then the top.
    auto stack = VmaNamed("[stack]");
    ASSERT_TRUE(stack);
    EXPECT_EQ(stack->prot, PROT_READ | PROT_WRITE);
    EXPECT_GE(stack->end - stack->start, 128u * 1024);
    const uint64_t top = stack->end;
    EXPECT_EQ(a[AT_EXECFN] + sizeof("/bin/prog") + 8, top);
    EXPECT_EQ(Word(top - 8), 0u);
    uint64_t argv0 = Word(sp + 8);
    EXPECT_EQ(Word(sp + 16), argv0 + 5);
    EXPECT_EQ(Word(sp + 24), argv0 + 7);
    EXPECT_EQ(Word(sp + 40), argv0 + 10);  // envp[0] right after "bc\0"
    EXPECT_EQ(Word(sp + 48), argv0 + 14);
    EXPECT_EQ(a[AT_EXECFN], argv0 + 14 + sizeof("HOME=/root"));

    // Platform string above the 16 random bytes, both below the strings; auxv below them.
    EXPECT_EQ(a[AT_PLATFORM], a[AT_RANDOM] + 16);
    EXPECT_LT(a[AT_PLATFORM] + 7, argv0);
    EXPECT_LT(argv0 - a[AT_PLATFORM], 8192u + 32);
    Bytes rnd = Read(a[AT_RANDOM], 16);
    EXPECT_NE(rnd, Bytes(16, 0));
    uint64_t auxv_end = sp + 8 * (1 + 4 + 3) + aux.size() * 16;
    EXPECT_LE(auxv_end, a[AT_RANDOM]);
    EXPECT_LT(a[AT_RANDOM] - auxv_end, 16u);  // only alignment padding in between

    // The bookkeeping for /proc.
    const mm::MmLayout& l = mm().layout();
    EXPECT_EQ(l.start_stack, sp);
    EXPECT_EQ(l.arg_start, argv0);
    EXPECT_EQ(l.arg_end, argv0 + 10);
    EXPECT_EQ(l.env_start, argv0 + 10);
    EXPECT_EQ(l.env_end, a[AT_EXECFN]);
    EXPECT_EQ(l.exe_path, "/bin/prog");
    ASSERT_EQ(l.auxv.size(), aux.size() * 2);
    for (size_t i = 0; i < aux.size(); ++i) {
        EXPECT_EQ(l.auxv[2 * i], aux[i].first);
        EXPECT_EQ(l.auxv[2 * i + 1], aux[i].second);
    }
    EXPECT_EQ(l.start_code, 0x400000u);
    EXPECT_EQ(l.end_code, 0x401800u);
    EXPECT_EQ(l.start_data, 0x402000u);
    EXPECT_EQ(l.end_data, 0x402800u);
    EXPECT_GE(l.start_brk, 0x405000u);
    EXPECT_LT(l.start_brk, 0x405000u + (32u << 20));
    EXPECT_TRUE(mm::IsPageAligned(l.start_brk));
    EXPECT_EQ(l.brk, l.start_brk);
}

TEST_F(LoaderTest, LoaderStackAlignmentForEveryArgCount) {
    files().Add("/p", BuildElf(StaticSpec()));
    for (size_t argc = 1; argc <= 6; ++argc) {
        for (size_t envc = 0; envc <= 3; ++envc) {
            ResetMm();
            std::vector<std::string> argv(argc, "x"), envp(envc, "E=yy");
            LoadRequest req = Request("/p", argv, envp);
            auto r = Load(req);
            ASSERT_TRUE(r.ok()) << r.error();
            EXPECT_EQ(r->stack_pointer % 16, 0u) << argc << " " << envc;
            EXPECT_EQ(Word(r->stack_pointer), argc);
            EXPECT_EQ(StrArray(r->stack_pointer + 8).size(), argc);
            EXPECT_EQ(StrArray(r->stack_pointer + 8 * (argc + 2)).size(), envc);
        }
    }
}

TEST_F(LoaderTest, LoaderEmptyArgvGetsEmptyArgv0) {
    files().Add("/p", BuildElf(StaticSpec()));
    auto r = Load(Request("/p", {}));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(Word(r->stack_pointer), 1u);
    EXPECT_EQ(StrArray(r->stack_pointer + 8), (std::vector<std::string>{""}));
}

TEST_F(LoaderTest, LoaderCredentialsInAuxv) {
    files().Add("/p", BuildElf(StaticSpec()));
    LoadRequest req = Request("/p", {"p"});
    req.uid = 1000;
    req.euid = 1001;
    req.gid = 100;
    req.egid = 101;
    req.secure = true;
    auto r = Load(req);
    ASSERT_TRUE(r.ok()) << r.error();
    auto a = AuxvMap(r->stack_pointer);
    EXPECT_EQ(a[AT_UID], 1000u);
    EXPECT_EQ(a[AT_EUID], 1001u);
    EXPECT_EQ(a[AT_GID], 100u);
    EXPECT_EQ(a[AT_EGID], 101u);
    EXPECT_EQ(a[AT_SECURE], 1u);
}

TEST_F(LoaderTest, LoaderArgumentLimitsAreE2big) {
    files().Add("/p", BuildElf(StaticSpec()));
    // One string longer than MAX_ARG_STRLEN.
    EXPECT_EQ(Load(Request("/p", {"p", std::string(128 * 1024, 'a')})).error(), E2BIG);
    // 8 MiB stack: strings may use 2 MiB.
    std::vector<std::string> env(20, std::string(120 * 1024, 'e'));
    EXPECT_EQ(Load(Request("/p", {"p"}, env)).error(), E2BIG);
    // The same strings fit under a 64 MiB rlimit (6 MiB of strings).
    LoadRequest req = Request("/p", {"p"}, env);
    req.stack_size_limit = 64ull << 20;
    auto r = Load(req);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(StrArray(r->stack_pointer + 24).size(), 20u);
    EXPECT_EQ(Str(Word(r->stack_pointer + 24 + 19 * 8)), env[19]);
    // A tiny rlimit still allows ARG_MAX (128 KiB).
    ResetMm();
    req = Request("/p", {"p"}, {std::string(100 * 1024, 'x')});
    req.stack_size_limit = 4096;
    EXPECT_TRUE(Load(req).ok());
    // An infinite rlimit is capped at 6 MiB.
    ResetMm();
    req = Request("/p", {"p"}, std::vector<std::string>(60, std::string(120 * 1024, 'z')));
    req.stack_size_limit = UINT64_MAX;
    EXPECT_EQ(Load(req).error(), E2BIG);
}

TEST_F(LoaderTest, LoaderMapsTheVdso) {
    auto tk = kernel::Timekeeper::Create(*m_mf);
    ASSERT_TRUE(tk.ok()) << tk.error();
    auto vdso = Vdso::Create(*m_mf, **tk);
    ASSERT_TRUE(vdso.ok()) << vdso.error();
    files().Add("/p", BuildElf(StaticSpec()));
    LoadRequest req = Request("/p", {"p"});
    req.vdso = vdso->get();
    auto r = Load(req);
    ASSERT_TRUE(r.ok()) << r.error();
    auto aux = Auxv(r->stack_pointer);
    ASSERT_FALSE(aux.empty());
    EXPECT_EQ(aux[0].first, uint64_t(AT_SYSINFO_EHDR));  // first, as in Linux's ARCH_DLINFO
    EXPECT_EQ(aux[1].first, uint64_t(AT_MINSIGSTKSZ));
    uint64_t ehdr = aux[0].second;
    EXPECT_EQ(Read(ehdr, 4), Bytes(ELFMAG, ELFMAG + 4));
    auto v = VmaAt(ehdr);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->name, "[vdso]");
    EXPECT_EQ(mm().layout().auxv[0], uint64_t(AT_SYSINFO_EHDR));
}

// ---- segments ----

TEST_F(LoaderTest, LoaderMapsSegmentsAndZeroesBss) {
    Bytes elf = BuildElf(StaticSpec());
    files().Add("/p", elf);
    auto r = Load(Request("/p", {"p"}));
    ASSERT_TRUE(r.ok()) << r.error();
    // Text: file bytes.
    EXPECT_EQ(Read(0x400000, 0x1800), Bytes(elf.begin(), elf.begin() + 0x1800));
    // Data: file bytes, then the rest of the page zeroed although the file has data there.
    EXPECT_EQ(Read(0x402000, 0x800), Bytes(elf.begin() + 0x2000, elf.begin() + 0x2800));
    EXPECT_NE(elf[0x2800], 0);
    EXPECT_EQ(Read(0x402800, 0x800), Bytes(0x800, 0));
    // Anonymous bss pages.
    EXPECT_EQ(Read(0x403000, 0x2000), Bytes(0x2000, 0));
    auto text = VmaAt(0x400000), data = VmaAt(0x402000), bss = VmaAt(0x403000);
    ASSERT_TRUE(text && data && bss);
    EXPECT_EQ(text->prot, PROT_READ | PROT_EXEC);
    EXPECT_EQ(text->end, 0x402000u);
    EXPECT_EQ(data->prot, PROT_READ | PROT_WRITE);
    EXPECT_EQ(bss->prot, PROT_READ | PROT_WRITE);
    EXPECT_EQ(bss->end, 0x405000u);
    EXPECT_FALSE(VmaAt(0x405000));
    // The file itself is untouched by the zeroing (a private mapping copied the page).
    EXPECT_EQ(files().opened().back(), "/p");
}

TEST_F(LoaderTest, LoaderZeroesBssTailOfReadOnlySegment) {
    // A read-only segment with memsz > filesz: the tail is zeroed regardless of protection.
    ElfSpec spec;
    spec.phdrs = {Phdr(PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x1100, 0x1800)};
    spec.entry = 0x400100;
    files().Add("/p", BuildElf(spec));
    auto r = Load(Request("/p", {"p"}));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(Read(0x401100, 0x700), Bytes(0x700, 0));
    EXPECT_EQ(VmaAt(0x401000)->prot, PROT_READ | PROT_EXEC);
}

TEST_F(LoaderTest, LoaderExecStackFlag) {
    ElfSpec spec = StaticSpec();
    spec.phdrs[2].p_flags = PF_R | PF_W | PF_X;
    files().Add("/p", BuildElf(spec));
    ASSERT_TRUE(Load(Request("/p", {"p"})).ok());
    EXPECT_EQ(VmaNamed("[stack]")->prot, PROT_READ | PROT_WRITE | PROT_EXEC);
}

TEST_F(LoaderTest, LoaderRejectsSegmentsOutsideTheAddressSpace) {
    ElfSpec spec = StaticSpec();
    spec.phdrs[0].p_vaddr = 0x1000;  // below min_address (mmap_min_addr)
    spec.phdrs[1].p_vaddr = 0x3000;
    spec.phdrs[1].p_offset = 0x2000 + 0x1000;
    spec.entry = 0x1100;
    files().Add("/low", BuildElf(spec));
    EXPECT_EQ(Load(Request("/low", {"x"})).error(), ENOEXEC);

    spec = StaticSpec();
    spec.phdrs[1].p_vaddr = 0x7ffffffff000;
    files().Add("/high", BuildElf(spec));
    EXPECT_EQ(Load(Request("/high", {"x"})).error(), ENOEXEC);

    spec = StaticSpec();
    spec.phdrs[1].p_memsz = 1ull << 47;
    files().Add("/huge", BuildElf(spec));
    EXPECT_EQ(Load(Request("/huge", {"x"})).error(), ENOEXEC);

    spec = StaticSpec();
    spec.type = ET_DYN;
    spec.phdrs[1].p_memsz = 1ull << 47;
    files().Add("/hugepie", BuildElf(spec));
    EXPECT_NE(Load(Request("/hugepie", {"x"})).error(), 0);

    // An ET_EXEC linked where the stack is must not replace it.
    spec = StaticSpec();
    spec.phdrs[1].p_vaddr = 0x7ffffffe0000;
    spec.phdrs[1].p_memsz = 0x10000;
    files().Add("/onstack", BuildElf(spec));
    EXPECT_EQ(Load(Request("/onstack", {"x"})).error(), ENOEXEC);

    spec = StaticSpec();
    spec.entry = 0xffff800000000000;
    files().Add("/badentry", BuildElf(spec));
    EXPECT_EQ(Load(Request("/badentry", {"x"})).error(), ENOEXEC);
}

TEST_F(LoaderTest, LoaderNotAnExecutable) {
    files().Add("/text", std::string("hello world\n"));
    files().Add("/empty", std::string());
    EXPECT_EQ(Load(Request("/text", {"x"})).error(), ENOEXEC);
    EXPECT_EQ(Load(Request("/empty", {"x"})).error(), ENOEXEC);
    EXPECT_EQ(Load(Request("/nonexistent", {"x"})).error(), ENOENT);
}

// ---- PIE ----

ElfSpec PieSpec() {
    ElfSpec s;
    s.type = ET_DYN;
    s.phdrs = {
        Phdr(PT_LOAD, PF_R | PF_X, 0, 0, 0x1800, 0x1800),
        Phdr(PT_LOAD, PF_R | PF_W, 0x2000, 0x2000, 0x800, 0x2800),
    };
    s.entry = 0x100;
    return s;
}

TEST_F(LoaderTest, LoaderPieGoesNearTwoThirds) {
    files().Add("/pie", BuildElf(PieSpec()));
    std::set<uint64_t> entries;
    for (uint64_t seed : {1, 2, 3}) {
        ResetMm();
        LoadRequest req = Request("/pie", {"pie"});
        req.random_seed = seed;
        auto r = Load(req);
        ASSERT_TRUE(r.ok()) << r.error();
        uint64_t base = r->entry - 0x100;
        EXPECT_TRUE(mm::IsPageAligned(base));
        EXPECT_GE(base, 0x555555554000u);
        EXPECT_LT(base, 0x555555554000u + (1ull << 40));
        EXPECT_EQ(AuxvMap(r->stack_pointer)[AT_ENTRY], r->entry);
        EXPECT_EQ(AuxvMap(r->stack_pointer)[AT_PHDR], base + 64);
        EXPECT_EQ(Read(base + 0x2800, 0x800), Bytes(0x800, 0));
        entries.insert(r->entry);
    }
    EXPECT_EQ(entries.size(), 3u);
    EXPECT_EQ(DynBase(0x7ffffffff000), 0x555555554000u);
}

TEST_F(LoaderTest, LoaderSeedMakesLayoutReproducible) {
    files().Add("/pie", BuildElf(PieSpec()));
    LoadRequest req = Request("/pie", {"pie"}, {"A=b"});
    req.random_seed = 77;
    auto r1 = Load(req);
    ASSERT_TRUE(r1.ok());
    uint64_t brk1 = mm().layout().start_brk;
    ResetMm();
    auto r2 = Load(req);
    ASSERT_TRUE(r2.ok());
    EXPECT_EQ(r1->entry, r2->entry);
    EXPECT_EQ(r1->stack_pointer, r2->stack_pointer);
    EXPECT_EQ(brk1, mm().layout().start_brk);
}

TEST_F(LoaderTest, LoaderHonoursLargeSegmentAlignment) {
    ElfSpec spec = PieSpec();
    spec.phdrs[0].p_align = 0x200000;
    spec.phdrs[1].p_align = 0x200000;
    files().Add("/pie", BuildElf(spec));
    auto r = Load(Request("/pie", {"pie"}));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ((r->entry - 0x100) % 0x200000, 0u);
}

// ---- interpreters ----

// A synthetic ld.so: ET_DYN, text at 0, data at 0x5000 (a gap between).
Bytes FakeInterp() {
    ElfSpec s;
    s.type = ET_DYN;
    s.phdrs = {
        Phdr(PT_LOAD, PF_R | PF_X, 0, 0, 0x1000, 0x1000),
        Phdr(PT_LOAD, PF_R | PF_W, 0x2000, 0x5000, 0x100, 0x1000),
    };
    s.entry = 0x80;
    return BuildElf(s);
}

Bytes WithInterp(ElfSpec spec, const std::string& path) {
    spec.phdrs.push_back(Phdr(PT_INTERP, PF_R, 0x1000, 0x1000, path.size() + 1, path.size() + 1, 1));
    Bytes b = BuildElf(spec);
    memcpy(b.data() + 0x1000, path.c_str(), path.size() + 1);
    return b;
}

TEST_F(LoaderTest, LoaderDynamicProgramStartsInInterpreter) {
    files().Add("/lib/ld.so", FakeInterp());
    files().Add("/bin/dyn", WithInterp(PieSpec(), "/lib/ld.so"));
    auto r = Load(Request("/bin/dyn", {"dyn"}));
    ASSERT_TRUE(r.ok()) << r.error();
    auto a = AuxvMap(r->stack_pointer);
    uint64_t interp_base = a[AT_BASE];
    EXPECT_NE(interp_base, 0u);
    EXPECT_TRUE(mm::IsPageAligned(interp_base));
    EXPECT_EQ(r->entry, interp_base + 0x80);
    EXPECT_GE(a[AT_ENTRY], 0x555555554000u);
    EXPECT_EQ(a[AT_ENTRY], a[AT_PHDR] - 64 + 0x100);
    EXPECT_EQ(r->exe_path, "/bin/dyn");
    // The interpreter is in the mmap area, below the stack and above the program.
    EXPECT_GT(interp_base, a[AT_ENTRY]);
    EXPECT_LT(interp_base, VmaNamed("[stack]")->start);
    // Its segments are mapped and the gap between them is a hole, as on Linux.
    Bytes interp = FakeInterp();
    EXPECT_EQ(Read(interp_base, 0x1000), Bytes(interp.begin(), interp.begin() + 0x1000));
    EXPECT_TRUE(VmaAt(interp_base + 0x5000));
    EXPECT_FALSE(VmaAt(interp_base + 0x1000));
    EXPECT_FALSE(VmaAt(interp_base + 0x4000));
    EXPECT_EQ(Read(interp_base + 0x5100, 0xf00), Bytes(0xf00, 0));
}

TEST_F(LoaderTest, LoaderBadInterpreters) {
    files().Add("/bin/missing", WithInterp(PieSpec(), "/lib/none.so"));
    EXPECT_EQ(Load(Request("/bin/missing", {"x"})).error(), ENOENT);

    files().Add("/lib/text.so", std::string("not an elf file at all"));
    files().Add("/bin/text", WithInterp(PieSpec(), "/lib/text.so"));
    EXPECT_EQ(Load(Request("/bin/text", {"x"})).error(), ELIBBAD);

    ElfSpec nested = PieSpec();
    files().Add("/lib/nested.so", WithInterp(nested, "/lib/ld.so"));
    files().Add("/bin/nested", WithInterp(PieSpec(), "/lib/nested.so"));
    EXPECT_EQ(Load(Request("/bin/nested", {"x"})).error(), ELIBBAD);

    Bytes broken = FakeInterp();
    Poke<uint16_t>(broken, offsetof(Elf64_Ehdr, e_machine), EM_AARCH64);
    files().Add("/lib/arm.so", broken);
    files().Add("/bin/arm", WithInterp(PieSpec(), "/lib/arm.so"));
    EXPECT_EQ(Load(Request("/bin/arm", {"x"})).error(), ELIBBAD);
}

// ---- `#!` ----

TEST_F(LoaderTest, LoaderScriptRewritesArgv) {
    files().Add("/bin/sh", BuildElf(StaticSpec()));
    files().Add("./s.sh", std::string("#! /bin/sh -e \necho\n"));
    auto r = Load(Request("./s.sh", {"s.sh", "one", "two"}, {"E=1"}));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(StrArray(r->stack_pointer + 8), (std::vector<std::string>{"/bin/sh", "-e", "./s.sh", "one", "two"}));
    EXPECT_EQ(r->exe_path, "/bin/sh");  // /proc/self/exe is the interpreter
    EXPECT_EQ(mm().layout().exe_path, "/bin/sh");
    EXPECT_EQ(Str(AuxvMap(r->stack_pointer)[AT_EXECFN]), "./s.sh");  // AT_EXECFN stays the script
    EXPECT_EQ(files().opened(), (std::vector<std::string>{"./s.sh", "/bin/sh"}));
}

TEST_F(LoaderTest, LoaderScriptWithoutArgument) {
    files().Add("/bin/sh", BuildElf(StaticSpec()));
    files().Add("/s", std::string("#!/bin/sh\n"));
    auto r = Load(Request("/s", {"whatever"}));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(StrArray(r->stack_pointer + 8), (std::vector<std::string>{"/bin/sh", "/s"}));
}

TEST_F(LoaderTest, LoaderNestedScriptsUpToFourLevels) {
    files().Add("/bin/real", BuildElf(StaticSpec()));
    // /s1 -> /s2 -> /s3 -> /s4 -> /bin/real: four rewrites, allowed.
    files().Add("/s4", std::string("#!/bin/real a4\n"));
    files().Add("/s3", std::string("#!/s4 a3\n"));
    files().Add("/s2", std::string("#!/s3\n"));
    files().Add("/s1", std::string("#!/s2 a1\n"));
    auto r = Load(Request("/s1", {"s1", "x"}));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(StrArray(r->stack_pointer + 8),
              (std::vector<std::string>{"/bin/real", "a4", "/s4", "a3", "/s3", "/s2", "a1", "/s1", "x"}));
    EXPECT_EQ(r->exe_path, "/bin/real");
    // A fifth level is ELOOP.
    files().Add("/s0", std::string("#!/s1\n"));
    ResetMm();
    EXPECT_EQ(Load(Request("/s0", {"s0"})).error(), ELOOP);
    // A script naming itself, too.
    files().Add("/self", std::string("#!/self\n"));
    EXPECT_EQ(Load(Request("/self", {"self"})).error(), ELOOP);
}

TEST_F(LoaderTest, LoaderScriptErrors) {
    files().Add("/nointerp", std::string("#!\n"));
    EXPECT_EQ(Load(Request("/nointerp", {"x"})).error(), ENOEXEC);
    files().Add("/missing", std::string("#!/no/such/shell\n"));
    EXPECT_EQ(Load(Request("/missing", {"x"})).error(), ENOENT);
    files().Add("/toolong", "#!/" + std::string(300, 'a') + "\n");
    EXPECT_EQ(Load(Request("/toolong", {"x"})).error(), ENOEXEC);
    files().Add("/textinterp", std::string("#!/text\n"));
    files().Add("/text", std::string("plain text\n"));
    EXPECT_EQ(Load(Request("/textinterp", {"x"})).error(), ENOEXEC);
}

// ---- real host binaries ----

TEST_F(LoaderTest, LoaderLoadsStaticBusybox) {
    Bytes bb;
    if (!ReadHostFile("/bin/busybox", &bb))
        GTEST_SKIP() << "install busybox-static";
    BytesExecFile probe("/bin/busybox", bb, nullptr);
    ElfImage image = MUST(ReadElf(probe));
    if (image.has_interp)
        GTEST_SKIP() << "/bin/busybox is not static";
    Elf64_Ehdr eh;
    memcpy(&eh, bb.data(), sizeof(eh));

    auto r = Load(Request("/bin/busybox", {"busybox", "true"}, {"PATH=/bin"}));
    ASSERT_TRUE(r.ok()) << r.error();
    auto a = AuxvMap(r->stack_pointer);
    EXPECT_EQ(a[AT_BASE], 0u);
    uint64_t bias = eh.e_type == ET_EXEC ? 0 : r->entry - eh.e_entry;
    EXPECT_EQ(r->entry, eh.e_entry + bias);
    EXPECT_EQ(a[AT_ENTRY], r->entry);
    EXPECT_EQ(a[AT_PHNUM], eh.e_phnum);
    // The program headers and the code at the entry point are the file's bytes.
    EXPECT_EQ(Read(a[AT_PHDR], eh.e_phnum * sizeof(Elf64_Phdr)),
              Bytes(bb.begin() + eh.e_phoff, bb.begin() + eh.e_phoff + eh.e_phnum * sizeof(Elf64_Phdr)));
    for (const auto& seg : image.loads) {
        if (!(seg.prot & PROT_EXEC))
            continue;
        uint64_t off = seg.offset + (eh.e_entry - seg.vaddr);
        if (eh.e_entry >= seg.vaddr && eh.e_entry < seg.vaddr + seg.filesz) {
            EXPECT_EQ(Read(r->entry, 64), Bytes(bb.begin() + off, bb.begin() + off + 64));
        }
    }
    // Every PT_LOAD's bss reads as zero.
    for (const auto& seg : image.loads) {
        if (seg.memsz > seg.filesz) {
            uint64_t n = std::min<uint64_t>(seg.memsz - seg.filesz, 0x3000);
            EXPECT_EQ(Read(seg.vaddr + bias + seg.filesz, n), Bytes(n, 0));
        }
    }
    EXPECT_EQ(r->exe_path, "/bin/busybox");
    EXPECT_GE(mm().layout().start_brk, mm::PageUp(image.loads.back().vaddr + bias + image.loads.back().memsz));
}

TEST_F(LoaderTest, LoaderLoadsDynamicTrue) {
    Bytes t, ld;
    if (!ReadHostFile("/bin/true", &t) || !ReadHostFile("/lib64/ld-linux-x86-64.so.2", &ld))
        GTEST_SKIP() << "no /bin/true or ld.so";
    Elf64_Ehdr eh, ldh;
    memcpy(&eh, t.data(), sizeof(eh));
    memcpy(&ldh, ld.data(), sizeof(ldh));
    if (eh.e_type != ET_DYN)
        GTEST_SKIP() << "/bin/true is not PIE";

    auto r = Load(Request("/bin/true", {"true"}, {"LANG=C"}));
    ASSERT_TRUE(r.ok()) << r.error();
    auto a = AuxvMap(r->stack_pointer);
    EXPECT_EQ(files().opened(), (std::vector<std::string>{"/bin/true", "/lib64/ld-linux-x86-64.so.2"}));
    // ld.so: AT_BASE is its load address, the initial rip its entry.
    EXPECT_NE(a[AT_BASE], 0u);
    EXPECT_EQ(r->entry, a[AT_BASE] + ldh.e_entry);
    EXPECT_EQ(Read(a[AT_BASE], 64), Bytes(ld.begin(), ld.begin() + 64));
    // The program: near 2/3 of the address space, AT_PHDR are its program headers.
    uint64_t bias = a[AT_ENTRY] - eh.e_entry;
    EXPECT_GE(bias, 0x555555554000u);
    EXPECT_LT(bias, 0x555555554000u + (1ull << 40));
    EXPECT_EQ(Read(a[AT_PHDR], eh.e_phnum * sizeof(Elf64_Phdr)),
              Bytes(t.begin() + eh.e_phoff, t.begin() + eh.e_phoff + eh.e_phnum * sizeof(Elf64_Phdr)));
    EXPECT_EQ(a[AT_PHNUM], eh.e_phnum);
    EXPECT_EQ(r->exe_path, "/bin/true");
    // The maps look like Linux's: program, heap gap, ld.so, stack, with names.
    auto prog = VmaAt(bias);
    ASSERT_TRUE(prog);
    EXPECT_EQ(prog->name, "/bin/true");
    auto interp = VmaAt(a[AT_BASE]);
    ASSERT_TRUE(interp);
    EXPECT_EQ(interp->name, "/lib64/ld-linux-x86-64.so.2");
    EXPECT_TRUE(VmaNamed("[stack]"));
}

}  // namespace
}  // namespace moat::loader
