// Conformance: credentials and process ids. The sandbox's identity may differ from the host's, so
// only the relations Linux guarantees are checked, never the values.

#include "tests/conformance/test_util.h"

#include <grp.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

using ::testing::Ge;
using ::testing::Gt;

TEST(IdsTest, UidsAgreeWithGetresuid) {
    uid_t r = 1, e = 1, s = 1;
    ASSERT_THAT(syscall(SYS_getresuid, &r, &e, &s), SyscallSucceedsWithValue(0));
    EXPECT_EQ(syscall(SYS_getuid), static_cast<long>(r));
    EXPECT_EQ(syscall(SYS_geteuid), static_cast<long>(e));
    // Nothing here changes ids, and a freshly exec'd non-setuid program has all three equal.
    EXPECT_EQ(r, e);
    EXPECT_EQ(e, s);
    EXPECT_NE(r, static_cast<uid_t>(-1));
}

TEST(IdsTest, GidsAgreeWithGetresgid) {
    gid_t r = 1, e = 1, s = 1;
    ASSERT_THAT(syscall(SYS_getresgid, &r, &e, &s), SyscallSucceedsWithValue(0));
    EXPECT_EQ(syscall(SYS_getgid), static_cast<long>(r));
    EXPECT_EQ(syscall(SYS_getegid), static_cast<long>(e));
    EXPECT_EQ(r, e);
    EXPECT_EQ(e, s);
    EXPECT_NE(r, static_cast<gid_t>(-1));
}

TEST(IdsTest, LibcAndRawAgree) {
    EXPECT_EQ(static_cast<long>(getuid()), syscall(SYS_getuid));
    EXPECT_EQ(static_cast<long>(geteuid()), syscall(SYS_geteuid));
    EXPECT_EQ(static_cast<long>(getgid()), syscall(SYS_getgid));
    EXPECT_EQ(static_cast<long>(getegid()), syscall(SYS_getegid));
}

TEST(IdsTest, Getgroups) {
    long const n = syscall(SYS_getgroups, 0, nullptr);
    ASSERT_THAT(n, Ge(0));
    ASSERT_LE(n, 65536);
    std::vector<gid_t> groups(static_cast<size_t>(n) + 1, static_cast<gid_t>(-2));
    EXPECT_THAT(syscall(SYS_getgroups, n + 1, groups.data()), SyscallSucceedsWithValue(n));
    // Exactly n entries were written.
    EXPECT_EQ(groups[static_cast<size_t>(n)], static_cast<gid_t>(-2));
    if (n > 0) {
        EXPECT_THAT(syscall(SYS_getgroups, n - 1, groups.data()), SyscallFailsWithErrno(EINVAL));
        EXPECT_THAT(syscall(SYS_getgroups, n, kLowAddr), SyscallFailsWithErrno(EFAULT));
    }
    EXPECT_THAT(syscall(SYS_getgroups, -1, groups.data()), SyscallFailsWithErrno(EINVAL));
    EXPECT_EQ(getgroups(0, nullptr), n);
}

TEST(IdsTest, SettingOwnIdsIsAllowedAndChangesNothing) {
    uid_t const uid = getuid();
    gid_t const gid = getgid();
    EXPECT_THAT(syscall(SYS_setresuid, -1, -1, -1), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_setresgid, -1, -1, -1), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_setreuid, uid, uid), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_setregid, gid, gid), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_setuid, uid), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_setgid, gid), SyscallSucceeds());
    EXPECT_EQ(getuid(), uid);
    EXPECT_EQ(geteuid(), uid);
    EXPECT_EQ(getgid(), gid);
    EXPECT_EQ(getegid(), gid);
    // setfsuid returns the previous fsuid, which is the euid.
    EXPECT_EQ(syscall(SYS_setfsuid, -1), static_cast<long>(uid));
    EXPECT_EQ(syscall(SYS_setfsgid, -1), static_cast<long>(gid));
}

TEST(IdsTest, ProcessIds) {
    long const pid = syscall(SYS_getpid);
    EXPECT_THAT(pid, Gt(0));
    EXPECT_EQ(getpid(), pid);
    // Single-threaded: the thread id is the process id.
    EXPECT_EQ(syscall(SYS_gettid), pid);
    EXPECT_THAT(syscall(SYS_getppid), Ge(0));
    EXPECT_NE(syscall(SYS_getppid), pid);
    // The caller's process group and session exist. Either may be 0 when its leader lives outside
    // the caller's PID namespace (as in a container whose session began on the host).
    EXPECT_THAT(syscall(SYS_getpgid, 0), SyscallSucceedsWithValue(Ge(0)));
    EXPECT_EQ(syscall(SYS_getpgid, 0), syscall(SYS_getpgrp));
    EXPECT_EQ(syscall(SYS_getpgid, pid), syscall(SYS_getpgid, 0));
    EXPECT_THAT(syscall(SYS_getsid, 0), SyscallSucceedsWithValue(Ge(0)));
    EXPECT_EQ(syscall(SYS_getsid, pid), syscall(SYS_getsid, 0));
    // No such process.
    EXPECT_THAT(syscall(SYS_getpgid, 0x3fffffff), SyscallFailsWithErrno(ESRCH));
    EXPECT_THAT(syscall(SYS_getsid, 0x3fffffff), SyscallFailsWithErrno(ESRCH));
    EXPECT_THAT(syscall(SYS_getpgid, -1), SyscallFailsWithErrno(ESRCH));
}

}  // namespace
}  // namespace moat::conformance
