// Conformance: sched_getaffinity/sched_setaffinity, the scheduling policy and parameter calls,
// sched_get_priority_{max,min}, sched_rr_get_interval, getpriority/setpriority (the raw
// 20 - nice encoding) and membarrier. Changes are undone by each test.

#include "tests/conformance/test_util.h"

#include <linux/membarrier.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bitset>
#include <cstdint>
#include <cstring>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

using ::testing::AllOf;
using ::testing::Ge;
using ::testing::Le;

constexpr pid_t kNoSuchPid = 0x3ffffff0;

int CountBits(const uint64_t* words, size_t n) {
    int c = 0;
    for (size_t i = 0; i < n; ++i)
        c += std::bitset<64>(words[i]).count();
    return c;
}

TEST(SchedAffinityTest, GetReturnsTheBytesWritten) {
    uint64_t mask[16];
    std::memset(mask, 0xa5, sizeof(mask));
    long n = syscall(SYS_sched_getaffinity, 0, sizeof(mask), mask);
    ASSERT_THAT(n, SyscallSucceedsWithValue(AllOf(Ge(8), Le(static_cast<long>(sizeof(mask))))));
    EXPECT_EQ(n % 8, 0);
    int cpus = CountBits(mask, static_cast<size_t>(n) / 8);
    EXPECT_GE(cpus, 1);
    EXPECT_LE(cpus, sysconf(_SC_NPROCESSORS_ONLN));
    // Bytes past the returned size are untouched.
    if (static_cast<size_t>(n) < sizeof(mask)) {
        EXPECT_EQ(mask[n / 8], 0xa5a5a5a5a5a5a5a5ull);
    }
    // The same through glibc, and for our own pid.
    cpu_set_t set;
    ASSERT_THAT(sched_getaffinity(getpid(), sizeof(set), &set), SyscallSucceeds());
    EXPECT_EQ(CPU_COUNT(&set), cpus);
}

TEST(SchedAffinityTest, GetSizeChecks) {
    uint64_t mask[16];
    EXPECT_THAT(syscall(SYS_sched_getaffinity, 0, 0, mask), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_sched_getaffinity, 0, 4, mask), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_sched_getaffinity, 0, 12, mask), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_sched_getaffinity, kNoSuchPid, sizeof(mask), mask), SyscallFailsWithErrno(ESRCH));
    EXPECT_THAT(syscall(SYS_sched_getaffinity, 0, sizeof(mask), kLowAddr), SyscallFailsWithErrno(EFAULT));
}

TEST(SchedAffinityTest, SetRoundTrip) {
    uint64_t orig[16] = {};
    long n = syscall(SYS_sched_getaffinity, 0, sizeof(orig), orig);
    ASSERT_THAT(n, SyscallSucceeds());
    // Only the lowest allowed CPU.
    uint64_t one[16] = {};
    for (size_t w = 0; w < 16; ++w)
        if (orig[w]) {
            one[w] = orig[w] & -orig[w];
            break;
        }
    ASSERT_THAT(syscall(SYS_sched_setaffinity, 0, sizeof(one), one), SyscallSucceeds());
    uint64_t got[16] = {};
    ASSERT_THAT(syscall(SYS_sched_getaffinity, 0, sizeof(got), got), SyscallSucceedsWithValue(n));
    EXPECT_EQ(std::memcmp(got, one, static_cast<size_t>(n)), 0);
    ASSERT_THAT(syscall(SYS_sched_setaffinity, 0, sizeof(orig), orig), SyscallSucceeds());
}

TEST(SchedAffinityTest, SetNeedsAValidCpu) {
    uint64_t none[16] = {};
    EXPECT_THAT(syscall(SYS_sched_setaffinity, 0, sizeof(none), none), SyscallFailsWithErrno(EINVAL));
    // Only CPU 1023, which no test machine has.
    uint64_t high[16] = {};
    high[15] = 1ull << 63;
    EXPECT_THAT(syscall(SYS_sched_setaffinity, 0, sizeof(high), high), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_sched_setaffinity, 0, sizeof(none), kLowAddr), SyscallFailsWithErrno(EFAULT));
    uint64_t all[16];
    std::memset(all, 0xff, sizeof(all));
    EXPECT_THAT(syscall(SYS_sched_setaffinity, kNoSuchPid, sizeof(all), all), SyscallFailsWithErrno(ESRCH));
    // Extra CPUs the machine does not have are ignored.
    EXPECT_THAT(syscall(SYS_sched_setaffinity, 0, sizeof(all), all), SyscallSucceeds());
}

