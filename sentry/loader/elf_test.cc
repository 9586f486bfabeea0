// ELF header and program header validation with hostile inputs.

#include "sentry/loader/elf.h"

#include "sentry/loader/loader_test_util.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <random>

namespace moat::loader {
namespace {

using namespace testing;

Result<ElfImage> Parse(const Bytes& bytes) {
    BytesExecFile file("/test", bytes, nullptr);
    return ReadElf(file);
}

int ParseErrno(const Bytes& bytes) {
    auto r = Parse(bytes);
    return r.ok() ? 0 : r.error();
}

TEST(LoaderElf, ParsesStaticExecutable) {
    auto r = Parse(BuildElf(StaticSpec()));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->type, ET_EXEC);
    EXPECT_EQ(r->entry, 0x400100u);
    EXPECT_EQ(r->phnum, 3);
    ASSERT_EQ(r->loads.size(), 2u);
    EXPECT_EQ(r->loads[0].prot, PROT_READ | PROT_EXEC);
    EXPECT_EQ(r->loads[1].prot, PROT_READ | PROT_WRITE);
    EXPECT_FALSE(r->has_interp);
    EXPECT_FALSE(r->exec_stack);
    // No PT_PHDR: found through the PT_LOAD that holds e_phoff.
    EXPECT_TRUE(r->has_phdr_vaddr);
    EXPECT_EQ(r->phdr_vaddr, 0x400040u);
    EXPECT_EQ(r->span_start(), 0x400000u);
    EXPECT_EQ(r->span_end(), 0x405000u);
}

TEST(LoaderElf, RejectsTruncatedFiles) {
    Bytes elf = BuildElf(StaticSpec());
    EXPECT_EQ(ParseErrno(Bytes(elf.begin(), elf.begin() + 10)), ENOEXEC);
    EXPECT_EQ(ParseErrno(Bytes(elf.begin(), elf.begin() + 63)), ENOEXEC);
    // Header complete, program header table cut off.
    EXPECT_EQ(ParseErrno(Bytes(elf.begin(), elf.begin() + 64 + 56 + 10)), ENOEXEC);
    // Segments reach past the end of the file.
    EXPECT_EQ(ParseErrno(Bytes(elf.begin(), elf.begin() + 0x2400)), ENOEXEC);
    EXPECT_EQ(ParseErrno(Bytes()), ENOEXEC);
}

TEST(LoaderElf, RejectsBadIdentAndHeaderFields) {
    Bytes good = BuildElf(StaticSpec());
    auto with = [&](size_t off, uint8_t v) {
        Bytes b = good;
        b[off] = v;
        return b;
    };
    EXPECT_EQ(ParseErrno(with(0, 0x7e)), ENOEXEC);                  // magic
    EXPECT_EQ(ParseErrno(with(3, 'G')), ENOEXEC);                   // magic
    EXPECT_EQ(ParseErrno(with(EI_CLASS, ELFCLASS32)), ENOEXEC);     // class
    EXPECT_EQ(ParseErrno(with(EI_DATA, ELFDATA2MSB)), ENOEXEC);     // big endian
    EXPECT_EQ(ParseErrno(with(EI_VERSION, 0)), ENOEXEC);

    ElfSpec spec = StaticSpec();
    spec.machine = EM_386;
    EXPECT_EQ(ParseErrno(BuildElf(spec)), ENOEXEC);
    spec = StaticSpec();
    spec.machine = EM_AARCH64;
    EXPECT_EQ(ParseErrno(BuildElf(spec)), ENOEXEC);
    spec = StaticSpec();
    spec.type = ET_REL;
    EXPECT_EQ(ParseErrno(BuildElf(spec)), ENOEXEC);
    spec.type = ET_CORE;
    EXPECT_EQ(ParseErrno(BuildElf(spec)), ENOEXEC);

    Bytes b = good;
    Poke<uint16_t>(b, offsetof(Elf64_Ehdr, e_phentsize), 32);
    EXPECT_EQ(ParseErrno(b), ENOEXEC);
    b = good;
    Poke<uint16_t>(b, offsetof(Elf64_Ehdr, e_phentsize), 0);
    EXPECT_EQ(ParseErrno(b), ENOEXEC);
}

TEST(LoaderElf, RejectsBadPhnumAndPhoff) {
    Bytes good = BuildElf(StaticSpec());
    Bytes b = good;
    Poke<uint16_t>(b, offsetof(Elf64_Ehdr, e_phnum), 0);
    EXPECT_EQ(ParseErrno(b), ENOEXEC);
    // 0xffff * 56 bytes is more than Linux's 64 KiB bound, even if the file were that big.
    b = good;
    b.resize(0x400000);
    Poke<uint16_t>(b, offsetof(Elf64_Ehdr, e_phnum), 0xffff);
    EXPECT_EQ(ParseErrno(b), ENOEXEC);
    b = good;
    Poke<uint16_t>(b, offsetof(Elf64_Ehdr, e_phnum), PN_XNUM);
    EXPECT_EQ(ParseErrno(b), ENOEXEC);
    // e_phoff + table size overflows.
    b = good;
    Poke<uint64_t>(b, offsetof(Elf64_Ehdr, e_phoff), UINT64_MAX - 8);
    EXPECT_EQ(ParseErrno(b), ENOEXEC);
    b = good;
    Poke<uint64_t>(b, offsetof(Elf64_Ehdr, e_phoff), good.size());
    EXPECT_EQ(ParseErrno(b), ENOEXEC);
}

TEST(LoaderElf, RejectsBadSegments) {
    auto with_load = [](size_t index, const Elf64_Phdr& p) {
        Bytes b = BuildElf(StaticSpec());
        SetPhdr(b, index, p);
        return b;
    };
    // p_filesz > p_memsz.
    EXPECT_EQ(ParseErrno(with_load(1, Phdr(PT_LOAD, PF_R, 0x2000, 0x402000, 0x800, 0x400))), ENOEXEC);
    // Offset and vaddr disagree modulo the page size.
    EXPECT_EQ(ParseErrno(with_load(1, Phdr(PT_LOAD, PF_R, 0x2010, 0x402000, 0x800, 0x800))), ENOEXEC);
    // Overlapping the previous segment.
    EXPECT_EQ(ParseErrno(with_load(1, Phdr(PT_LOAD, PF_R, 0x1000, 0x401000, 0x800, 0x800))), ENOEXEC);
    // Below the previous segment (unsorted).
    EXPECT_EQ(ParseErrno(with_load(1, Phdr(PT_LOAD, PF_R, 0x2000, 0x200000, 0x800, 0x800))), ENOEXEC);
    // vaddr + memsz overflows, or its page-up does.
    EXPECT_EQ(ParseErrno(with_load(1, Phdr(PT_LOAD, PF_R, 0x2000, 0xfffffffffffff000, 0x800, 0x2000))), ENOEXEC);
    EXPECT_EQ(ParseErrno(with_load(1, Phdr(PT_LOAD, PF_R, 0x2000, 0xffffffffffffe000, 0x800, 0x1001))), ENOEXEC);
    // offset + filesz overflows or passes the end of the file.
    EXPECT_EQ(ParseErrno(with_load(1, Phdr(PT_LOAD, PF_R, 0xfffffffffffff000, 0x402000, 0x2000, 0x2000))), ENOEXEC);
    EXPECT_EQ(ParseErrno(with_load(1, Phdr(PT_LOAD, PF_R, 0x2000, 0x402000, 0x100000, 0x100000))), ENOEXEC);
    // Huge memsz alone is fine for parsing (the mapping fails later), filesz is bounded.
    EXPECT_EQ(ParseErrno(with_load(1, Phdr(PT_LOAD, PF_R, 0x2000, 0x402000, 0x800, 1ull << 40))), 0);
    // No PT_LOAD at all.
    ElfSpec spec;
    spec.phdrs = {Phdr(PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0)};
    EXPECT_EQ(ParseErrno(BuildElf(spec)), ENOEXEC);
}

TEST(LoaderElf, SegmentsMaySharePages) {
    // Text ends at 0x400900, data starts at 0x400a00 in the same page: legal (the linker's
    // -N / noseparate-code layouts); the later mapping wins that page.
    ElfSpec spec;
    spec.phdrs = {
        Phdr(PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x900, 0x900),
        Phdr(PT_LOAD, PF_R | PF_W, 0xa00, 0x400a00, 0x100, 0x200),
    };
    spec.entry = 0x400100;
    EXPECT_EQ(ParseErrno(BuildElf(spec)), 0);
}

TEST(LoaderElf, ReadsInterpreterAndStackFlags) {
    ElfSpec spec = StaticSpec();
    spec.type = ET_DYN;
    spec.phdrs.push_back(Phdr(PT_INTERP, PF_R, 0x1000, 0x401000, 11, 11, 1));
    spec.phdrs.push_back(Phdr(PT_GNU_STACK, PF_R | PF_W | PF_X, 0, 0, 0, 0, 16));
    Bytes b = BuildElf(spec);
    memcpy(b.data() + 0x1000, "/lib/ld.so", 11);
    auto r = Parse(b);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_TRUE(r->has_interp);
    EXPECT_EQ(r->interp, "/lib/ld.so");
    EXPECT_TRUE(r->exec_stack);  // the last PT_GNU_STACK wins

    // Not NUL-terminated.
    Bytes bad = b;
    bad[0x1000 + 10] = 'x';
    EXPECT_EQ(ParseErrno(bad), ENOEXEC);
    // An inner NUL.
    bad = b;
    bad[0x1000 + 4] = 0;
    EXPECT_EQ(ParseErrno(bad), ENOEXEC);
    // Longer than PATH_MAX, too short, beyond the file.
    bad = b;
    bad.resize(0x3000);
    SetPhdr(bad, 3, Phdr(PT_INTERP, PF_R, 0x1000, 0x401000, 4097, 4097, 1));
    EXPECT_EQ(ParseErrno(bad), ENOEXEC);
    SetPhdr(bad, 3, Phdr(PT_INTERP, PF_R, 0x1000, 0x401000, 1, 1, 1));
    EXPECT_EQ(ParseErrno(bad), ENOEXEC);
    SetPhdr(bad, 3, Phdr(PT_INTERP, PF_R, 0x2ff0, 0x401000, 0x100, 0x100, 1));
    EXPECT_EQ(ParseErrno(bad), ENOEXEC);
}

TEST(LoaderElf, PrefersPtPhdr) {
    ElfSpec spec = StaticSpec();
    spec.phdrs.insert(spec.phdrs.begin(), Phdr(PT_PHDR, PF_R, 64, 0x400040, 4 * 56, 4 * 56, 8));
    auto r = Parse(BuildElf(spec));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->phdr_vaddr, 0x400040u);
    // A PT_PHDR pointing outside every segment is ignored.
    spec.phdrs[0].p_vaddr = 0x900000;
    r = Parse(BuildElf(spec));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->phdr_vaddr, 0x400040u);
}

