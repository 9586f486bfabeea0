#include "fs/lock/file_locks.h"

#include <fcntl.h>

#include <gtest/gtest.h>

namespace moat::fs {
namespace {

const int kA = 0, kB = 0;  // two distinct owner addresses

RecordRequest Req(const void* owner, short type, int64_t start, int64_t end) {
    RecordRequest r;
    r.owner = owner;
    r.type = type;
    r.start = start;
    r.end = end;
    return r;
}

TEST(LockRangeOf, WhenceStartAndLength) {
    EXPECT_EQ(LockRangeOf(SEEK_SET, 10, 5, 0, 0)->end, 14);
    EXPECT_EQ(LockRangeOf(SEEK_CUR, 10, 0, 100, 0)->start, 110);
    EXPECT_EQ(LockRangeOf(SEEK_CUR, 10, 0, 100, 0)->end, kLockEndMax);
    auto back = *LockRangeOf(SEEK_END, 0, -10, 0, 50);
    EXPECT_EQ(back.start, 40);
    EXPECT_EQ(back.end, 49);
    EXPECT_EQ(LockRangeOf(SEEK_SET, -1, 1, 0, 0).error(), EINVAL);
    EXPECT_EQ(LockRangeOf(SEEK_SET, 5, -6, 0, 0).error(), EINVAL);
    EXPECT_EQ(LockRangeOf(3, 0, 0, 0, 0).error(), EINVAL);
    EXPECT_EQ(LockRangeOf(SEEK_SET, 1, kLockEndMax, 0, 0)->end, kLockEndMax);
    EXPECT_EQ(LockRangeOf(SEEK_SET, 2, kLockEndMax, 0, 0).error(), EOVERFLOW);
    EXPECT_EQ(LockRangeOf(SEEK_END, kLockEndMax, 1, 0, 10).error(), EOVERFLOW);
}

TEST(FileLocks, SplitMergeAndConflicts) {
    FileLocks locks;
    ASSERT_TRUE(locks.SetRecord(Req(&kA, F_WRLCK, 0, 99), false, nullptr).ok());
    ASSERT_TRUE(locks.SetRecord(Req(&kA, F_RDLCK, 40, 59), false, nullptr).ok());
    auto r = locks.records();
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[0].end, 39);
    EXPECT_EQ(r[1].type, F_RDLCK);
    EXPECT_EQ(r[2].start, 60);
    // Another owner's read lock meets only the write parts.
    EXPECT_FALSE(locks.TestRecord(Req(&kB, F_RDLCK, 40, 59)));
    EXPECT_EQ(locks.TestRecord(Req(&kB, F_RDLCK, 30, 45))->end, 39);
    EXPECT_EQ(locks.SetRecord(Req(&kB, F_WRLCK, 50, 50), false, nullptr).error(), EAGAIN);
    // Back to one write lock: the three pieces merge.
    ASSERT_TRUE(locks.SetRecord(Req(&kA, F_WRLCK, 40, 59), false, nullptr).ok());
    ASSERT_EQ(locks.records().size(), 1u);
    locks.ReleaseRecords(&kA);
    EXPECT_TRUE(locks.records().empty());
}

TEST(FileLocks, FlockConversionDropsTheOldLockFirst) {
    FileLocks locks;
    ASSERT_TRUE(locks.Flock(&kA, false, true).ok());
    ASSERT_TRUE(locks.Flock(&kB, false, true).ok());
    EXPECT_EQ(locks.Flock(&kA, true, true).error(), EWOULDBLOCK);
    // A's shared lock is gone: B may now take it exclusively.
    EXPECT_TRUE(locks.Flock(&kB, true, true).ok());
    locks.ReleaseDescription(&kB);
    EXPECT_TRUE(locks.Flock(&kA, true, true).ok());
}

TEST(LockWaitGraph, TwoOwnerCycle) {
    LockWaitGraph g;
    EXPECT_TRUE(g.StartWaiting(&kA, &kB));
    EXPECT_FALSE(g.StartWaiting(&kB, &kA));
    g.StopWaiting(&kA);
    EXPECT_TRUE(g.StartWaiting(&kB, &kA));
}

}  // namespace
}  // namespace moat::fs
