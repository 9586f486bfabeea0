// Fault handling: classification, fault-around, COW on private file mappings, stack growth,
// and fork's copy-on-write sharing. The fake platform mirrors mappings into this process so
// the tests see memory as the app would.

#include "sentry/mm/memory_manager.h"
#include "sentry/mm/mm_test_util.h"

#include <gtest/gtest.h>

#include <cstring>

namespace moat::mm {
namespace {

using testing::Anon;
using testing::FakeMappable;
using testing::FileMap;
using testing::MakeTestMm;

constexpr uint64_t P = kPageSize;
constexpr int RW = PROT_READ | PROT_WRITE;
constexpr int kR = platform::kAccessRead;
constexpr int kW = platform::kAccessWrite;
constexpr int kX = platform::kAccessExec;

TEST(MmFault, Classification) {
    auto t = MakeTestMm();
    auto& mm = *t.mm;
    EXPECT_EQ(mm.HandleFault(0, kR), FaultResult::SegvMapErr);
    EXPECT_EQ(mm.HandleFault(0xffffffff80000000, kR), FaultResult::SegvMapErr);
    uint64_t none = mm.Mmap(Anon(P, PROT_NONE)).value();
    uint64_t ro = mm.Mmap(Anon(P, PROT_READ)).value();
    uint64_t rw = mm.Mmap(Anon(P, RW)).value();
    EXPECT_EQ(mm.HandleFault(none, kR), FaultResult::SegvAccErr);
    EXPECT_EQ(mm.HandleFault(none, 0), FaultResult::SegvAccErr);
    EXPECT_EQ(mm.HandleFault(ro, kW), FaultResult::SegvAccErr);
    EXPECT_EQ(mm.HandleFault(ro, kX), FaultResult::SegvAccErr);
    EXPECT_EQ(mm.HandleFault(ro + 100, kR), FaultResult::Handled);
    EXPECT_EQ(t.as->page(ro)->prot, PROT_READ);
    EXPECT_EQ(mm.HandleFault(rw, kW), FaultResult::Handled);
    EXPECT_EQ(t.as->page(rw)->prot, RW);
    EXPECT_TRUE(t.as->pages.count(none) == 0);

    auto file = std::make_shared<FakeMappable>(*t.mf, std::string(P + 10, 'x'));
    uint64_t f = mm.Mmap(FileMap(file, 4 * P, PROT_READ, MAP_PRIVATE)).value();
    EXPECT_EQ(mm.HandleFault(f + P + 4000, kR), FaultResult::Handled);  // last, partial page
    EXPECT_EQ(mm.HandleFault(f + 2 * P, kR), FaultResult::BusErr);      // beyond end of file
    EXPECT_EQ(t.as->page(f + 2 * P), nullptr);
}

TEST(MmFault, AnonymousFaultMapsAWindowInOneCall) {
    auto t = MakeTestMm(/*mirror=*/true);
    auto& mm = *t.mm;
    uint64_t a = mm.Mmap(Anon(256 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0x10000000)).value();
    ASSERT_EQ(mm.HandleFault(a + 70 * P + 5, kW), FaultResult::Handled);
    ASSERT_EQ(t.as->count('M'), 1u);
    EXPECT_EQ(t.as->calls[0].addr, a + 64 * P);
    EXPECT_EQ(t.as->calls[0].len, 64 * P);
    EXPECT_EQ(mm.resident_pages(), 64u);
    // The app's write is what the sentry reads.
    std::memcpy(t.as->mirror(a + 70 * P + 5), "hello", 6);
    char buf[6];
    ASSERT_TRUE(mm.CopyIn(UserAddr(a + 70 * P + 5), buf, 6).ok());
    EXPECT_STREQ(buf, "hello");
    // A spurious second fault on a mapped page maps nothing new.
    ASSERT_EQ(mm.HandleFault(a + 70 * P, kW), FaultResult::Handled);
    EXPECT_EQ(t.as->count('M'), 1u);
}

TEST(MmFault, PrivateFileMappingCopiesOnWrite) {
    auto t = MakeTestMm(/*mirror=*/true);
    auto& mm = *t.mm;
    std::string content(3 * P, 'a');
    content[P] = 'b';
    auto file = std::make_shared<FakeMappable>(*t.mf, content);
    uint64_t f = mm.Mmap(FileMap(file, 3 * P, RW, MAP_PRIVATE)).value();
    // A read maps the page cache itself, read-only.
    ASSERT_EQ(mm.HandleFault(f + P, kR), FaultResult::Handled);
    uint64_t cache = file->PageFrame(1).value();
    EXPECT_EQ(t.as->page(f + P)->offset, cache);
    EXPECT_EQ(t.as->page(f + P)->prot, PROT_READ);
    EXPECT_EQ(*t.as->mirror(f + P), 'b');
    // A write copies into a private frame; the file is untouched.
    ASSERT_EQ(mm.HandleFault(f + P, kW), FaultResult::Handled);
    EXPECT_NE(t.as->page(f + P)->offset, cache);
    EXPECT_EQ(t.as->page(f + P)->prot, RW);
    *t.as->mirror(f + P) = 'Z';
    EXPECT_EQ(file->cached(1)[0], 'b');
    char c = 0;
    ASSERT_TRUE(mm.CopyIn(UserAddr(f + P), &c, 1).ok());
    EXPECT_EQ(c, 'Z');
    // MADV_DONTNEED drops the copy: the page reads as the file again.
    ASSERT_TRUE(mm.Madvise(f + P, P, MADV_DONTNEED).ok());
    ASSERT_TRUE(mm.CopyIn(UserAddr(f + P), &c, 1).ok());
    EXPECT_EQ(c, 'b');
}

TEST(MmFault, SharedFileMappingWritesThePageCache) {
    auto t = MakeTestMm(/*mirror=*/true);
    auto& mm = *t.mm;
    auto file = std::make_shared<FakeMappable>(*t.mf, std::string(2 * P, 'a'));
    uint64_t f = mm.Mmap(FileMap(file, 2 * P, RW, MAP_SHARED)).value();
    ASSERT_EQ(mm.HandleFault(f, kW), FaultResult::Handled);
    EXPECT_EQ(t.as->count('M'), 1u);  // both pages, one call: the frames were allocated in order
    *t.as->mirror(f + P) = 'Q';
    EXPECT_EQ(file->cached(1)[0], 'Q');
    char c = 'W';
    ASSERT_TRUE(mm.CopyOut(UserAddr(f), &c, 1).ok());
    EXPECT_EQ(file->cached(0)[0], 'W');
}

TEST(MmFault, UnknownAccessBreaksCowEagerly) {
    auto t = MakeTestMm();
    auto& mm = *t.mm;
    auto file = std::make_shared<FakeMappable>(*t.mf, std::string(P, 'a'));
    uint64_t f = mm.Mmap(FileMap(file, P, RW, MAP_PRIVATE)).value();
    ASSERT_EQ(mm.HandleFault(f, 0), FaultResult::Handled);
    EXPECT_NE(t.as->page(f)->offset, file->PageFrame(0).value());
    EXPECT_EQ(t.as->page(f)->prot, RW);
}

TEST(MmFault, StackGrowsDownWithinTheLimit) {
    auto t = MakeTestMm();
    auto& mm = *t.mm;
    mm.set_stack_limit(64 * P);
    auto req = Anon(4 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_FIXED, 0x20000000);
    req.name = "[stack]";
    uint64_t top = mm.Mmap(req).value() + 4 * P;
    EXPECT_EQ(mm.HandleFault(top - 10 * P, kW), FaultResult::Handled);
    auto vmas = mm.Vmas();
    ASSERT_EQ(vmas.size(), 1u);
    EXPECT_EQ(vmas[0].start, top - 10 * P);
    EXPECT_EQ(vmas[0].name, "[stack]");
    // A copy below the stack grows it too (as copy_to_user faults would).
    uint64_t v = 1;
    EXPECT_TRUE(mm.CopyOut(UserAddr(top - 20 * P), &v, sizeof v).ok());
    EXPECT_EQ(mm.Vmas()[0].start, top - 20 * P);
    EXPECT_EQ(mm.HandleFault(top - 65 * P, kW), FaultResult::SegvMapErr);  // beyond RLIMIT_STACK
    // Another mapping within the guard gap stops growth.
    ASSERT_TRUE(mm.Mmap(Anon(P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, top - 40 * P)).ok());
    EXPECT_EQ(mm.HandleFault(top - 30 * P, kW), FaultResult::SegvMapErr);
}

TEST(MmFork, PrivatePagesAreCopyOnWrite) {
    auto t = MakeTestMm(/*mirror=*/true);
    auto& mm = *t.mm;
    uint64_t a = mm.Mmap(Anon(2 * P)).value();
    uint64_t s = mm.Mmap(Anon(P, RW, MAP_SHARED | MAP_ANONYMOUS)).value();
    uint32_t v = 1;
    ASSERT_TRUE(mm.CopyOut(UserAddr(a), &v, sizeof v).ok());
    ASSERT_TRUE(mm.CopyOut(UserAddr(s), &v, sizeof v).ok());
    ASSERT_EQ(mm.HandleFault(a, kW), FaultResult::Handled);
    auto* parent_as = t.as;
    auto child = mm.Fork().value();
    EXPECT_EQ(parent_as->page(a)->prot, PROT_READ);  // write-protected for COW
    EXPECT_EQ(t.mf->RefCount(parent_as->page(a)->offset), 2u);
    // The child writes: it gets its own copy; the parent still sees 1.
    v = 2;
    ASSERT_TRUE(child->CopyOut(UserAddr(a), &v, sizeof v).ok());
    ASSERT_TRUE(child->CopyOut(UserAddr(s), &v, sizeof v).ok());
    uint32_t got = 0;
    ASSERT_TRUE(mm.CopyIn(UserAddr(a), &got, sizeof got).ok());
    EXPECT_EQ(got, 1u);
    ASSERT_TRUE(mm.CopyIn(UserAddr(s), &got, sizeof got).ok());
    EXPECT_EQ(got, 2u);  // shared memory is shared
    // The parent's write fault now finds the frame exclusive and just re-enables writing.
    uint64_t frame = parent_as->page(a)->offset;
    ASSERT_EQ(mm.HandleFault(a, kW), FaultResult::Handled);
    EXPECT_EQ(parent_as->page(a)->offset, frame);
    EXPECT_EQ(parent_as->page(a)->prot, RW);
    child.reset();
    ASSERT_TRUE(mm.Munmap(a, 2 * P).ok());
    ASSERT_TRUE(mm.Munmap(s, P).ok());
    EXPECT_EQ(t.mf->frames_in_use(), 0u);
}

}  // namespace
}  // namespace moat::mm
