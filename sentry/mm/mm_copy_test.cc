// Copy functions: page boundaries, protections, population on demand, bad addresses.

#include "sentry/mm/memory_manager.h"
#include "sentry/mm/mm_test_util.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace moat::mm {
namespace {

using testing::Anon;
using testing::FakeMappable;
using testing::FileMap;
using testing::MakeTestMm;

constexpr uint64_t P = kPageSize;
constexpr int RW = PROT_READ | PROT_WRITE;

TEST(MmCopy, AcrossPagesAndAreas) {
    auto t = MakeTestMm();
    auto& mm = *t.mm;
    uint64_t a = mm.Mmap(Anon(2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0x100000)).value();
    ASSERT_TRUE(mm.Mmap(Anon(2 * P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, a + 2 * P)).ok());
    std::vector<uint8_t> in(3 * P), out(3 * P);
    for (size_t i = 0; i < in.size(); ++i)
        in[i] = static_cast<uint8_t>(i * 7);
    // Populates never-touched pages, like a fault would.
    ASSERT_TRUE(mm.CopyOut(UserAddr(a + 100), in.data(), 2 * P - 100).ok());
    EXPECT_EQ(mm.resident_pages(), 2u);
    ASSERT_TRUE(mm.CopyIn(UserAddr(a + 100), out.data(), 2 * P - 100).ok());
    EXPECT_EQ(0, std::memcmp(in.data(), out.data(), 2 * P - 100));
    // Reading across into the read-only area is fine; writing is EFAULT.
    EXPECT_TRUE(mm.CopyIn(UserAddr(a + P), out.data(), 2 * P).ok());
    EXPECT_ERRNO(mm.CopyOut(UserAddr(a + P), in.data(), 2 * P), EFAULT);
    // Beyond the last area: EFAULT even though a prefix is readable.
    EXPECT_ERRNO(mm.CopyIn(UserAddr(a + 3 * P), out.data(), 2 * P), EFAULT);
    EXPECT_TRUE(mm.CopyIn(UserAddr(a), out.data(), 0).ok());
}

TEST(MmCopy, BadAddressesNeverCrash) {
    auto t = MakeTestMm();
    auto& mm = *t.mm;
    char buf[16];
    EXPECT_ERRNO(mm.CopyIn(UserAddr(0), buf, 1), EFAULT);
    EXPECT_ERRNO(mm.CopyOut(UserAddr(0xffffffffff600000), buf, 8), EFAULT);
    EXPECT_ERRNO(mm.CopyIn(UserAddr(UINT64_MAX - 4), buf, 16), EFAULT);  // wraps
    uint64_t a = mm.Mmap(Anon(P)).value();
    EXPECT_ERRNO(mm.CopyIn(UserAddr(a), buf, SIZE_MAX), EFAULT);
    EXPECT_EQ(mm.ReadForPlatform(0, buf, 16), 0u);
    EXPECT_ERRNO(mm.ForceWrite(UserAddr(0), buf, 1), EFAULT);
    EXPECT_ERRNO(mm.CopyInString(UserAddr(0), 100), EFAULT);
    EXPECT_EQ(mm.resident_pages(), 0u);
}

TEST(MmCopy, ProtectionsAreHonoured) {
    auto t = MakeTestMm();
    auto& mm = *t.mm;
    uint64_t none = mm.Mmap(Anon(P, PROT_NONE)).value();
    uint64_t wo = mm.Mmap(Anon(P, PROT_WRITE)).value();
    uint64_t xo = mm.Mmap(Anon(P, PROT_EXEC)).value();
    uint32_t v = 5;
    EXPECT_ERRNO(mm.CopyIn(UserAddr(none), &v, sizeof v), EFAULT);
    EXPECT_ERRNO(mm.CopyOut(UserAddr(none), &v, sizeof v), EFAULT);
    EXPECT_TRUE(mm.CopyOut(UserAddr(wo), &v, sizeof v).ok());
    EXPECT_TRUE(mm.CopyIn(UserAddr(wo), &v, sizeof v).ok());  // x86: write implies read
    EXPECT_ERRNO(mm.CopyIn(UserAddr(xo), &v, sizeof v), EFAULT);
    // The forced variants ignore protections (loader, instruction decoder).
    EXPECT_TRUE(mm.ForceWrite(UserAddr(none), &v, sizeof v).ok());
    uint32_t got = 0;
    EXPECT_EQ(mm.ReadForPlatform(none, &got, sizeof got), sizeof got);
    EXPECT_EQ(got, 5u);
    EXPECT_TRUE(mm.ForceZero(UserAddr(none), sizeof v).ok());
    EXPECT_EQ(mm.ReadForPlatform(none, &got, sizeof got), sizeof got);
    EXPECT_EQ(got, 0u);
    // The platform's reader stops at the first bad page.
    uint8_t buf[2 * P];
    uint64_t last = mm.Mmap(Anon(P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0x100000)).value();
    EXPECT_EQ(mm.ReadForPlatform(last + P - 10, buf, 100), 10u);
    EXPECT_EQ(t.platform->readers[0](last, buf, 8), 8u);
}

TEST(MmCopy, WritesBreakCowAndUpdateThePlatform) {
    auto t = MakeTestMm(/*mirror=*/true);
    auto& mm = *t.mm;
    auto file = std::make_shared<FakeMappable>(*t.mf, std::string(2 * P, 'a'));
    uint64_t f = mm.Mmap(FileMap(file, 2 * P, RW, MAP_PRIVATE)).value();
    ASSERT_EQ(mm.HandleFault(f, platform::kAccessRead), FaultResult::Handled);
    ASSERT_EQ(*t.as->mirror(f + P - 1), 'a');
    const char msg[] = "xyz";
    ASSERT_TRUE(mm.CopyOut(UserAddr(f + P - 1), msg, 3).ok());  // straddles two COW pages
    EXPECT_EQ(file->cached(0)[P - 1], 'a');
    EXPECT_EQ(file->cached(1)[0], 'a');
    // The app sees the copy, not the stale page cache.
    EXPECT_EQ(*t.as->mirror(f + P - 1), 'x');
    EXPECT_EQ(*t.as->mirror(f + P), 'y');
    // ForceWrite into a read-only private file mapping (the loader's relocations) also copies.
    uint64_t ro = mm.Mmap(FileMap(file, P, PROT_READ, MAP_PRIVATE)).value();
    ASSERT_TRUE(mm.ForceWrite(UserAddr(ro), "Q", 1).ok());
    EXPECT_EQ(file->cached(0)[0], 'a');
    char c;
    ASSERT_TRUE(mm.CopyIn(UserAddr(ro), &c, 1).ok());
    EXPECT_EQ(c, 'Q');
    // Copies past end of file fault.
    char buf[8];
    EXPECT_ERRNO(mm.CopyIn(UserAddr(f + 2 * P - 4), buf, 8), EFAULT);
}

TEST(MmCopy, CopyInString) {
    auto t = MakeTestMm();
    auto& mm = *t.mm;
    uint64_t a = mm.Mmap(Anon(P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0x100000)).value();
    ASSERT_TRUE(mm.Mmap(Anon(P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, a + P)).ok());
    const char s[] = "across";
    ASSERT_TRUE(mm.CopyOut(UserAddr(a + P - 3), s, sizeof s).ok());
    EXPECT_EQ(mm.CopyInString(UserAddr(a + P - 3), 100).value(), "across");
    EXPECT_EQ(mm.CopyInString(UserAddr(a + P - 3), 6).value(), "across");
    EXPECT_ERRNO(mm.CopyInString(UserAddr(a + P - 3), 5), ENAMETOOLONG);
    EXPECT_EQ(mm.CopyInString(UserAddr(a + 10), SIZE_MAX).value(), "");
    // No NUL before the end of mapped memory: EFAULT.
    std::vector<char> fill(P, 'z');
    ASSERT_TRUE(mm.CopyOut(UserAddr(a + P), fill.data(), P).ok());
    EXPECT_ERRNO(mm.CopyInString(UserAddr(a + P + 10), 1 << 20), EFAULT);
    EXPECT_ERRNO(mm.CopyInString(UserAddr(a + P + 10), 100), ENAMETOOLONG);
}

}  // namespace
}  // namespace moat::mm
