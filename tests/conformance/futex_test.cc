// Conformance: futex(2) — values, errnos and their order for every operation, WAKE_OP
// arithmetic, the PI owner-TID protocol; with threads: wake-ups, requeue, PI contention and
// robust lists; with fork: a shared futex in a MAP_SHARED page.

#include "tests/conformance/test_util.h"

#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

using ::testing::Eq;

long Futex(void* uaddr, int op, uint32_t val, const void* timeout = nullptr, void* uaddr2 = nullptr,
           uint32_t val3 = 0) {
    return syscall(SYS_futex, uaddr, op, val, timeout, uaddr2, val3);
}
// The commands that take a count (val2) where the others take a timeout.
long FutexVal2(void* uaddr, int op, uint32_t val, long val2, void* uaddr2, uint32_t val3) {
    return syscall(SYS_futex, uaddr, op, val, val2, uaddr2, val3);
}

pid_t Gettid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

timespec AfterNow(clockid_t clock, long ns) {
    timespec ts{};
    clock_gettime(clock, &ts);
    ts.tv_nsec += ns;
    ts.tv_sec += ts.tv_nsec / 1000000000;
    ts.tv_nsec %= 1000000000;
    return ts;
}

constexpr timespec kOneMs{0, 1000000};

// ---- WAIT / WAKE ----

TEST(FutexTest, WaitValueMismatchIsEagain) {
    uint32_t word = 1;
    EXPECT_THAT(Futex(&word, FUTEX_WAIT_PRIVATE, 0), SyscallFailsWithErrno(EAGAIN));
    EXPECT_THAT(Futex(&word, FUTEX_WAIT, 0), SyscallFailsWithErrno(EAGAIN));
}

TEST(FutexTest, WaitRelativeTimeoutIsEtimedout) {
    uint32_t word = 0;
    auto start = std::chrono::steady_clock::now();
    EXPECT_THAT(Futex(&word, FUTEX_WAIT_PRIVATE, 0, &kOneMs), SyscallFailsWithErrno(ETIMEDOUT));
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1));
}

TEST(FutexTest, WaitBitsetAbsoluteTimeouts) {
    uint32_t word = 0;
    timespec mono = AfterNow(CLOCK_MONOTONIC, 2000000);
    EXPECT_THAT(Futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &mono, nullptr, FUTEX_BITSET_MATCH_ANY),
                SyscallFailsWithErrno(ETIMEDOUT));
    timespec real = AfterNow(CLOCK_REALTIME, 2000000);
    EXPECT_THAT(Futex(&word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &real, nullptr,
                      FUTEX_BITSET_MATCH_ANY),
                SyscallFailsWithErrno(ETIMEDOUT));
    // A deadline already past times out at once.
    timespec past{0, 0};
    EXPECT_THAT(Futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &past, nullptr, FUTEX_BITSET_MATCH_ANY),
                SyscallFailsWithErrno(ETIMEDOUT));
}

TEST(FutexTest, ClockRealtimeOnlyWithTheAbsoluteWaits) {
    uint32_t word = 0;
    EXPECT_THAT(Futex(&word, FUTEX_WAIT | FUTEX_CLOCK_REALTIME, 0, &kOneMs), SyscallFailsWithErrno(ENOSYS));
    EXPECT_THAT(Futex(&word, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1), SyscallFailsWithErrno(ENOSYS));
}

TEST(FutexTest, InvalidTimeout) {
    uint32_t word = 0;
    timespec bad_nsec{0, 1000000000};
    EXPECT_THAT(Futex(&word, FUTEX_WAIT_PRIVATE, 0, &bad_nsec), SyscallFailsWithErrno(EINVAL));
    timespec negative{-1, 0};
    EXPECT_THAT(Futex(&word, FUTEX_WAIT_PRIVATE, 0, &negative), SyscallFailsWithErrno(EINVAL));
    // The timeout is read before the value is compared.
    EXPECT_THAT(Futex(&word, FUTEX_WAIT_PRIVATE, 1, &bad_nsec), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(Futex(&word, FUTEX_WAIT_PRIVATE, 0, kLowAddr), SyscallFailsWithErrno(EFAULT));
}

TEST(FutexTest, WakeWithoutWaitersIsZero) {
    uint32_t word = 0;
    EXPECT_THAT(Futex(&word, FUTEX_WAKE_PRIVATE, 1), SyscallSucceedsWithValue(0));
    EXPECT_THAT(Futex(&word, FUTEX_WAKE, INT32_MAX), SyscallSucceedsWithValue(0));
    EXPECT_THAT(Futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, nullptr, nullptr, 0x5), SyscallSucceedsWithValue(0));
}

