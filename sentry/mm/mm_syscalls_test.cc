// MemoryManager's syscall-shaped methods against a fake platform: semantics and errnos.

#include "sentry/mm/memory_manager.h"
#include "sentry/mm/mm_test_util.h"

#include <gtest/gtest.h>

namespace moat::mm {
namespace {

using testing::Anon;
using testing::FakeMappable;
using testing::FileMap;
using testing::MakeTestMm;

constexpr uint64_t P = kPageSize;
constexpr int RW = PROT_READ | PROT_WRITE;
constexpr int kW = platform::kAccessWrite;
constexpr int kR = platform::kAccessRead;

TEST(MmMmap, Errnos) {
    auto t = MakeTestMm();
    auto& mm = *t.mm;
    EXPECT_ERRNO(mm.Mmap(Anon(0)), EINVAL);
    EXPECT_ERRNO(mm.Mmap(Anon(P, RW, MAP_ANONYMOUS)), EINVAL);  // neither shared nor private
    EXPECT_ERRNO(mm.Mmap(Anon(P, RW, MAP_SHARED_VALIDATE | MAP_ANONYMOUS)), EINVAL);
    EXPECT_ERRNO(mm.Mmap(Anon(P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0x100001)), EINVAL);
    EXPECT_ERRNO(mm.Mmap(Anon(P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0)), EPERM);
    EXPECT_ERRNO(mm.Mmap(Anon(2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, (1ull << 32) - P)), ENOMEM);
    EXPECT_ERRNO(mm.Mmap(Anon(UINT64_MAX - 100)), ENOMEM);
    EXPECT_ERRNO(mm.Mmap(Anon(1ull << 40)), ENOMEM);
    EXPECT_ERRNO(mm.Mmap(Anon(P, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN)), EINVAL);
    ASSERT_TRUE(mm.Mmap(Anon(P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, 0x100000)).ok());
    EXPECT_ERRNO(mm.Mmap(Anon(P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, 0x100000)), EEXIST);
    EXPECT_ERRNO(mm.Mmap(Anon(2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, 0x100000 - P)), EEXIST);
    EXPECT_ERRNO(mm.Mmap(Anon(P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, 0x100010)), EINVAL);

    auto file = std::make_shared<FakeMappable>(*t.mf, std::string(3 * P, 'x'));
    EXPECT_ERRNO(mm.Mmap(FileMap(file, P, RW, MAP_SHARED_VALIDATE | 0x800000)), EOPNOTSUPP);
    EXPECT_ERRNO(mm.Mmap(FileMap(file, P, RW, MAP_SHARED_VALIDATE | MAP_FIXED_NOREPLACE, 0, 0x200000)), EOPNOTSUPP);
    EXPECT_TRUE(mm.Mmap(FileMap(file, P, RW, MAP_SHARED | 0x800000)).ok());  // legacy MAP_SHARED ignores them
    EXPECT_ERRNO(mm.Mmap(FileMap(file, P, RW, 0)), EINVAL);
    EXPECT_ERRNO(mm.Mmap(FileMap(file, P, PROT_READ, MAP_PRIVATE | MAP_GROWSDOWN)), EINVAL);
    EXPECT_ERRNO(mm.Mmap(FileMap(file, 2 * P, PROT_READ, MAP_PRIVATE, UINT64_MAX & kPageMask)), EOVERFLOW);
    auto ro = FileMap(file, P, RW, MAP_SHARED);
    ro.max_prot = PROT_READ | PROT_EXEC;  // opened O_RDONLY
    EXPECT_ERRNO(mm.Mmap(ro), EACCES);
    ro.prot = PROT_READ;
    EXPECT_TRUE(mm.Mmap(ro).ok());
    ro.flags = MAP_PRIVATE;
    ro.prot = RW;
    EXPECT_TRUE(mm.Mmap(ro).ok());  // private: writes are the mapping's own
    auto wo = FileMap(file, P, PROT_READ, MAP_PRIVATE);
    wo.max_prot = PROT_WRITE | PROT_EXEC;  // opened O_WRONLY
    EXPECT_ERRNO(mm.Mmap(wo), EACCES);
}

TEST(MmMmap, PlacementTopDownHintAnd32Bit) {
    auto t = MakeTestMm();
    auto& mm = *t.mm;
    uint64_t a = mm.Mmap(Anon(10 * P)).value();
    uint64_t b = mm.Mmap(Anon(10 * P)).value();
    EXPECT_EQ(a + 10 * P, mm.mmap_base());
    EXPECT_EQ(b + 10 * P, a);  // top-down, packed
    // A free hint is honoured (rounded down); a taken one is not.
    EXPECT_EQ(mm.Mmap(Anon(P, RW, MAP_PRIVATE | MAP_ANONYMOUS, 0x300000 + 5)).value(), 0x300000u);
    uint64_t c = mm.Mmap(Anon(P, RW, MAP_PRIVATE | MAP_ANONYMOUS, 0x300000)).value();
    EXPECT_NE(c, 0x300000u);
    // A hint below the minimum is raised to it.
    EXPECT_EQ(mm.Mmap(Anon(P, RW, MAP_PRIVATE | MAP_ANONYMOUS, 0x1000)).value(), mm.min_address());
    uint64_t low = mm.Mmap(Anon(P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT)).value();
    EXPECT_LT(low, 0x80000000u);
    EXPECT_GE(low, 0x40000000u);
}

TEST(MmMmap, FixedReplacesAndFreesFrames) {
    auto t = MakeTestMm();
    auto& mm = *t.mm;
    uint64_t a = mm.Mmap(Anon(4 * P)).value();
    ASSERT_EQ(mm.HandleFault(a, kW), FaultResult::Handled);
    EXPECT_EQ(t.mf->frames_in_use(), 4u);
    uint64_t unmaps = t.as->count('U');
    EXPECT_EQ(mm.Mmap(Anon(4 * P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, a)).value(), a);
    EXPECT_EQ(t.as->count('U'), unmaps + 1);
    EXPECT_EQ(t.mf->frames_in_use(), 0u);
    EXPECT_TRUE(t.as->pages.empty());
    uint32_t v = 1;
    ASSERT_TRUE(mm.CopyIn(UserAddr(a), &v, sizeof v).ok());
    EXPECT_EQ(v, 0u);
}

TEST(MmMunmap, ErrnosAndSplitting) {
    auto t = MakeTestMm();
    auto& mm = *t.mm;
    EXPECT_ERRNO(mm.Munmap(0x100000, 0), EINVAL);
    EXPECT_ERRNO(mm.Munmap(0x100001, P), EINVAL);
    EXPECT_ERRNO(mm.Munmap(0x100000, UINT64_MAX - P), EINVAL);
    EXPECT_ERRNO(mm.Munmap(1ull << 40, P), EINVAL);
    EXPECT_TRUE(mm.Munmap(0x100000, P).ok());  // nothing there: fine
    EXPECT_EQ(t.as->count('U'), 0u);           // and no platform call for nothing

    uint64_t a = mm.Mmap(Anon(3 * P)).value();
    ASSERT_TRUE(mm.Munmap(a + P, 1).ok());  // length rounds up
    auto vmas = mm.Vmas();
    ASSERT_EQ(vmas.size(), 2u);
    EXPECT_EQ(vmas[0].end, a + P);
    EXPECT_EQ(vmas[1].start, a + 2 * P);
    EXPECT_EQ(mm.HandleFault(a + P, kR), FaultResult::SegvMapErr);
    EXPECT_EQ(mm.virtual_size(), 2 * P);
}

TEST(MmMprotect, SemanticsAndErrnos) {
    auto t = MakeTestMm();
    auto& mm = *t.mm;
    uint64_t a = mm.Mmap(Anon(3 * P)).value();
    EXPECT_ERRNO(mm.Mprotect(a + 1, P, PROT_READ), EINVAL);
    EXPECT_ERRNO(mm.Mprotect(a, P, 0x10), EINVAL);
    EXPECT_ERRNO(mm.Mprotect(a, P, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP), EINVAL);
    EXPECT_ERRNO(mm.Mprotect(a, P, PROT_READ | PROT_GROWSDOWN), EINVAL);
    EXPECT_ERRNO(mm.Mprotect(a, P, PROT_READ | PROT_GROWSUP), EINVAL);
    EXPECT_ERRNO(mm.Mprotect(a, UINT64_MAX - P, PROT_READ), ENOMEM);
    EXPECT_TRUE(mm.Mprotect(0x200000, 0, PROT_READ).ok());
    EXPECT_ERRNO(mm.Mprotect(0x200000, P, PROT_READ), ENOMEM);
    EXPECT_TRUE(mm.Mprotect(a, P, PROT_READ | 0x8 /* PROT_SEM */).ok());

    // Mapped pages are re-protected on the platform before Mprotect returns.
    ASSERT_EQ(mm.HandleFault(a + P, kW), FaultResult::Handled);
    ASSERT_TRUE(mm.Mprotect(a, 3 * P, PROT_READ).ok());
    EXPECT_EQ(t.as->page(a + P)->prot, PROT_READ);
    EXPECT_EQ(mm.HandleFault(a + P, kW), FaultResult::SegvAccErr);
    EXPECT_EQ(mm.Vmas().size(), 1u);  // all read-only: merged again
    ASSERT_TRUE(mm.Mprotect(a + P, P, RW).ok());
    EXPECT_EQ(mm.Vmas().size(), 3u);
    ASSERT_TRUE(mm.Mprotect(a, 3 * P, RW).ok());
    EXPECT_EQ(mm.Vmas().size(), 1u);

    // A hole: areas before it change, then ENOMEM (like Linux).
    ASSERT_TRUE(mm.Munmap(a + P, P).ok());
    EXPECT_ERRNO(mm.Mprotect(a, 3 * P, PROT_READ), ENOMEM);
    auto vmas = mm.Vmas();
    ASSERT_EQ(vmas.size(), 2u);
    EXPECT_EQ(vmas[0].prot, PROT_READ);
    EXPECT_EQ(vmas[1].prot, RW);

    // Beyond max_prot: a shared mapping of a file opened read-only.
    auto file = std::make_shared<FakeMappable>(*t.mf, std::string(P, 'x'));
    auto req = FileMap(file, P, PROT_READ, MAP_SHARED);
    req.max_prot = PROT_READ | PROT_EXEC;
    uint64_t f = mm.Mmap(req).value();
    EXPECT_ERRNO(mm.Mprotect(f, P, RW), EACCES);
    EXPECT_TRUE(mm.Mprotect(f, P, PROT_READ | PROT_EXEC).ok());
}

TEST(MmMremap, ShrinkGrowMove) {
    auto t = MakeTestMm();
    auto& mm = *t.mm;
    EXPECT_ERRNO(mm.Mremap(0x100000, P, P, 0, 0), EFAULT);
    EXPECT_ERRNO(mm.Mremap(0x100000, 2 * P, P, 0, 0), EFAULT);
    uint64_t a = mm.Mmap(Anon(4 * P)).value();
    EXPECT_ERRNO(mm.Mremap(a, P, P, 8, 0), EINVAL);
    EXPECT_ERRNO(mm.Mremap(a, P, P, MREMAP_FIXED, a + 100 * P), EINVAL);
    EXPECT_ERRNO(mm.Mremap(a, P, 2 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0), EINVAL);
    EXPECT_ERRNO(mm.Mremap(a + 1, P, P, 0, 0), EINVAL);
    EXPECT_ERRNO(mm.Mremap(a, P, 0, 0, 0), EINVAL);
    EXPECT_ERRNO(mm.Mremap(a, 0, P, MREMAP_MAYMOVE, 0), EINVAL);  // duplicating a private mapping
    EXPECT_ERRNO(mm.Mremap(a, P, P, MREMAP_FIXED | MREMAP_MAYMOVE, a), EINVAL);  // overlap
    EXPECT_ERRNO(mm.Mremap(a, 5 * P, 6 * P, MREMAP_MAYMOVE, 0), EFAULT);  // beyond the area

    uint64_t magic = 0x1122334455667788;
    ASSERT_TRUE(mm.CopyOut(UserAddr(a), &magic, sizeof magic).ok());
    // Shrink in place.
    EXPECT_EQ(mm.Mremap(a, 4 * P, 2 * P, 0, 0).value(), a);
    EXPECT_EQ(mm.virtual_size(), 2 * P);
    // Grow in place (free above).
    EXPECT_EQ(mm.Mremap(a, 2 * P, 3 * P, 0, 0).value(), a);
    EXPECT_EQ(mm.Vmas().size(), 1u);
    // Blocked above: ENOMEM without MAYMOVE, a move with it; data follows.
    ASSERT_TRUE(mm.Mmap(Anon(P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, a + 3 * P)).ok());
    EXPECT_ERRNO(mm.Mremap(a, 3 * P, 8 * P, 0, 0), ENOMEM);
    ASSERT_EQ(mm.HandleFault(a, kR), FaultResult::Handled);
    uint64_t unmaps = t.as->count('U');
    uint64_t b = mm.Mremap(a, 3 * P, 8 * P, MREMAP_MAYMOVE, 0).value();
    EXPECT_NE(b, a);
    EXPECT_EQ(t.as->count('U'), unmaps + 1);  // the old range left the platform
    EXPECT_EQ(t.as->page(a), nullptr);
    uint64_t got = 0;
    ASSERT_TRUE(mm.CopyIn(UserAddr(b), &got, sizeof got).ok());
    EXPECT_EQ(got, magic);
    EXPECT_EQ(mm.HandleFault(a, kR), FaultResult::SegvMapErr);
    EXPECT_EQ(mm.HandleFault(b + 7 * P, kW), FaultResult::Handled);

    // MREMAP_FIXED replaces what is at the target.
    uint64_t target = mm.Mmap(Anon(2 * P)).value();
    EXPECT_EQ(mm.Mremap(b, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, target).value(), target);
    ASSERT_TRUE(mm.CopyIn(UserAddr(target), &got, sizeof got).ok());
    EXPECT_EQ(got, magic);
    EXPECT_EQ(mm.HandleFault(b, kR), FaultResult::SegvMapErr);

    // MREMAP_DONTUNMAP: the old range stays mapped, empty.
    uint64_t c = mm.Mremap(target, P, P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0).value();
    ASSERT_TRUE(mm.CopyIn(UserAddr(c), &got, sizeof got).ok());
    EXPECT_EQ(got, magic);
    ASSERT_TRUE(mm.CopyIn(UserAddr(target), &got, sizeof got).ok());
    EXPECT_EQ(got, 0u);
}

TEST(MmMremap, SharedAnonymousDuplicateSharesPages) {
    auto t = MakeTestMm();
    auto& mm = *t.mm;
    uint64_t a = mm.Mmap(Anon(P, RW, MAP_SHARED | MAP_ANONYMOUS)).value();
    uint64_t b = mm.Mremap(a, 0, P, MREMAP_MAYMOVE, 0).value();
    ASSERT_NE(a, b);
    uint32_t v = 42, got = 0;
    ASSERT_TRUE(mm.CopyOut(UserAddr(a), &v, sizeof v).ok());
    ASSERT_TRUE(mm.CopyIn(UserAddr(b), &got, sizeof got).ok());
    EXPECT_EQ(got, 42u);
    EXPECT_ERRNO(mm.Mremap(a, P, P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0), EINVAL);
    EXPECT_EQ(mm.Vmas()[0].name, "/dev/zero (deleted)");
}

TEST(MmBrk, GrowShrinkAndLimits) {
    auto t = MakeTestMm();
    auto& mm = *t.mm;
    mm.SetBrkStart(0x500123);
    const uint64_t start = 0x501000;
    EXPECT_EQ(mm.Brk(0).value(), start);
    EXPECT_EQ(mm.Brk(start - 1).value(), start);
    EXPECT_EQ(mm.Brk(start + 10).value(), start + 10);
    EXPECT_EQ(mm.Brk(start + 3 * P).value(), start + 3 * P);
    auto vmas = mm.Vmas();
    ASSERT_EQ(vmas.size(), 1u);
    EXPECT_EQ(vmas[0].name, "[heap]");
    EXPECT_EQ(vmas[0].start, start);
    EXPECT_EQ(vmas[0].end, start + 3 * P);
    EXPECT_EQ(mm.HandleFault(start + 2 * P, kW), FaultResult::Handled);
    EXPECT_GT(t.mf->frames_in_use(), 0u);
    // Shrinking unmaps (and frees) the pages above the new break.
    EXPECT_EQ(mm.Brk(start).value(), start);
    EXPECT_EQ(mm.Vmas().size(), 0u);
    EXPECT_EQ(t.mf->frames_in_use(), 0u);
    EXPECT_EQ(mm.HandleFault(start + 2 * P, kW), FaultResult::SegvMapErr);
    // A mapping in the way: the break does not move (no error).
    ASSERT_TRUE(mm.Mmap(Anon(P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, start + 4 * P)).ok());
    EXPECT_EQ(mm.Brk(start + 4 * P).value(), start);
    EXPECT_EQ(mm.Brk(start + 3 * P).value(), start + 3 * P);
    EXPECT_EQ(mm.Brk(1ull << 40).value(), start + 3 * P);
}

TEST(MmMadvise, DontneedZeroesAndErrnos) {
    auto t = MakeTestMm();
    auto& mm = *t.mm;
    EXPECT_ERRNO(mm.Madvise(0x100000, P, 77), EINVAL);
    EXPECT_ERRNO(mm.Madvise(0x100001, P, MADV_DONTNEED), EINVAL);
    EXPECT_ERRNO(mm.Madvise(0x100000, P, MADV_DONTNEED), ENOMEM);
    EXPECT_TRUE(mm.Madvise(0x100000, 0, MADV_DONTNEED).ok());
    EXPECT_ERRNO(mm.Madvise(0x100000, UINT64_MAX, MADV_NORMAL), EINVAL);
    EXPECT_ERRNO(mm.Madvise(0x100000, UINT64_MAX - P, MADV_NORMAL), EINVAL);
    uint64_t a = mm.Mmap(Anon(3 * P)).value();
    uint32_t v = 7;
    ASSERT_TRUE(mm.CopyOut(UserAddr(a + P), &v, sizeof v).ok());
    ASSERT_EQ(mm.HandleFault(a + P, kR), FaultResult::Handled);
    ASSERT_TRUE(mm.Madvise(a, 3 * P, MADV_DONTNEED).ok());
    EXPECT_EQ(t.as->page(a + P), nullptr);
    EXPECT_EQ(mm.resident_pages(), 0u);
    ASSERT_TRUE(mm.CopyIn(UserAddr(a + P), &v, sizeof v).ok());
    EXPECT_EQ(v, 0u);
    EXPECT_ERRNO(mm.Madvise(a, P, MADV_REMOVE), EINVAL);  // private
    ASSERT_TRUE(mm.Munmap(a + P, P).ok());
    EXPECT_ERRNO(mm.Madvise(a, 3 * P, MADV_WILLNEED), ENOMEM);
    auto file = std::make_shared<FakeMappable>(*t.mf, std::string(P, 'x'));
    uint64_t f = mm.Mmap(FileMap(file, P, PROT_READ, MAP_PRIVATE)).value();
    EXPECT_ERRNO(mm.Madvise(f, P, MADV_FREE), EINVAL);
}

TEST(MmMsync, Errnos) {
    auto t = MakeTestMm();
    auto& mm = *t.mm;
    uint64_t a = mm.Mmap(Anon(3 * P)).value();
    EXPECT_ERRNO(mm.Msync(a, P, 8), EINVAL);
    EXPECT_ERRNO(mm.Msync(a, P, MS_SYNC | MS_ASYNC), EINVAL);
    EXPECT_ERRNO(mm.Msync(a + 1, P, MS_SYNC), EINVAL);
    EXPECT_TRUE(mm.Msync(a, 3 * P, MS_SYNC).ok());
    EXPECT_TRUE(mm.Msync(a, 0, 0).ok());
    EXPECT_ERRNO(mm.Msync(0x100000, P, MS_SYNC), ENOMEM);
    ASSERT_TRUE(mm.Munmap(a + P, P).ok());
    EXPECT_ERRNO(mm.Msync(a, 3 * P, MS_ASYNC), ENOMEM);
}

TEST(MmMincore, ResidencyAndErrnos) {
    auto t = MakeTestMm();
    auto& mm = *t.mm;
    uint64_t vec = mm.Mmap(Anon(P)).value();
    uint64_t a = mm.Mmap(Anon(200 * P)).value();
    EXPECT_ERRNO(mm.Mincore(a + 1, P, UserAddr(vec)), EINVAL);
    EXPECT_ERRNO(mm.Mincore(0x100000, P, UserAddr(vec)), ENOMEM);
    EXPECT_ERRNO(mm.Mincore(a, 1ull << 50, UserAddr(vec)), ENOMEM);
    EXPECT_ERRNO(mm.Mincore(a, P, UserAddr(8)), EFAULT);
    EXPECT_ERRNO(mm.Mincore(a, P, UserAddr(0xffff800000000000)), EFAULT);
    EXPECT_TRUE(mm.Mincore(0x100000, 0, UserAddr(vec)).ok());
    ASSERT_EQ(mm.HandleFault(a + 150 * P, kW), FaultResult::Handled);  // a 64-page window
    ASSERT_TRUE(mm.Mincore(a, 200 * P - 5, UserAddr(vec)).ok());
    uint8_t out[200];
    ASSERT_TRUE(mm.CopyIn(UserAddr(vec), out, sizeof out).ok());
    // The fault window is the 64-page-aligned block around the fault.
    uint64_t first = ((a + 150 * P) & ~(64 * P - 1)) - a;
    first /= P;
    EXPECT_EQ(out[150], 1);
    EXPECT_EQ(out[first], 1);
    EXPECT_EQ(out[first - 1], 0);
    EXPECT_EQ(out[0], first == 0 ? 1 : 0);
}

TEST(MmFrames, NoLeakAfterUnmap) {
    auto t = MakeTestMm();
    auto& mm = *t.mm;
    auto file = std::make_shared<FakeMappable>(*t.mf, std::string(8 * P, 'f'));
    uint64_t anon = mm.Mmap(Anon(100 * P)).value();
    uint64_t priv = mm.Mmap(FileMap(file, 8 * P, RW, MAP_PRIVATE)).value();
    uint64_t shared = mm.Mmap(FileMap(file, 8 * P, RW, MAP_SHARED)).value();
    uint64_t shm = mm.Mmap(Anon(8 * P, RW, MAP_SHARED | MAP_ANONYMOUS)).value();
    for (uint64_t off = 0; off < 8 * P; off += P) {
        ASSERT_EQ(mm.HandleFault(anon + off * 3, kW), FaultResult::Handled);
        ASSERT_EQ(mm.HandleFault(priv + off, off % (2 * P) ? kW : kR), FaultResult::Handled);
        ASSERT_EQ(mm.HandleFault(shared + off, kW), FaultResult::Handled);
        ASSERT_EQ(mm.HandleFault(shm + off, kW), FaultResult::Handled);
    }
    EXPECT_GT(t.mf->frames_in_use(), 8u);
    // Page 0: the page cache, the private mapping (read, so not copied) and the shared one.
    EXPECT_EQ(t.mf->RefCount(t.as->page(shared)->offset), 3u);
    EXPECT_EQ(t.as->page(shared)->offset, t.as->page(priv)->offset);
    EXPECT_NE(t.as->page(shared + P)->offset, t.as->page(priv + P)->offset);  // written: copied
    ASSERT_TRUE(mm.Munmap(anon, 100 * P).ok());
    ASSERT_TRUE(mm.Munmap(priv, 8 * P).ok());
    ASSERT_TRUE(mm.Munmap(shared, 8 * P).ok());
    ASSERT_TRUE(mm.Munmap(shm, 8 * P).ok());
    EXPECT_EQ(mm.resident_pages(), 0u);
    EXPECT_EQ(t.mf->frames_in_use(), 8u);  // just the file's page cache
    file.reset();
    EXPECT_EQ(t.mf->frames_in_use(), 0u);
}

TEST(MmFrames, MemoryFileReusesPunchedFramesAsZeros) {
    auto mf = MemoryFile::Create(1ull << 24).release_value();
    uint64_t a = mf->Allocate(4).value();
    std::memset(mf->Ptr(a), 0xab, 4 * P);
    mf->IncRef(a + P);
    mf->DecRef(a, 4);
    EXPECT_EQ(mf->frames_in_use(), 1u);
    EXPECT_EQ(mf->RefCount(a + P), 1u);
    uint64_t b = mf->Allocate(1).value();
    EXPECT_EQ(b, a);  // first fit
    EXPECT_EQ(mf->Ptr(b)[100], 0);
    EXPECT_EQ(mf->Ptr(a + P)[100], 0xab);  // still referenced: untouched
    EXPECT_ERRNO(mf->Allocate((1ull << 24) / P), ENOMEM);
    mf->DecRef(a + P);
    mf->DecRef(b);
    EXPECT_EQ(mf->frames_in_use(), 0u);
    EXPECT_EQ(mf->Allocate((1ull << 24) / P).value(), 0u);  // everything coalesced again
}

}  // namespace
}  // namespace moat::mm
