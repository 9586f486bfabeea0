// Vdso::MapInto on a real MemoryManager over the fake platform, whose mirror shows this
// process the app's memory: the mapped [vvar][vdso] is then called exactly where it lies.

#include "sentry/kernel/timekeeper.h"
#include "sentry/loader/vdso.h"
#include "sentry/loader/vdso/vdso_image.h"
#include "sentry/loader/vdso/vvar.h"
#include "sentry/mm/mm_test_util.h"

#include <elf.h>

#include <gtest/gtest.h>

#include <cstring>

namespace moat::loader {
namespace {

int64_t Ns(const timespec& ts) { return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec; }

struct VdsoMapFixture : ::testing::Test {
    void SetUp() override {
        t = mm::testing::MakeTestMm(/*mirror=*/true);
        tk = kernel::Timekeeper::Create(*t.mf).release_value();
        vdso = Vdso::Create(*t.mf, *tk).release_value();
    }
    void TearDown() override {
        t.mm.reset();
        vdso.reset();
        tk.reset();
    }
    // Declared first, destroyed last.
    mm::testing::TestMm t;
    std::unique_ptr<kernel::Timekeeper> tk;
    std::unique_ptr<Vdso> vdso;
};

TEST_F(VdsoMapFixture, MapsVvarThenVdso) {
    auto base = vdso->MapInto(*t.mm);
    ASSERT_TRUE(base.ok()) << base.error();
    ASSERT_TRUE(mm::IsPageAligned(*base));
    uint64_t vdso_len = mm::PageUp(moat_vdso_image_size);

    const mm::VmaInfo* vvar_vma = nullptr;
    const mm::VmaInfo* vdso_vma = nullptr;
    auto vmas = t.mm->Vmas();
    for (const auto& v : vmas) {
        if (v.name == "[vvar]")
            vvar_vma = &v;
        if (v.name == "[vdso]")
            vdso_vma = &v;
    }
    ASSERT_NE(vvar_vma, nullptr);
    ASSERT_NE(vdso_vma, nullptr);
    EXPECT_EQ(vvar_vma->start, *base - mm::kPageSize);
    EXPECT_EQ(vvar_vma->end, *base);
    EXPECT_EQ(vvar_vma->prot, PROT_READ);
    EXPECT_TRUE(vvar_vma->shared);
    EXPECT_EQ(vdso_vma->start, *base);
    EXPECT_EQ(vdso_vma->end, *base + vdso_len);
    EXPECT_EQ(vdso_vma->prot, PROT_READ | PROT_EXEC);
    EXPECT_FALSE(vdso_vma->shared);

    // The app may not make the shared vvar page writable.
    auto wr = t.mm->Mprotect(*base - mm::kPageSize, mm::kPageSize, PROT_READ | PROT_WRITE);
    ASSERT_FALSE(wr.ok());
    EXPECT_EQ(wr.error(), EACCES);

    // The image is what AT_SYSINFO_EHDR points at.
    uint8_t magic[SELFMAG];
    ASSERT_TRUE(t.mm->CopyIn(mm::UserAddr(*base), magic, sizeof(magic)).ok());
    EXPECT_EQ(std::memcmp(magic, ELFMAG, SELFMAG), 0);
}

TEST_F(VdsoMapFixture, MapsTwiceAtDistinctAddresses) {
    auto first = vdso->MapInto(*t.mm);
    ASSERT_TRUE(first.ok());
    auto second = vdso->MapInto(*t.mm);
    ASSERT_TRUE(second.ok());
    EXPECT_NE(*first, *second);
}

TEST_F(VdsoMapFixture, CallableWhereMapped) {
    auto base = vdso->MapInto(*t.mm);
    ASSERT_TRUE(base.ok());
    uint64_t vdso_len = mm::PageUp(moat_vdso_image_size);
    ASSERT_EQ(t.mm->HandleFault(*base - mm::kPageSize, platform::kAccessRead), mm::FaultResult::Handled);
    for (uint64_t off = 0; off < vdso_len; off += mm::kPageSize)
        ASSERT_EQ(t.mm->HandleFault(*base + off, platform::kAccessExec), mm::FaultResult::Handled);
    uint8_t* image = t.as->mirror(*base);
    ASSERT_NE(image, nullptr);

    // Find __vdso_clock_gettime through the mapped image's own dynamic table.
    auto* ehdr = reinterpret_cast<const Elf64_Ehdr*>(image);
    auto* phdr = reinterpret_cast<const Elf64_Phdr*>(image + ehdr->e_phoff);
    const Elf64_Dyn* dyn = nullptr;
    for (int i = 0; i < ehdr->e_phnum; ++i)
        if (phdr[i].p_type == PT_DYNAMIC)
            dyn = reinterpret_cast<const Elf64_Dyn*>(image + phdr[i].p_vaddr);
    ASSERT_NE(dyn, nullptr);
    const Elf64_Sym* symtab = nullptr;
    const char* strtab = nullptr;
    const uint32_t* hash = nullptr;
    for (; dyn->d_tag != DT_NULL; ++dyn) {
        if (dyn->d_tag == DT_SYMTAB)
            symtab = reinterpret_cast<const Elf64_Sym*>(image + dyn->d_un.d_ptr);
        if (dyn->d_tag == DT_STRTAB)
            strtab = reinterpret_cast<const char*>(image + dyn->d_un.d_ptr);
        if (dyn->d_tag == DT_HASH)
            hash = reinterpret_cast<const uint32_t*>(image + dyn->d_un.d_ptr);
    }
    ASSERT_TRUE(symtab && strtab && hash);
    using ClockGettime = int (*)(clockid_t, timespec*);
    ClockGettime fn = nullptr;
    for (uint32_t i = 1; i < hash[1]; ++i)
        if (std::strcmp(strtab + symtab[i].st_name, "__vdso_clock_gettime") == 0)
            fn = reinterpret_cast<ClockGettime>(image + symtab[i].st_value);
    ASSERT_NE(fn, nullptr);

    timespec ts{};
    ASSERT_EQ(fn(CLOCK_MONOTONIC, &ts), 0);
    int64_t ours = Ns(ts);
    int64_t sentry = Ns(*tk->Now(CLOCK_MONOTONIC));
    EXPECT_LE(ours, sentry);
    EXPECT_LT(sentry - ours, 10'000'000);
}

}  // namespace
}  // namespace moat::loader
