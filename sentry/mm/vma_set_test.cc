#include "sentry/mm/vma_set.h"

#include <gtest/gtest.h>

namespace moat::mm {
namespace {

constexpr uint64_t P = kPageSize;

Vma MakeVma(uint64_t start, uint64_t end, int prot = PROT_READ | PROT_WRITE) {
    Vma v;
    v.start = start;
    v.end = end;
    v.prot = prot;
    v.max_prot = PROT_READ | PROT_WRITE | PROT_EXEC;
    return v;
}

TEST(VmaSet, InsertMergesEqualNeighbours) {
    VmaSet s;
    s.Insert(MakeVma(10 * P, 20 * P));
    s.Insert(MakeVma(30 * P, 40 * P));
    EXPECT_EQ(s.size(), 2u);
    s.Insert(MakeVma(20 * P, 30 * P));
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s.begin()->second.start, 10 * P);
    EXPECT_EQ(s.begin()->second.end, 40 * P);
}

TEST(VmaSet, DifferentAttributesDoNotMerge) {
    VmaSet s;
    s.Insert(MakeVma(10 * P, 20 * P));
    s.Insert(MakeVma(20 * P, 30 * P, PROT_READ));
    Vma named = MakeVma(30 * P, 40 * P);
    named.name = "[heap]";
    s.Insert(named);
    EXPECT_EQ(s.size(), 3u);
}

TEST(VmaSet, FileAreasMergeOnlyWhenOffsetsContinue) {
    struct F : Mappable {
        Result<uint64_t> PageFrame(uint64_t) override { return Error(EFAULT); }
        uint64_t size() const override { return 1 << 20; }
        std::string map_name() const override { return "f"; }
    };
    auto f = std::make_shared<F>();
    VmaSet s;
    Vma a = MakeVma(10 * P, 20 * P);
    a.file = f;
    a.anonymous = false;
    a.offset = 0;
    Vma b = a;
    b.start = 20 * P;
    b.end = 30 * P;
    b.offset = 20 * P;  // not 10 pages on
    s.Insert(a);
    s.Insert(b);
    EXPECT_EQ(s.size(), 2u);
    s.Remove(20 * P, 30 * P);
    b.offset = 10 * P;
    s.Insert(b);
    EXPECT_EQ(s.size(), 1u);
}

TEST(VmaSet, RemoveSplitsAtBoundaries) {
    VmaSet s;
    s.Insert(MakeVma(10 * P, 40 * P));
    auto removed = s.Remove(15 * P, 25 * P);
    ASSERT_EQ(removed.size(), 1u);
    EXPECT_EQ(removed[0].start, 15 * P);
    EXPECT_EQ(removed[0].end, 25 * P);
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s.Find(14 * P)->end, 15 * P);
    EXPECT_EQ(s.Find(15 * P), nullptr);
    EXPECT_EQ(s.Find(25 * P)->start, 25 * P);
    EXPECT_EQ(s.Find(40 * P), nullptr);
}

TEST(VmaSet, SplitKeepsFileOffsets) {
    VmaSet s;
    Vma v = MakeVma(10 * P, 20 * P);
    v.offset = 100 * P;
    v.anonymous = false;
    s.Insert(v);
    s.SplitAt(13 * P);
    EXPECT_EQ(s.size(), 2u);
    EXPECT_EQ(s.Find(13 * P)->offset, 103 * P);
}

TEST(VmaSet, FindNextAndCovers) {
    VmaSet s;
    s.Insert(MakeVma(10 * P, 20 * P));
    s.Insert(MakeVma(30 * P, 40 * P, PROT_READ));
    EXPECT_EQ(s.FindNext(5 * P)->second.start, 10 * P);
    EXPECT_EQ(s.FindNext(15 * P)->second.start, 10 * P);
    EXPECT_EQ(s.FindNext(25 * P)->second.start, 30 * P);
    EXPECT_EQ(s.FindNext(45 * P), s.end());
    EXPECT_TRUE(s.Covers(10 * P, 20 * P));
    EXPECT_FALSE(s.Covers(10 * P, 31 * P));
    EXPECT_TRUE(s.Intersects(19 * P, 31 * P));
    EXPECT_FALSE(s.Intersects(20 * P, 30 * P));
}

TEST(VmaSet, GapSearchTopDownAndBottomUp) {
    VmaSet s;
    s.Insert(MakeVma(10 * P, 20 * P));
    s.Insert(MakeVma(25 * P, 40 * P, PROT_READ));
    EXPECT_EQ(s.FindGapTopDown(5 * P, 0, 100 * P), 95 * P);
    EXPECT_EQ(s.FindGapTopDown(5 * P, 0, 40 * P), 20 * P);
    EXPECT_EQ(s.FindGapTopDown(6 * P, 0, 40 * P), 4 * P);
    EXPECT_EQ(s.FindGapTopDown(11 * P, 0, 40 * P), std::nullopt);
    EXPECT_EQ(s.FindGapBottomUp(5 * P, 0, 100 * P), 0u);
    EXPECT_EQ(s.FindGapBottomUp(10 * P, 0, 100 * P), 0u);
    EXPECT_EQ(s.FindGapBottomUp(11 * P, 0, 100 * P), 40 * P);
    EXPECT_EQ(s.FindGapBottomUp(5 * P, 12 * P, 100 * P), 20 * P);
}

TEST(VmaSet, GapSearchKeepsStackGuardGap) {
    VmaSet s;
    Vma stack = MakeVma(1000 * P, 1010 * P);
    stack.growsdown = true;
    s.Insert(stack);
    auto a = s.FindGapTopDown(P, 0, 1010 * P);
    ASSERT_TRUE(a);
    EXPECT_LE(*a + P, 1000 * P - kStackGuardGap);
    EXPECT_FALSE(s.IsFreeForHint(999 * P, P));
    EXPECT_TRUE(s.IsFreeForHint(1000 * P - kStackGuardGap - P, P));
}

TEST(VmaSet, ExtendDownRekeys) {
    VmaSet s;
    s.Insert(MakeVma(10 * P, 20 * P));
    auto it = s.ExtendDown(s.FindNext(10 * P), 8 * P);
    EXPECT_EQ(it->first, 8 * P);
    EXPECT_EQ(s.Find(8 * P)->end, 20 * P);
}

}  // namespace
}  // namespace moat::mm
