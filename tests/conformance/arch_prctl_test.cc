// Conformance: arch_prctl(2). The FS base is glibc's thread pointer, so while it points elsewhere
// nothing may touch TLS (errno included): those stretches use inline-asm syscalls only.

#include "tests/conformance/test_util.h"

#include <asm/prctl.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

// A syscall that never touches errno or TLS; returns the raw kernel value (-errno on failure).
long RawSyscall2(long nr, long a, long b) {
    long ret;
    asm volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return ret;
}

uintptr_t ReadFsZero() {
    uintptr_t v;
    asm volatile("mov %%fs:0, %0" : "=r"(v));
    return v;
}

uintptr_t ReadGsZero() {
    uintptr_t v;
    asm volatile("mov %%gs:0, %0" : "=r"(v));
    return v;
}

thread_local int tls_variable = 42;

TEST(ArchPrctlTest, GetFsIsTheThreadPointer) {
    uintptr_t fs = 0;
    ASSERT_THAT(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs), SyscallSucceeds());
    EXPECT_NE(fs, 0u);
    EXPECT_EQ(fs, reinterpret_cast<uintptr_t>(__builtin_thread_pointer()));
    // x86-64 TLS ABI: the word at %fs:0 points to itself.
    EXPECT_EQ(ReadFsZero(), fs);
    // Initial-exec TLS lives just below the thread pointer.
    uintptr_t const var = reinterpret_cast<uintptr_t>(&tls_variable);
    EXPECT_LT(var, fs);
    EXPECT_GT(var, fs - (1 << 20));
    EXPECT_EQ(tls_variable, 42);
}

TEST(ArchPrctlTest, RdfsbaseAgreesWhenAvailable) {
    constexpr unsigned long kHwcap2Fsgsbase = 1ul << 1;
    if (!(getauxval(AT_HWCAP2) & kHwcap2Fsgsbase)) {
        GTEST_SKIP() << "FSGSBASE not enabled (AT_HWCAP2)";
    }
    uintptr_t fs = 0, base = 0;
    ASSERT_THAT(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs), SyscallSucceeds());
    asm volatile("rdfsbase %0" : "=r"(base));
    EXPECT_EQ(base, fs);
}

TEST(ArchPrctlTest, SetFsRoundTrip) {
    uintptr_t original = 0;
    ASSERT_THAT(syscall(SYS_arch_prctl, ARCH_GET_FS, &original), SyscallSucceeds());
    alignas(64) static uintptr_t scratch[8];
    scratch[0] = reinterpret_cast<uintptr_t>(&scratch[0]);  // self pointer, like a TCB
    scratch[1] = 0x5eed;
    uintptr_t seen_base = 0, seen_word = 0, seen_word1 = 0;
    // --- no TLS from here ---
    long const set = RawSyscall2(SYS_arch_prctl, ARCH_SET_FS, reinterpret_cast<long>(&scratch[0]));
    long const get = RawSyscall2(SYS_arch_prctl, ARCH_GET_FS, reinterpret_cast<long>(&seen_base));
    seen_word = ReadFsZero();
    asm volatile("mov %%fs:8, %0" : "=r"(seen_word1));
    long const restore = RawSyscall2(SYS_arch_prctl, ARCH_SET_FS, static_cast<long>(original));
    // --- TLS is back ---
    ASSERT_EQ(restore, 0);
    EXPECT_EQ(set, 0);
    EXPECT_EQ(get, 0);
    EXPECT_EQ(seen_base, reinterpret_cast<uintptr_t>(&scratch[0]));
    EXPECT_EQ(seen_word, reinterpret_cast<uintptr_t>(&scratch[0]));
    EXPECT_EQ(seen_word1, 0x5eedu);
    EXPECT_EQ(tls_variable, 42);
}

TEST(ArchPrctlTest, SetGsRoundTrip) {
    // glibc does not use GS on x86-64, so it can be changed freely.
    uintptr_t original = 1;
    ASSERT_THAT(syscall(SYS_arch_prctl, ARCH_GET_GS, &original), SyscallSucceeds());
    static uintptr_t scratch[2] = {0x1234abcd, 0};
    ASSERT_THAT(syscall(SYS_arch_prctl, ARCH_SET_GS, &scratch[0]), SyscallSucceeds());
    uintptr_t gs = 0;
    ASSERT_THAT(syscall(SYS_arch_prctl, ARCH_GET_GS, &gs), SyscallSucceeds());
    EXPECT_EQ(gs, reinterpret_cast<uintptr_t>(&scratch[0]));
    EXPECT_EQ(ReadGsZero(), 0x1234abcdu);
    ASSERT_THAT(syscall(SYS_arch_prctl, ARCH_SET_GS, original), SyscallSucceeds());
    ASSERT_THAT(syscall(SYS_arch_prctl, ARCH_GET_GS, &gs), SyscallSucceeds());
    EXPECT_EQ(gs, original);
}

TEST(ArchPrctlTest, NonCanonicalBaseIsEperm) {
    EXPECT_EQ(RawSyscall2(SYS_arch_prctl, ARCH_SET_FS, static_cast<long>(0x0000800000000000)), -EPERM);
    EXPECT_EQ(RawSyscall2(SYS_arch_prctl, ARCH_SET_GS, static_cast<long>(0xffff800000000000)), -EPERM);
    // FS is unchanged.
    EXPECT_EQ(ReadFsZero(), reinterpret_cast<uintptr_t>(__builtin_thread_pointer()));
}

TEST(ArchPrctlTest, BadCodeIsEinval) {
    uintptr_t v = 0;
    EXPECT_THAT(syscall(SYS_arch_prctl, 0x9999, &v), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_arch_prctl, 0, &v), SyscallFailsWithErrno(EINVAL));
}

TEST(ArchPrctlTest, GetWithBadPointerIsEfault) {
    EXPECT_THAT(syscall(SYS_arch_prctl, ARCH_GET_FS, kLowAddr), SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(syscall(SYS_arch_prctl, ARCH_GET_GS, kKernelAddr), SyscallFailsWithErrno(EFAULT));
}

TEST(ArchPrctlTest, CpuidFaultingQuery) {
    // ARCH_GET_CPUID reports whether CPUID is allowed: it is, by default.
    EXPECT_THAT(syscall(SYS_arch_prctl, ARCH_GET_CPUID, 0), SyscallSucceedsWithValue(1));
}

}  // namespace
}  // namespace moat::conformance
