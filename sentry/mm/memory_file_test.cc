// MemoryFile: freed frames are reused zeroed, punched only in batches.

#include "sentry/mm/memory_file.h"
#include "sentry/mm/user_addr.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <cstring>

namespace moat::mm {
namespace {

constexpr uint64_t P = kPageSize;

bool AllZero(const uint8_t* p, uint64_t len) { return std::all_of(p, p + len, [](uint8_t b) { return b == 0; }); }

// Blocks the memfd really holds (a punched frame holds none).
uint64_t HostBlocks(const MemoryFile& mf) {
    struct stat st{};
    EXPECT_EQ(::fstat(mf.fd(), &st), 0);
    return static_cast<uint64_t>(st.st_blocks);
}

TEST(MemoryFile, FreedFramesAreReusedZeroedWithoutPunching) {
    auto mf = MemoryFile::Create(64 << 20).value();
    uint64_t a = mf->Allocate(4).value();
    std::memset(mf->Ptr(a), 0xab, 4 * P);
    uint64_t blocks = HostBlocks(*mf);
    mf->DecRef(a, 4);
    EXPECT_EQ(mf->dirty_frames(), 4u);
    EXPECT_EQ(HostBlocks(*mf), blocks);  // no punch yet
    uint64_t b = mf->Allocate(2).value();
    EXPECT_GE(b, a);
    EXPECT_LT(b, a + 4 * P);  // a dirty frame, reused
    EXPECT_TRUE(AllZero(mf->Ptr(b), 2 * P));
    EXPECT_EQ(mf->dirty_frames(), 2u);
    EXPECT_EQ(mf->frames_in_use(), 2u);
}

TEST(MemoryFile, OverwrittenFramesAreNotZeroed) {
    auto mf = MemoryFile::Create(64 << 20).value();
    uint64_t a = mf->Allocate(1).value();
    std::memset(mf->Ptr(a), 0xcd, P);
    mf->DecRef(a);
    uint64_t b = mf->Allocate(1, /*zeroed=*/false).value();
    EXPECT_EQ(b, a);
    EXPECT_EQ(mf->Ptr(b)[0], 0xcd);  // the caller overwrites it: no memset paid
}

TEST(MemoryFile, ThePoolIsPunchedWhenItGrowsLarge) {
    auto mf = MemoryFile::Create(256 << 20).value();
    uint64_t n = MemoryFile::kMaxDirtyFrames + 1;
    uint64_t a = mf->Allocate(n).value();
    std::memset(mf->Ptr(a), 0x5a, n * P);
    ASSERT_GE(HostBlocks(*mf) * 512, n * P);
    mf->DecRef(a, n);
    EXPECT_EQ(mf->dirty_frames(), 0u);
    EXPECT_EQ(HostBlocks(*mf), 0u);  // punched, memory back to the host
    uint64_t b = mf->Allocate(n).value();
    EXPECT_TRUE(AllZero(mf->Ptr(b), n * P));
}

TEST(MemoryFile, LargeAllocationsTakeCleanFrames) {
    auto mf = MemoryFile::Create(64 << 20).value();
    uint64_t n = MemoryFile::kMaxReuseFrames + 1;
    uint64_t a = mf->Allocate(n).value();
    std::memset(mf->Ptr(a), 0x11, n * P);
    mf->DecRef(a, n);
    uint64_t b = mf->Allocate(n).value();
    EXPECT_NE(b, a);
    EXPECT_TRUE(AllZero(mf->Ptr(b), n * P));
    EXPECT_EQ(mf->dirty_frames(), n);
}

TEST(MemoryFile, DirtyFramesAreTheLastReserve) {
    auto mf = MemoryFile::Create(128 * P).value();
    uint64_t a = mf->Allocate(128).value();
    std::memset(mf->Ptr(a), 0x22, 128 * P);
    mf->DecRef(a, 128);
    EXPECT_EQ(mf->dirty_frames(), 128u);
    uint64_t b = mf->Allocate(100).value();  // too large to reuse dirty: punched, then taken
    EXPECT_TRUE(AllZero(mf->Ptr(b), 100 * P));
    EXPECT_FALSE(mf->Allocate(29).ok());
}

}  // namespace
}  // namespace moat::mm
