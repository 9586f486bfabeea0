// Victim selection of the OOM killer (oom_killer.h), against Linux's oom_badness numbers.

#include "sentry/kernel/oom_killer.h"

#include <gtest/gtest.h>

#include <vector>

namespace moat::kernel {
namespace {

constexpr uint64_t kTotal = 32768;  // 128 MiB of 4 KiB pages

TEST(OomKiller, PicksTheLargestResidentSet) {
    std::vector<OomCandidate> c = {{1, 300, 0}, {2, 20480, 0}, {3, 15360, 0}};
    EXPECT_EQ(SelectOomVictim(c, kTotal), 1u);
}

TEST(OomKiller, MinusThousandIsNeverKilled) {
    std::vector<OomCandidate> c = {{1, 300, 0}, {2, 20480, kOomScoreAdjMin}, {3, 15360, 0}};
    EXPECT_EQ(SelectOomVictim(c, kTotal), 2u);
    EXPECT_FALSE(OomBadness(c[1], kTotal).has_value());
    EXPECT_EQ(OomScore(c[1], kTotal), 0u);
}

TEST(OomKiller, NobodyKillable) {
    std::vector<OomCandidate> c = {{1, 300, kOomScoreAdjMin}, {2, 20480, kOomScoreAdjMin}};
    EXPECT_FALSE(SelectOomVictim(c, kTotal).has_value());
    EXPECT_FALSE(SelectOomVictim({}, kTotal).has_value());
}

TEST(OomKiller, AdjustmentScalesByThousandthsOfTotal) {
    // adj × (total / 1000) pages: +500 on 32768 pages adds 500 × 32 = 16000.
    EXPECT_EQ(OomBadness({1, 1000, 500}, kTotal), 17000);
    EXPECT_EQ(OomBadness({1, 1000, -999}, kTotal), 1000 - 999 * 32);
    // A small process with a high adjustment outranks a big one.
    std::vector<OomCandidate> c = {{1, 20000, 0}, {2, 5000, 500}};
    EXPECT_EQ(SelectOomVictim(c, kTotal), 1u);
    // A negative badness still makes a candidate when nobody is better.
    std::vector<OomCandidate> neg = {{1, 10, -999}};
    EXPECT_EQ(SelectOomVictim(neg, kTotal), 0u);
}

TEST(OomKiller, TiesGoToTheLaterProcess) {
    std::vector<OomCandidate> c = {{1, 500, 0}, {2, 500, 0}};
    EXPECT_EQ(SelectOomVictim(c, kTotal), 1u);
}

TEST(OomKiller, ScoreIsLinuxProcOomScore) {
    // (1000 + badness × 1000 / total) × 2 / 3.
    EXPECT_EQ(OomScore({1, 0, 0}, kTotal), 666u);
    EXPECT_EQ(OomScore({1, kTotal, 0}, kTotal), 1333u);
    EXPECT_EQ(OomScore({1, kTotal / 2, 0}, kTotal), 1000u);
    EXPECT_EQ(OomScore({1, 0, 1000}, kTotal), (1000 + 32000 * 1000 / kTotal) * 2 / 3);
    EXPECT_EQ(OomScore({1, 0, -999}, kTotal), 16u);  // (1000 - 31968000 / 32768) × 2 / 3
}

}  // namespace
}  // namespace moat::kernel
