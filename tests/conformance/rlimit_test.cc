// Conformance: getrlimit(2), setrlimit(2), prlimit64(2), and that the limits are enforced.
// Hard limits are only lowered on resources nothing else in this process needs, and only
// raised back where the process holds CAP_SYS_RESOURCE (asked of capget, not assumed).

#include "tests/conformance/test_util.h"

#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

rlimit Get(int resource) {
    rlimit r{};
    EXPECT_THAT(syscall(SYS_getrlimit, resource, &r), SyscallSucceeds());
    return r;
}

bool HasCapSysResource() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (syscall(SYS_capget, &header, data) != 0) {
        ADD_FAILURE() << "capget failed: " << ErrnoName(errno);
        return false;
    }
    return (data[CAP_SYS_RESOURCE / 32].effective >> (CAP_SYS_RESOURCE % 32)) & 1;
}

// Puts a limit back when the test ends (soft only; see the file comment about hard limits).
class RestoreSoft {
public:
    explicit RestoreSoft(int resource) : m_resource(resource), m_saved(Get(resource)) {}
    ~RestoreSoft() {
        rlimit now = Get(m_resource);
        now.rlim_cur = std::min(m_saved.rlim_cur, now.rlim_max);
        setrlimit(m_resource, &now);
    }

private:
    int m_resource;
    rlimit m_saved;
};

TEST(RlimitTest, EveryResourceIsReadableAndSoftNotAboveHard) {
    for (int res = 0; res < RLIM_NLIMITS; ++res) {
        rlimit r{};
        ASSERT_THAT(syscall(SYS_getrlimit, res, &r), SyscallSucceeds()) << "resource " << res;
        EXPECT_LE(r.rlim_cur, r.rlim_max) << "resource " << res;
        rlimit p{};
        ASSERT_THAT(syscall(SYS_prlimit64, 0, res, nullptr, &p), SyscallSucceeds());
        EXPECT_EQ(p.rlim_cur, r.rlim_cur) << "resource " << res;
        EXPECT_EQ(p.rlim_max, r.rlim_max) << "resource " << res;
    }
}

TEST(RlimitTest, PrlimitOnOwnPidEqualsPidZero) {
    rlimit a{}, b{};
    ASSERT_THAT(syscall(SYS_prlimit64, 0, RLIMIT_STACK, nullptr, &a), SyscallSucceeds());
    ASSERT_THAT(syscall(SYS_prlimit64, getpid(), RLIMIT_STACK, nullptr, &b), SyscallSucceeds());
    EXPECT_EQ(a.rlim_cur, b.rlim_cur);
    EXPECT_EQ(a.rlim_max, b.rlim_max);
    EXPECT_THAT(syscall(SYS_prlimit64, 0x3fffffff, RLIMIT_STACK, nullptr, &b), SyscallFailsWithErrno(ESRCH));
}

TEST(RlimitTest, LowerSoftLimitRoundTrip) {
    RestoreSoft restore(RLIMIT_CORE);
    rlimit r = Get(RLIMIT_CORE);
    rlimit lowered{0, r.rlim_max};
    ASSERT_THAT(setrlimit(RLIMIT_CORE, &lowered), SyscallSucceeds());
    rlimit now = Get(RLIMIT_CORE);
    EXPECT_EQ(now.rlim_cur, 0u);
    EXPECT_EQ(now.rlim_max, r.rlim_max);
    // Raising the soft limit back up to the hard one is always allowed.
    rlimit raised{r.rlim_max, r.rlim_max};
    ASSERT_THAT(setrlimit(RLIMIT_CORE, &raised), SyscallSucceeds());
    EXPECT_EQ(Get(RLIMIT_CORE).rlim_cur, r.rlim_max);
}

TEST(RlimitTest, PrlimitSetsAndReturnsOldAtomically) {
    RestoreSoft restore(RLIMIT_NOFILE);
    rlimit const before = Get(RLIMIT_NOFILE);
    ASSERT_GE(before.rlim_cur, 64u);
    rlimit const wanted{64, before.rlim_max};
    rlimit old{};
    ASSERT_THAT(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &wanted, &old), SyscallSucceeds());
    EXPECT_EQ(old.rlim_cur, before.rlim_cur);
    EXPECT_EQ(old.rlim_max, before.rlim_max);
    EXPECT_EQ(Get(RLIMIT_NOFILE).rlim_cur, 64u);
}

TEST(RlimitTest, SoftAboveHardIsEinval) {
    rlimit const r = Get(RLIMIT_NOFILE);
    ASSERT_NE(r.rlim_max, RLIM_INFINITY);
    rlimit bad{r.rlim_max + 1, r.rlim_max};
    EXPECT_THAT(setrlimit(RLIMIT_NOFILE, &bad), SyscallFailsWithErrno(EINVAL));
    rlimit bad2{2, 1};
    EXPECT_THAT(syscall(SYS_prlimit64, 0, RLIMIT_CORE, &bad2, nullptr), SyscallFailsWithErrno(EINVAL));
    // Unchanged.
    EXPECT_EQ(Get(RLIMIT_NOFILE).rlim_cur, r.rlim_cur);
}