TEST(FutexTest, PrivateWakeDoesNotTouchMemory) {
    // A private key needs no page: a wake on an unmapped address finds no waiters.
    EXPECT_THAT(Futex(kNullAddr, FUTEX_WAKE_PRIVATE, 1), SyscallSucceedsWithValue(0));
    // A shared key does (the page decides it).
    EXPECT_THAT(Futex(kNullAddr, FUTEX_WAKE, 1), SyscallFailsWithErrno(EFAULT));
}

TEST(FutexTest, UnknownCommandIsEnosys) {
    uint32_t word = 0;
    EXPECT_THAT(Futex(&word, 99, 0), SyscallFailsWithErrno(ENOSYS));
    EXPECT_THAT(Futex(&word, 14 | FUTEX_PRIVATE_FLAG, 0), SyscallFailsWithErrno(ENOSYS));
}

TEST(FutexTest, UnalignedIsEinval) {
    alignas(8) uint32_t words[2] = {0, 0};
    void* odd = reinterpret_cast<char*>(words) + 1;
    EXPECT_THAT(Futex(odd, FUTEX_WAIT_PRIVATE, 0, &kOneMs), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(Futex(odd, FUTEX_WAKE_PRIVATE, 1), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(Futex(odd, FUTEX_WAKE, 1), SyscallFailsWithErrno(EINVAL));
}

TEST(FutexTest, BadAddressIsEfault) {
    EXPECT_THAT(Futex(kNullAddr, FUTEX_WAIT_PRIVATE, 0, &kOneMs), SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(Futex(kKernelAddr, FUTEX_WAIT_PRIVATE, 0, &kOneMs), SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(Futex(kNullAddr, FUTEX_WAIT, 0, &kOneMs), SyscallFailsWithErrno(EFAULT));
}

TEST(FutexTest, ZeroBitsetIsEinval) {
    uint32_t word = 0;
    EXPECT_THAT(Futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &kOneMs, nullptr, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(Futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, nullptr, nullptr, 0), SyscallFailsWithErrno(EINVAL));
    // Checked before the value.
    EXPECT_THAT(Futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 1, &kOneMs, nullptr, 0), SyscallFailsWithErrno(EINVAL));
}

// ---- REQUEUE ----

TEST(FutexTest, RequeueCounts) {
    uint32_t a = 7, b = 0;
    EXPECT_THAT(FutexVal2(&a, FUTEX_REQUEUE_PRIVATE, 1, 1, &b, 0), SyscallSucceedsWithValue(0));
    EXPECT_THAT(FutexVal2(&a, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, &b, 7), SyscallSucceedsWithValue(0));
    EXPECT_THAT(FutexVal2(&a, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, &b, 8), SyscallFailsWithErrno(EAGAIN));
    EXPECT_THAT(FutexVal2(&a, FUTEX_REQUEUE_PRIVATE, -1, 1, &b, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(FutexVal2(&a, FUTEX_CMP_REQUEUE_PRIVATE, 1, -1, &b, 7), SyscallFailsWithErrno(EINVAL));
    void* odd = reinterpret_cast<char*>(&b) + 2;
    EXPECT_THAT(FutexVal2(&a, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, odd, 7), SyscallFailsWithErrno(EINVAL));
}

// ---- WAKE_OP ----

uint32_t WakeOp(uint32_t initial, uint32_t encoded, long* result) {
    uint32_t a = 0, b = initial;
    *result = FutexVal2(&a, FUTEX_WAKE_OP_PRIVATE, 1, 1, &b, encoded);
    return b;
}

TEST(FutexTest, WakeOpArithmetic) {
    long r;
    EXPECT_EQ(WakeOp(10, FUTEX_OP(FUTEX_OP_SET, 5, FUTEX_OP_CMP_EQ, 0), &r), 5u);
    EXPECT_EQ(r, 0);
    EXPECT_EQ(WakeOp(10, FUTEX_OP(FUTEX_OP_ADD, 5, FUTEX_OP_CMP_EQ, 0), &r), 15u);
    EXPECT_EQ(WakeOp(10, FUTEX_OP(FUTEX_OP_ADD, 0xfff, FUTEX_OP_CMP_EQ, 0), &r), 9u);  // oparg is signed: -1
    EXPECT_EQ(WakeOp(0x10, FUTEX_OP(FUTEX_OP_OR, 3, FUTEX_OP_CMP_EQ, 0), &r), 0x13u);
    EXPECT_EQ(WakeOp(0xff, FUTEX_OP(FUTEX_OP_ANDN, 0xf, FUTEX_OP_CMP_EQ, 0), &r), 0xf0u);
    EXPECT_EQ(WakeOp(0xff, FUTEX_OP(FUTEX_OP_XOR, 0x11, FUTEX_OP_CMP_EQ, 0), &r), 0xeeu);
    // FUTEX_OP_OPARG_SHIFT: the argument is 1 << oparg.
    EXPECT_EQ(WakeOp(0, FUTEX_OP(FUTEX_OP_SET | FUTEX_OP_OPARG_SHIFT, 4, FUTEX_OP_CMP_EQ, 0), &r), 16u);
    EXPECT_EQ(WakeOp(1, FUTEX_OP(FUTEX_OP_OR | FUTEX_OP_OPARG_SHIFT, 31, FUTEX_OP_CMP_EQ, 0), &r), 0x80000001u);
    EXPECT_EQ(r, 0);
}

TEST(FutexTest, WakeOpEveryComparisonSucceeds) {
    // With no waiters the result is 0 whatever the comparison says; each one must be accepted.
    for (int cmp : {FUTEX_OP_CMP_EQ, FUTEX_OP_CMP_NE, FUTEX_OP_CMP_LT, FUTEX_OP_CMP_LE, FUTEX_OP_CMP_GT,
                    FUTEX_OP_CMP_GE}) {
        long r;
        EXPECT_EQ(WakeOp(3, FUTEX_OP(FUTEX_OP_ADD, 1, cmp, 3), &r), 4u) << cmp;
        EXPECT_EQ(r, 0) << cmp;
    }
}

TEST(FutexTest, WakeOpBadOpAndComparison) {
    uint32_t a = 0, b = 1;
    // An unknown op: ENOSYS, nothing written.
    EXPECT_THAT(FutexVal2(&a, FUTEX_WAKE_OP_PRIVATE, 1, 1, &b, FUTEX_OP(6, 5, FUTEX_OP_CMP_EQ, 0)),
                SyscallFailsWithErrno(ENOSYS));
    EXPECT_EQ(b, 1u);
    // An unknown comparison: the op is done first, then ENOSYS.
    EXPECT_THAT(FutexVal2(&a, FUTEX_WAKE_OP_PRIVATE, 1, 1, &b, FUTEX_OP(FUTEX_OP_ADD, 5, 9, 0)),
                SyscallFailsWithErrno(ENOSYS));
    EXPECT_EQ(b, 6u);
    EXPECT_THAT(FutexVal2(&a, FUTEX_WAKE_OP_PRIVATE, 1, 1, kNullAddr, FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0)),
                SyscallFailsWithErrno(EFAULT));
}

TEST(FutexTest, WakeOpOnReadOnlyPageIsEfault) {
    Mapping page(PageSize(), PROT_READ);
    ASSERT_TRUE(page.ok());
    uint32_t a = 0;
    EXPECT_THAT(FutexVal2(&a, FUTEX_WAKE_OP_PRIVATE, 1, 1, page.addr(), FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0)),
                SyscallFailsWithErrno(EFAULT));
}

// ---- PI ----

TEST(FutexTest, PiTrylockAndUnlock) {
    uint32_t word = 0;
    EXPECT_THAT(Futex(&word, FUTEX_TRYLOCK_PI_PRIVATE, 0), SyscallSucceedsWithValue(0));
    EXPECT_EQ(word, static_cast<uint32_t>(Gettid()));
    EXPECT_THAT(Futex(&word, FUTEX_LOCK_PI_PRIVATE, 0), SyscallFailsWithErrno(EDEADLK));
    EXPECT_THAT(Futex(&word, FUTEX_TRYLOCK_PI_PRIVATE, 0), SyscallFailsWithErrno(EDEADLK));
    EXPECT_THAT(Futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0), SyscallSucceedsWithValue(0));
    EXPECT_EQ(word, 0u);
    EXPECT_THAT(Futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0), SyscallFailsWithErrno(EPERM));
}

TEST(FutexTest, PiLockFreeWithTimeout) {
    uint32_t word = 0;
    timespec deadline = AfterNow(CLOCK_REALTIME, 100000000);
    EXPECT_THAT(Futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, &deadline), SyscallSucceedsWithValue(0));
    EXPECT_EQ(word, static_cast<uint32_t>(Gettid()));
    EXPECT_THAT(Futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0), SyscallSucceedsWithValue(0));
}