TEST(LoaderElf, ParsesHostBinaries) {
    Bytes b;
    if (!ReadHostFile("/bin/true", &b))
        GTEST_SKIP() << "no /bin/true";
    auto r = Parse(b);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->type, ET_DYN);
    EXPECT_TRUE(r->has_interp);
    EXPECT_EQ(r->interp, "/lib64/ld-linux-x86-64.so.2");
    if (ReadHostFile("/bin/busybox", &b)) {
        r = Parse(b);
        ASSERT_TRUE(r.ok()) << r.error();
        EXPECT_FALSE(r->has_interp);
    }
}

// Random corruption of a real header never crashes the parser and yields either a valid
// image or ENOEXEC.
TEST(LoaderElf, SurvivesRandomCorruption) {
    Bytes base;
    if (!ReadHostFile("/bin/true", &base))
        base = BuildElf(StaticSpec());
    Elf64_Ehdr eh;
    memcpy(&eh, base.data(), sizeof(eh));
    size_t header_bytes = eh.e_phoff + size_t(eh.e_phnum) * sizeof(Elf64_Phdr);
    std::mt19937_64 rng(1234);
    for (int iter = 0; iter < 3000; ++iter) {
        Bytes b = base;
        int flips = 1 + int(rng() % 8);
        for (int i = 0; i < flips; ++i) {
            size_t off = rng() % header_bytes;
            b[off] = (rng() % 4 == 0) ? 0xff : uint8_t(rng());
        }
        auto r = Parse(b);
        if (!r.ok()) {
            ASSERT_EQ(r.error(), ENOEXEC) << "iteration " << iter;
            continue;
        }
        for (size_t i = 1; i < r->loads.size(); ++i)
            ASSERT_GE(r->loads[i].vaddr, r->loads[i - 1].vaddr + r->loads[i - 1].memsz);
        for (const auto& s : r->loads) {
            ASSERT_LE(s.filesz, s.memsz);
            ASSERT_LE(s.offset + s.filesz, b.size());
        }
    }
}

}  // namespace
}  // namespace moat::loader
