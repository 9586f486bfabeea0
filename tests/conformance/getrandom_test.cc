// Conformance: getrandom(2).

#include "tests/conformance/test_util.h"

#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

#ifndef GRND_INSECURE
#define GRND_INSECURE 0x0004
#endif

long RawGetrandom(void* buf, size_t len, unsigned flags) { return syscall(SYS_getrandom, buf, len, flags); }

TEST(GetrandomTest, FillsTheBufferAndDiffersBetweenCalls) {
    std::array<unsigned char, 64> a{}, b{};
    ASSERT_THAT(RawGetrandom(a.data(), a.size(), 0), SyscallSucceedsWithValue(64));
    ASSERT_THAT(RawGetrandom(b.data(), b.size(), 0), SyscallSucceedsWithValue(64));
    EXPECT_NE(a, b);
    EXPECT_NE(a, (std::array<unsigned char, 64>{}));
}

TEST(GetrandomTest, EveryValidFlagCombination) {
    for (unsigned flags : {0u, unsigned(GRND_NONBLOCK), unsigned(GRND_RANDOM), unsigned(GRND_RANDOM | GRND_NONBLOCK),
                           unsigned(GRND_INSECURE), unsigned(GRND_INSECURE | GRND_NONBLOCK)}) {
        unsigned char buf[32] = {};
        EXPECT_THAT(RawGetrandom(buf, sizeof buf, flags), SyscallSucceedsWithValue(32)) << "flags " << flags;
    }
}

TEST(GetrandomTest, ZeroLength) {
    EXPECT_THAT(RawGetrandom(nullptr, 0, 0), SyscallSucceedsWithValue(0));
    unsigned char byte = 0x5a;
    EXPECT_THAT(RawGetrandom(&byte, 0, 0), SyscallSucceedsWithValue(0));
    EXPECT_EQ(byte, 0x5a);
}

TEST(GetrandomTest, ExactLengthLeavesNeighboursAlone) {
    unsigned char buf[48];
    memset(buf, 0xee, sizeof buf);
    ASSERT_THAT(RawGetrandom(buf + 8, 32, 0), SyscallSucceedsWithValue(32));
    for (int i = 0; i < 8; ++i) EXPECT_EQ(buf[i], 0xee);
    for (int i = 40; i < 48; ++i) EXPECT_EQ(buf[i], 0xee);
}

TEST(GetrandomTest, LargeBufferIsFilledCompletelyAndUniformly) {
    size_t const len = 1 << 20;
    std::vector<unsigned char> buf(len, 0);
    ASSERT_THAT(RawGetrandom(buf.data(), len, 0), SyscallSucceedsWithValue(static_cast<long>(len)));
    // Each byte value should appear len/256 = 4096 times; sd is 64, so +-12 sd never trips.
    std::array<size_t, 256> counts{};
    for (unsigned char c : buf) ++counts[c];
    for (size_t v = 0; v < 256; ++v) {
        EXPECT_GT(counts[v], 3300u) << "byte " << v;
        EXPECT_LT(counts[v], 4900u) << "byte " << v;
    }
    // The last page was written too.
    size_t zeros = 0;
    for (size_t i = len - 4096; i < len; ++i) zeros += buf[i] == 0;
    EXPECT_LT(zeros, 100u);
}

TEST(GetrandomTest, BadFlagsAreEinval) {
    unsigned char buf[16];
    EXPECT_THAT(RawGetrandom(buf, sizeof buf, 0x8), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(RawGetrandom(buf, sizeof buf, 0x80000000u), SyscallFailsWithErrno(EINVAL));
    // GRND_INSECURE and GRND_RANDOM are mutually exclusive.
    EXPECT_THAT(RawGetrandom(buf, sizeof buf, GRND_INSECURE | GRND_RANDOM), SyscallFailsWithErrno(EINVAL));
}

TEST(GetrandomTest, BadBufferIsEfault) {
    EXPECT_THAT(RawGetrandom(kNullAddr, 16, 0), SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(RawGetrandom(kLowAddr, 16, 0), SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(RawGetrandom(kKernelAddr, 16, 0), SyscallFailsWithErrno(EFAULT));
    char* hole = UnmappedRange(1);
    ASSERT_NE(hole, nullptr);
    EXPECT_THAT(RawGetrandom(hole, 16, GRND_NONBLOCK), SyscallFailsWithErrno(EFAULT));
}

TEST(GetrandomTest, LibcWrapperAgrees) {
    unsigned char buf[100];
    EXPECT_THAT(getrandom(buf, sizeof buf, GRND_NONBLOCK), SyscallSucceedsWithValue(100));
    // getentropy is limited to 256 bytes.
    unsigned char big[257];
    EXPECT_THAT(getentropy(big, 256), SyscallSucceedsWithValue(0));
    EXPECT_THAT(getentropy(big, sizeof big), SyscallFailsWithErrno(EIO));
}

}  // namespace
}  // namespace moat::conformance