TEST(FutexTest, PiOwnerDiedBitIsKept) {
    uint32_t word = FUTEX_OWNER_DIED;
    EXPECT_THAT(Futex(&word, FUTEX_TRYLOCK_PI_PRIVATE, 0), SyscallSucceedsWithValue(0));
    EXPECT_EQ(word, FUTEX_OWNER_DIED | static_cast<uint32_t>(Gettid()));
    // Unlocking with no waiters drops it.
    EXPECT_THAT(Futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0), SyscallSucceedsWithValue(0));
    EXPECT_EQ(word, 0u);
}

TEST(FutexTest, PiUnlockByNonOwnerIsEperm) {
    uint32_t word = static_cast<uint32_t>(Gettid()) + 1;
    EXPECT_THAT(Futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0), SyscallFailsWithErrno(EPERM));
}

TEST(FutexTest, PiLockOfDeadOwnerIsEsrch) {
    // No task has this TID: the waiters bit is set, then the owner check fails.
    uint32_t word = 0x3ffffff0;
    EXPECT_THAT(Futex(&word, FUTEX_TRYLOCK_PI_PRIVATE, 0), SyscallFailsWithErrno(ESRCH));
    EXPECT_EQ(word, 0x3ffffff0u | FUTEX_WAITERS);
    EXPECT_THAT(Futex(&word, FUTEX_LOCK_PI_PRIVATE, 0), SyscallFailsWithErrno(ESRCH));
}