TEST(RlimitTest, BadResourceIsEinval) {
    rlimit r{};
    EXPECT_THAT(syscall(SYS_getrlimit, RLIM_NLIMITS, &r), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_getrlimit, 1000, &r), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_prlimit64, 0, RLIM_NLIMITS, nullptr, &r), SyscallFailsWithErrno(EINVAL));
    r = Get(RLIMIT_CORE);
    EXPECT_THAT(syscall(SYS_setrlimit, -1, &r), SyscallFailsWithErrno(EINVAL));
}

TEST(RlimitTest, NofileSoftLimitIsEnforced) {
    RestoreSoft restore(RLIMIT_NOFILE);
    rlimit r = Get(RLIMIT_NOFILE);
    r.rlim_cur = 16;
    ASSERT_THAT(setrlimit(RLIMIT_NOFILE, &r), SyscallSucceeds());
    Fd source(open("/etc/os-release", O_RDONLY));
    ASSERT_TRUE(source.ok());
    ASSERT_LT(source.get(), 16);
    std::vector<int> fds;
    int err = 0;
    for (int i = 0; i < 32; ++i) {
        int fd = dup(source.get());
        if (fd < 0) {
            err = errno;
            break;
        }
        fds.push_back(fd);
    }
    EXPECT_EQ(err, EMFILE) << ErrnoName(err);
    for (int fd : fds) EXPECT_LT(fd, 16);
    // Every slot below the limit was filled before the failure.
    EXPECT_THAT(fcntl(15, F_GETFD), SyscallSucceeds());
    // An explicit target at or above the limit is EBADF for dup2, EINVAL for F_DUPFD.
    EXPECT_THAT(dup2(source.get(), 16), SyscallFailsWithErrno(EBADF));
    EXPECT_THAT(fcntl(source.get(), F_DUPFD, 16), SyscallFailsWithErrno(EINVAL));
    for (int fd : fds) close(fd);
}

TEST(RlimitTest, AddressSpaceLimitIsEnforced) {
    RestoreSoft restore(RLIMIT_AS);
    rlimit r = Get(RLIMIT_AS);
    // This process already maps more than 1 MiB, so no new mapping fits. Raw syscalls only until
    // the limit is restored: malloc could fail in between.
    rlimit tiny{1 << 20, r.rlim_max};
    ASSERT_THAT(setrlimit(RLIMIT_AS, &tiny), SyscallSucceeds());
    long const addr = syscall(SYS_mmap, nullptr, 1 << 16, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int const err = errno;
    rlimit back{r.rlim_cur, r.rlim_max};
    ASSERT_THAT(setrlimit(RLIMIT_AS, &back), SyscallSucceeds());
    EXPECT_EQ(addr, -1);
    EXPECT_EQ(err, ENOMEM) << ErrnoName(err);
    // And with the limit restored, the same mapping works.
    long const again = syscall(SYS_mmap, nullptr, 1 << 16, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(again, -1);
    if (again != -1) munmap(reinterpret_cast<void*>(again), 1 << 16);
}

TEST(RlimitTest, RaisingHardLimitNeedsCapSysResource) {
    // RLIMIT_RTTIME is irrelevant to this process, so lowering its hard limit is harmless.
    rlimit const r = Get(RLIMIT_RTTIME);
    rlim_t const low = (r.rlim_max == RLIM_INFINITY ? 1'000'000 : r.rlim_max / 2);
    rlimit lowered{std::min(r.rlim_cur, low), low};
    ASSERT_THAT(setrlimit(RLIMIT_RTTIME, &lowered), SyscallSucceeds());
    EXPECT_EQ(Get(RLIMIT_RTTIME).rlim_max, low);
    rlimit raised{lowered.rlim_cur, low + 1};
    if (HasCapSysResource()) {
        EXPECT_THAT(setrlimit(RLIMIT_RTTIME, &raised), SyscallSucceeds());
        EXPECT_EQ(Get(RLIMIT_RTTIME).rlim_max, low + 1);
        // Put it back.
        EXPECT_THAT(setrlimit(RLIMIT_RTTIME, &r), SyscallSucceeds());
    } else {
        EXPECT_THAT(setrlimit(RLIMIT_RTTIME, &raised), SyscallFailsWithErrno(EPERM));
        EXPECT_EQ(Get(RLIMIT_RTTIME).rlim_max, low);
    }
}

TEST(RlimitTest, GetrusageSelf) {
    rusage ru{};
    ASSERT_THAT(syscall(SYS_getrusage, RUSAGE_SELF, &ru), SyscallSucceeds());
    EXPECT_GT(ru.ru_maxrss, 0);
    EXPECT_THAT(syscall(SYS_getrusage, 12345, &ru), SyscallFailsWithErrno(EINVAL));
}

}  // namespace
}  // namespace moat::conformance