TEST(SchedPolicyTest, PriorityRanges) {
    EXPECT_THAT(syscall(SYS_sched_get_priority_max, SCHED_FIFO), SyscallSucceedsWithValue(99));
    EXPECT_THAT(syscall(SYS_sched_get_priority_min, SCHED_FIFO), SyscallSucceedsWithValue(1));
    EXPECT_THAT(syscall(SYS_sched_get_priority_max, SCHED_RR), SyscallSucceedsWithValue(99));
    EXPECT_THAT(syscall(SYS_sched_get_priority_min, SCHED_RR), SyscallSucceedsWithValue(1));
    for (int policy : {SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE}) {
        EXPECT_THAT(syscall(SYS_sched_get_priority_max, policy), SyscallSucceedsWithValue(0)) << policy;
        EXPECT_THAT(syscall(SYS_sched_get_priority_min, policy), SyscallSucceedsWithValue(0)) << policy;
    }
    for (int policy : {4, -1, 100}) {  // not 7: SCHED_EXT on 6.12+ hosts
        EXPECT_THAT(syscall(SYS_sched_get_priority_max, policy), SyscallFailsWithErrno(EINVAL)) << policy;
        EXPECT_THAT(syscall(SYS_sched_get_priority_min, policy), SyscallFailsWithErrno(EINVAL)) << policy;
    }
}

TEST(SchedPolicyTest, DefaultsAndErrors) {
    EXPECT_THAT(syscall(SYS_sched_getscheduler, 0), SyscallSucceedsWithValue(SCHED_OTHER));
    EXPECT_THAT(syscall(SYS_sched_getscheduler, getpid()), SyscallSucceedsWithValue(SCHED_OTHER));
    EXPECT_THAT(syscall(SYS_sched_getscheduler, -1), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_sched_getscheduler, kNoSuchPid), SyscallFailsWithErrno(ESRCH));
    sched_param p{};
    p.sched_priority = 42;
    ASSERT_THAT(syscall(SYS_sched_getparam, 0, &p), SyscallSucceeds());
    EXPECT_EQ(p.sched_priority, 0);
    EXPECT_THAT(syscall(SYS_sched_getparam, 0, nullptr), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_sched_getparam, -1, &p), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_sched_getparam, kNoSuchPid, &p), SyscallFailsWithErrno(ESRCH));
    EXPECT_THAT(syscall(SYS_sched_getparam, 0, kLowAddr), SyscallFailsWithErrno(EFAULT));
}

TEST(SchedPolicyTest, SetSchedulerChecks) {
    sched_param zero{}, one{};
    one.sched_priority = 1;
    sched_param hundred{};
    hundred.sched_priority = 100;
    EXPECT_THAT(syscall(SYS_sched_setscheduler, 0, 4, &zero), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_sched_setscheduler, 0, -1, &zero), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &one), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_sched_setscheduler, 0, SCHED_FIFO, &zero), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_sched_setscheduler, 0, SCHED_RR, &hundred), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_sched_setscheduler, 0, SCHED_DEADLINE, &zero), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, nullptr), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_sched_setscheduler, -1, SCHED_OTHER, &zero), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_sched_setscheduler, kNoSuchPid, SCHED_OTHER, &zero), SyscallFailsWithErrno(ESRCH));
    EXPECT_THAT(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, kLowAddr), SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(syscall(SYS_sched_setparam, 0, &one), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_sched_setparam, 0, &zero), SyscallSucceeds());
}

TEST(SchedPolicyTest, BatchIdleAndResetOnForkRoundTrip) {
    sched_param zero{};
    ASSERT_THAT(syscall(SYS_sched_setscheduler, 0, SCHED_BATCH, &zero), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_sched_getscheduler, 0), SyscallSucceedsWithValue(SCHED_BATCH));
    ASSERT_THAT(syscall(SYS_sched_setscheduler, 0, SCHED_IDLE | SCHED_RESET_ON_FORK, &zero), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_sched_getscheduler, 0), SyscallSucceedsWithValue(SCHED_IDLE | SCHED_RESET_ON_FORK));
    // sched_setparam keeps the policy and the flag.
    ASSERT_THAT(syscall(SYS_sched_setparam, 0, &zero), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_sched_getscheduler, 0), SyscallSucceedsWithValue(SCHED_IDLE | SCHED_RESET_ON_FORK));
    ASSERT_THAT(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &zero), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_sched_getscheduler, 0), SyscallSucceedsWithValue(SCHED_OTHER));
}