TEST(FutexTest, PiBadAddress) {
    EXPECT_THAT(Futex(kNullAddr, FUTEX_LOCK_PI_PRIVATE, 0), SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(Futex(kNullAddr, FUTEX_UNLOCK_PI_PRIVATE, 0), SyscallFailsWithErrno(EFAULT));
    alignas(8) uint32_t words[2] = {0, 0};
    EXPECT_THAT(Futex(reinterpret_cast<char*>(words) + 2, FUTEX_TRYLOCK_PI_PRIVATE, 0), SyscallFailsWithErrno(EINVAL));
}

TEST(FutexTest, RequeuePiArgumentChecks) {
    uint32_t a = 0, b = 0;
    EXPECT_THAT(FutexVal2(&a, FUTEX_CMP_REQUEUE_PI_PRIVATE, 2, 1, &b, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(FutexVal2(&a, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, 1, &a, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(FutexVal2(&a, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, 1, &b, 1), SyscallFailsWithErrno(EAGAIN));
    EXPECT_THAT(FutexVal2(&a, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, 1, &b, 0), SyscallSucceedsWithValue(0));
    EXPECT_THAT(Futex(&a, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, &kOneMs, &a, FUTEX_BITSET_MATCH_ANY),
                SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(Futex(&a, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 1, nullptr, &b, FUTEX_BITSET_MATCH_ANY),
                SyscallFailsWithErrno(EAGAIN));
    timespec deadline = AfterNow(CLOCK_MONOTONIC, 1000000);
    EXPECT_THAT(Futex(&a, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, &deadline, &b, FUTEX_BITSET_MATCH_ANY),
                SyscallFailsWithErrno(ETIMEDOUT));
}

// ---- futex_waitv ----

constexpr uint32_t kWaitv32 = 0x02;  // FUTEX2_SIZE_U32

long Waitv(futex_waitv* waiters, unsigned n, unsigned flags, const timespec* timeout, clockid_t clock) {
    return syscall(SYS_futex_waitv, waiters, n, flags, timeout, clock);
}

TEST(FutexWaitvTest, ArgumentChecks) {
    uint32_t a = 0, b = 0;
    futex_waitv w[2] = {};
    w[0] = {0, reinterpret_cast<uint64_t>(&a), kWaitv32 | FUTEX_PRIVATE_FLAG, 0};
    w[1] = {0, reinterpret_cast<uint64_t>(&b), kWaitv32 | FUTEX_PRIVATE_FLAG, 0};
    timespec soon = AfterNow(CLOCK_MONOTONIC, 1000000);
    EXPECT_THAT(Waitv(w, 2, 1, &soon, CLOCK_MONOTONIC), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(Waitv(w, 0, 0, &soon, CLOCK_MONOTONIC), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(Waitv(w, 129, 0, &soon, CLOCK_MONOTONIC), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(Waitv(nullptr, 2, 0, &soon, CLOCK_MONOTONIC), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(Waitv(w, 2, 0, &soon, CLOCK_BOOTTIME), SyscallFailsWithErrno(EINVAL));
    futex_waitv bad = w[1];
    bad.__reserved = 1;
    futex_waitv pair[2] = {w[0], bad};
    EXPECT_THAT(Waitv(pair, 2, 0, &soon, CLOCK_MONOTONIC), SyscallFailsWithErrno(EINVAL));
    pair[1] = w[1];
    pair[1].flags = FUTEX_PRIVATE_FLAG;  // size u8: unsupported
    EXPECT_THAT(Waitv(pair, 2, 0, &soon, CLOCK_MONOTONIC), SyscallFailsWithErrno(EINVAL));
    pair[1] = w[1];
    pair[1].val = 1;
    EXPECT_THAT(Waitv(pair, 2, 0, &soon, CLOCK_MONOTONIC), SyscallFailsWithErrno(EAGAIN));
    EXPECT_THAT(Waitv(w, 2, 0, &soon, CLOCK_MONOTONIC), SyscallFailsWithErrno(ETIMEDOUT));
    timespec real = AfterNow(CLOCK_REALTIME, 1000000);
    EXPECT_THAT(Waitv(w, 2, 0, &real, CLOCK_REALTIME), SyscallFailsWithErrno(ETIMEDOUT));
}

TEST(FutexWaitvThreadTest, ReturnsTheWokenIndex) {
    std::atomic<uint32_t> a{0}, b{0};
    std::atomic<long> result{-2};
    std::thread waiter([&] {
        futex_waitv w[2] = {};
        w[0] = {0, reinterpret_cast<uint64_t>(&a), kWaitv32 | FUTEX_PRIVATE_FLAG, 0};
        w[1] = {0, reinterpret_cast<uint64_t>(&b), kWaitv32 | FUTEX_PRIVATE_FLAG, 0};
        result = Waitv(w, 2, 0, nullptr, 0);
    });
    while (result.load() == -2) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        Futex(&b, FUTEX_WAKE_PRIVATE, 1);
    }
    waiter.join();
    EXPECT_EQ(result.load(), 1);
}

// ---- With threads ----

// How many threads sleep on the private futex `word` (holding `value`): a FUTEX_CMP_REQUEUE
// onto the same futex that wakes none "requeues" every waiter in place and counts them.
long Waiters(void* word, uint32_t value) {
    return FutexVal2(word, FUTEX_CMP_REQUEUE_PRIVATE, 0, INT32_MAX, word, value);
}

// Waits (up to 10 s) until `n` threads sleep on `word`: thread start-up may be slow.
void WaitForWaiters(void* word, uint32_t value, long n) {
    for (int i = 0; i < 10000 && Waiters(word, value) < n; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_EQ(Waiters(word, value), n);
}

// A head start for a waiter in tests that stay correct however late it is.
void LetThemSleep() { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }

TEST(FutexThreadTest, WaitIsWokenByWake) {
    std::atomic<uint32_t> word{0};
    std::atomic<bool> done{false};
    std::thread waiter([&] {
        while (word.load() == 0)
            syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0);
        done = true;
    });
    LetThemSleep();
    word = 1;
    long woken = 0;
    while (!done.load())
        woken += Futex(&word, FUTEX_WAKE_PRIVATE, 1);
    waiter.join();
    EXPECT_LE(woken, 1);
}

TEST(FutexThreadTest, WakeWakesAtMostCount) {
    std::atomic<uint32_t> word{0};
    std::atomic<int> returned{0};
    std::vector<std::thread> waiters;
    for (int i = 0; i < 3; ++i)
        waiters.emplace_back([&] {
            syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0);
            ++returned;
        });
    WaitForWaiters(&word, 0, 3);
    EXPECT_THAT(Futex(&word, FUTEX_WAKE_PRIVATE, 2), SyscallSucceedsWithValue(2));
    WaitForWaiters(&word, 0, 1);
    for (int i = 0; i < 10000 && returned.load() < 2; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(returned.load(), 2);
    EXPECT_THAT(Futex(&word, FUTEX_WAKE_PRIVATE, INT32_MAX), SyscallSucceedsWithValue(1));
    for (auto& t : waiters)
        t.join();
}

TEST(FutexThreadTest, BitsetSelectsWaiters) {
    std::atomic<uint32_t> word{0};
    std::atomic<int> which{0};
    std::thread a([&] {
        syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE, 0, nullptr, nullptr, 0x1);
        which |= 1;
    });
    std::thread b([&] {
        syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE, 0, nullptr, nullptr, 0x2);
        which |= 2;
    });
    WaitForWaiters(&word, 0, 2);
    EXPECT_THAT(Futex(&word, FUTEX_WAKE_BITSET_PRIVATE, INT32_MAX, nullptr, nullptr, 0x2),
                SyscallSucceedsWithValue(1));
    b.join();
    EXPECT_EQ(which.load(), 2);
    EXPECT_THAT(Futex(&word, FUTEX_WAKE_BITSET_PRIVATE, INT32_MAX, nullptr, nullptr, 0x1),
                SyscallSucceedsWithValue(1));
    a.join();
}

TEST(FutexThreadTest, CmpRequeueMovesWaiters) {
    std::atomic<uint32_t> from{0}, to{0};
    std::vector<std::thread> waiters;
    for (int i = 0; i < 3; ++i)
        waiters.emplace_back([&] { syscall(SYS_futex, &from, FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0); });
    WaitForWaiters(&from, 0, 3);
    // Wake one, move one, leave one.
    EXPECT_THAT(FutexVal2(&from, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, &to, 0), SyscallSucceedsWithValue(2));
    EXPECT_EQ(Waiters(&to, 0), 1);
    EXPECT_EQ(Waiters(&from, 0), 1);
    EXPECT_THAT(Futex(&to, FUTEX_WAKE_PRIVATE, INT32_MAX), SyscallSucceedsWithValue(1));
    EXPECT_THAT(Futex(&from, FUTEX_WAKE_PRIVATE, INT32_MAX), SyscallSucceedsWithValue(1));
    for (auto& t : waiters)
        t.join();
}

TEST(FutexThreadTest, WakeOpWakesBothWhenTheComparisonHolds) {
    std::atomic<uint32_t> a{0}, b{0};
    std::thread wa([&] { syscall(SYS_futex, &a, FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0); });
    std::thread wb([&] { syscall(SYS_futex, &b, FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0); });
    WaitForWaiters(&a, 0, 1);
    WaitForWaiters(&b, 0, 1);
    // b: 0 → 1, old value 0 == 0: wake on b too.
    EXPECT_THAT(FutexVal2(&a, FUTEX_WAKE_OP_PRIVATE, 1, 1, &b, FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0)),
                SyscallSucceedsWithValue(2));
    EXPECT_EQ(b.load(), 1u);
    wa.join();
    wb.join();
}

TEST(FutexThreadTest, PiMutexContention) {
    std::atomic<uint32_t> lock{0};
    long counter = 0;
    auto worker = [&] {
        uint32_t tid = static_cast<uint32_t>(syscall(SYS_gettid));
        for (int i = 0; i < 300; ++i) {
            uint32_t expected = 0;
            if (!lock.compare_exchange_strong(expected, tid)) {
                ASSERT_EQ(syscall(SYS_futex, &lock, FUTEX_LOCK_PI_PRIVATE, 0, nullptr, nullptr, 0), 0);
            }
            ASSERT_EQ(lock.load() & FUTEX_TID_MASK, tid);
            ++counter;
            expected = tid;
            if (!lock.compare_exchange_strong(expected, 0)) {
                ASSERT_EQ(syscall(SYS_futex, &lock, FUTEX_UNLOCK_PI_PRIVATE, 0, nullptr, nullptr, 0), 0);
            }
        }
    };
    std::thread t1(worker), t2(worker);
    t1.join();
    t2.join();
    EXPECT_EQ(counter, 600);
    EXPECT_EQ(lock.load(), 0u);
}

struct RobustHead {
    void* next;
    long futex_offset;
    void* list_op_pending;
};
struct RobustEntry {
    void* next;
    uint32_t futex;
};

TEST(FutexThreadTest, RobustListMarksOwnerDied) {
    RobustEntry entry{};
    RobustHead head{};
    std::atomic<uint32_t> dead_tid{0};
    std::thread owner([&] {
        uint32_t tid = static_cast<uint32_t>(syscall(SYS_gettid));
        // This thread holds the futex (its TID) and has waiters; its robust list names it.
        entry.futex = tid | FUTEX_WAITERS;
        entry.next = &head;
        head.next = &entry;
        head.futex_offset = offsetof(RobustEntry, futex);
        head.list_op_pending = nullptr;
        ASSERT_EQ(syscall(SYS_set_robust_list, &head, sizeof(head)), 0);
        dead_tid = tid;
    });
    owner.join();
    ASSERT_NE(dead_tid.load(), 0u);
    EXPECT_EQ(entry.futex, FUTEX_WAITERS | FUTEX_OWNER_DIED);
}

TEST(FutexThreadTest, ClearChildTidWakesJoiner) {
    // pthread_join waits on the thread's clear_child_tid word: the exit must clear and wake it.
    for (int i = 0; i < 5; ++i) {
        std::thread t([] {});
        t.join();
    }
    SUCCEED();
}

// ---- With fork ----

TEST(FutexForkTest, SharedMappingFutexCrossesProcesses) {
    Mapping shared(PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
    ASSERT_TRUE(shared.ok());
    auto* word = reinterpret_cast<std::atomic<uint32_t>*>(shared.addr());
    word->store(0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        while (word->load() == 0)
            syscall(SYS_futex, word, FUTEX_WAIT, 0, nullptr, nullptr, 0);  // shared key
        _exit(word->load() == 1 ? 0 : 1);
    }
    LetThemSleep();
    word->store(1);
    int status = 0;
    while (waitpid(child, &status, WNOHANG) == 0) {
        Futex(word, FUTEX_WAKE, 1);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
}  // namespace moat::conformance
