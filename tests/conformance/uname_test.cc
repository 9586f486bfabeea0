// Conformance: uname(2). Moat reports its own release by design, so only the format of `release`
// is checked; the fields every Linux/x86-64 kernel shares are compared exactly.

#include "tests/conformance/test_util.h"

#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstring>
#include <regex>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

TEST(UnameTest, FixedFields) {
    struct utsname u;
    ASSERT_THAT(syscall(SYS_uname, &u), SyscallSucceedsWithValue(0));
    EXPECT_STREQ(u.sysname, "Linux");
    EXPECT_STREQ(u.machine, "x86_64");
}

TEST(UnameTest, ReleaseLooksLikeAKernelVersion) {
    struct utsname u;
    ASSERT_THAT(uname(&u), SyscallSucceeds());
    // glibc and many programs parse "MAJOR.MINOR[.PATCH][anything]".
    EXPECT_TRUE(std::regex_search(u.release, std::regex("^[0-9]+\\.[0-9]+(\\.[0-9]+)?"))) << u.release;
    EXPECT_GT(strlen(u.version), 0u);
}

TEST(UnameTest, NodenameIsNonEmptyAndMatchesGethostname) {
    struct utsname u;
    ASSERT_THAT(uname(&u), SyscallSucceeds());
    EXPECT_GT(strlen(u.nodename), 0u);
    char host[sizeof u.nodename + 1] = {};
    ASSERT_THAT(gethostname(host, sizeof host), SyscallSucceeds());
    EXPECT_STREQ(host, u.nodename);
}

TEST(UnameTest, FieldsAreNulTerminated) {
    struct utsname u;
    memset(&u, 'X', sizeof u);
    ASSERT_THAT(uname(&u), SyscallSucceeds());
    for (char const* field : {u.sysname, u.nodename, u.release, u.version, u.machine, u.domainname}) {
        EXPECT_LT(strnlen(field, sizeof u.sysname), sizeof u.sysname);
    }
}

TEST(UnameTest, RepeatedCallsAgree) {
    struct utsname a, b;
    ASSERT_THAT(uname(&a), SyscallSucceeds());
    ASSERT_THAT(uname(&b), SyscallSucceeds());
    EXPECT_STREQ(a.release, b.release);
    EXPECT_STREQ(a.nodename, b.nodename);
    EXPECT_STREQ(a.version, b.version);
}

TEST(UnameTest, BadPointerIsEfault) {
    EXPECT_THAT(syscall(SYS_uname, kNullAddr), SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(syscall(SYS_uname, kLowAddr), SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(syscall(SYS_uname, kKernelAddr), SyscallFailsWithErrno(EFAULT));
}

}  // namespace
}  // namespace moat::conformance