TEST(SchedPolicyTest, RealtimeForRoot) {
    sched_param prio{};
    prio.sched_priority = 5;
    if (geteuid() != 0) {
        rlimit rt{};
        ASSERT_THAT(getrlimit(RLIMIT_RTPRIO, &rt), SyscallSucceeds());
        if (rt.rlim_cur < 5) {
            EXPECT_THAT(syscall(SYS_sched_setscheduler, 0, SCHED_FIFO, &prio), SyscallFailsWithErrno(EPERM));
        }
        return;
    }
    ASSERT_THAT(syscall(SYS_sched_setscheduler, 0, SCHED_RR, &prio), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_sched_getscheduler, 0), SyscallSucceedsWithValue(SCHED_RR));
    sched_param got{};
    EXPECT_THAT(syscall(SYS_sched_getparam, 0, &got), SyscallSucceeds());
    EXPECT_EQ(got.sched_priority, 5);
    timespec ts{};
    EXPECT_THAT(syscall(SYS_sched_rr_get_interval, 0, &ts), SyscallSucceeds());
    EXPECT_GT(ts.tv_sec * 1000000000L + ts.tv_nsec, 0);
    sched_param zero{};
    ASSERT_THAT(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &zero), SyscallSucceeds());
}

TEST(SchedPolicyTest, RrGetInterval) {
    timespec ts{-1, -1};
    ASSERT_THAT(syscall(SYS_sched_rr_get_interval, 0, &ts), SyscallSucceeds());
    EXPECT_EQ(ts.tv_sec, 0);
    EXPECT_GE(ts.tv_nsec, 0);
    EXPECT_THAT(syscall(SYS_sched_rr_get_interval, -1, &ts), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_sched_rr_get_interval, kNoSuchPid, &ts), SyscallFailsWithErrno(ESRCH));
    EXPECT_THAT(syscall(SYS_sched_rr_get_interval, 0, kLowAddr), SyscallFailsWithErrno(EFAULT));
}

TEST(PriorityTest, RawEncodingIsTwentyMinusNice) {
    EXPECT_THAT(syscall(SYS_getpriority, PRIO_PROCESS, 0), SyscallSucceedsWithValue(20));
    EXPECT_THAT(syscall(SYS_getpriority, PRIO_PROCESS, getpid()), SyscallSucceedsWithValue(20));
    EXPECT_THAT(syscall(SYS_getpriority, PRIO_PGRP, 0), SyscallSucceedsWithValue(Ge(20)));
    EXPECT_THAT(syscall(SYS_getpriority, PRIO_USER, 0), SyscallSucceedsWithValue(Ge(20)));
    errno = 0;
    EXPECT_EQ(getpriority(PRIO_PROCESS, 0), 0);  // glibc turns it back into a nice value
    EXPECT_EQ(errno, 0);
}

TEST(PriorityTest, Errors) {
    EXPECT_THAT(syscall(SYS_getpriority, 3, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_getpriority, -1, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_getpriority, PRIO_PROCESS, kNoSuchPid), SyscallFailsWithErrno(ESRCH));
    EXPECT_THAT(syscall(SYS_getpriority, PRIO_PGRP, kNoSuchPid), SyscallFailsWithErrno(ESRCH));
    EXPECT_THAT(syscall(SYS_setpriority, 3, 0, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_setpriority, PRIO_PROCESS, kNoSuchPid, 0), SyscallFailsWithErrno(ESRCH));
}

TEST(PriorityTest, SetClampsAndRoundTrips) {
    ASSERT_THAT(syscall(SYS_setpriority, PRIO_PROCESS, 0, 5), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_getpriority, PRIO_PROCESS, 0), SyscallSucceedsWithValue(15));
    ASSERT_THAT(syscall(SYS_setpriority, PRIO_PROCESS, 0, 100), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_getpriority, PRIO_PROCESS, 0), SyscallSucceedsWithValue(1));
    if (geteuid() != 0) {
        EXPECT_THAT(syscall(SYS_setpriority, PRIO_PROCESS, 0, 0), SyscallFailsWithErrno(EACCES));
        return;
    }
    ASSERT_THAT(syscall(SYS_setpriority, PRIO_PROCESS, 0, -100), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_getpriority, PRIO_PROCESS, 0), SyscallSucceedsWithValue(40));
    ASSERT_THAT(syscall(SYS_setpriority, PRIO_PROCESS, 0, 0), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_getpriority, PRIO_PROCESS, 0), SyscallSucceedsWithValue(20));
}

TEST(MembarrierTest, QueryRegisterAndBarrier) {
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    ASSERT_THAT(cmds, SyscallSucceeds());
    for (int cmd : {MEMBARRIER_CMD_PRIVATE_EXPEDITED, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED})
        EXPECT_TRUE(cmds & cmd) << cmd;
    EXPECT_THAT(syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 1, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_membarrier, 1 << 20, 0, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0), SyscallFailsWithErrno(EPERM));
    ASSERT_THAT(syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0), SyscallSucceedsWithValue(0));
    EXPECT_THAT(syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0), SyscallSucceedsWithValue(0));
    if (cmds & MEMBARRIER_CMD_GLOBAL) {
        EXPECT_THAT(syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0), SyscallSucceedsWithValue(0));
    }
}

}  // namespace
}  // namespace moat::conformance
