// sethostname(2) / setdomainname(2): the names uname, gethostname and /proc/sys/kernel show,
// EPERM without CAP_SYS_ADMIN (checked first), EINVAL over 64 bytes, EFAULT. Natively the
// changes happen in a child's new UTS namespace so the host keeps its names; under Moat the
// names are the sandbox's own (unshare is not needed there).

#include "tests/conformance/netlink_util.h"
#include "tests/conformance/process_util.h"
#include "tests/conformance/syscall_matchers.h"
#include "tests/conformance/test_util.h"

#include <sched.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

// Runs `fn` in a child with a UTS namespace of its own (natively); its exit code is the result.
template <typename Fn>
int InOwnUts(Fn fn) {
    pid_t pid = ForkAndRun([&] {
        if (!UnderMoat() && unshare(CLONE_NEWUTS) != 0)
            return 99;
        return fn();
    });
    return WaitStatus(pid);
}

std::string Nodename() {
    utsname u{};
    uname(&u);
    return u.nodename;
}

TEST(HostnameTest, SetIsSeenEverywhere) {
    std::string before = Nodename();
    int status = InOwnUts([] {
        const char name[] = "moat-conformance";
        if (syscall(SYS_sethostname, name, strlen(name)) != 0)
            return 1;
        if (Nodename() != name)
            return 2;
        char buf[65] = {};
        if (gethostname(buf, sizeof(buf)) != 0 || std::string(buf) != name)
            return 3;
        if (ReadWholeFile("/proc/sys/kernel/hostname") != std::string(name) + "\n")
            return 4;
        // Exactly 64 bytes fit; the length counts, not a NUL.
        std::string max(64, 'h');
        if (syscall(SYS_sethostname, max.data(), 64L) != 0 || Nodename() != max)
            return 5;
        if (syscall(SYS_sethostname, "abcdef", 3L) != 0 || Nodename() != "abc")
            return 6;
        if (syscall(SYS_sethostname, "", 0L) != 0 || !Nodename().empty())
            return 7;
        const char dom[] = "example.test";
        if (syscall(SYS_setdomainname, dom, strlen(dom)) != 0)
            return 8;
        utsname u{};
        uname(&u);
        if (std::string(u.domainname) != dom)
            return 9;
        if (ReadWholeFile("/proc/sys/kernel/domainname") != std::string(dom) + "\n")
            return 10;
        return 0;
    });
    EXPECT_EQ(status, 0);
    if (UnderMoat()) {
        // The sandbox shares one UTS namespace: put the name back.
        ASSERT_THAT(syscall(SYS_sethostname, before.data(), static_cast<long>(before.size())), SyscallSucceeds());
        ASSERT_THAT(syscall(SYS_setdomainname, "(none)", 6L), SyscallSucceeds());
    }
    EXPECT_EQ(Nodename(), before);
}

TEST(HostnameTest, BadArguments) {
    int status = InOwnUts([] {
        std::string big(65, 'x');
        for (long nr : {long{SYS_sethostname}, long{SYS_setdomainname}}) {
            if (syscall(nr, big.data(), 65L) != -1 || errno != EINVAL)
                return 1;
            if (syscall(nr, big.data(), -1L) != -1 || errno != EINVAL)
                return 2;
            if (syscall(nr, nullptr, 4L) != -1 || errno != EFAULT)
                return 3;
        }
        return 0;
    });
    EXPECT_EQ(status, 0);
}

TEST(HostnameTest, UnprivilegedIsPermissionDenied) {
    std::string before = Nodename();
    int status = InOwnUts([] {
        if (getuid() == 0 && setresuid(65534, 65534, 65534) != 0)
            return 10;
        // EPERM comes before the length check.
        std::string big(1000, 'x');
        for (long nr : {long{SYS_sethostname}, long{SYS_setdomainname}}) {
            if (syscall(nr, "x", 1L) != -1 || errno != EPERM)
                return 1;
            if (syscall(nr, big.data(), 1000L) != -1 || errno != EPERM)
                return 2;
        }
        return 0;
    });
    EXPECT_EQ(status, 0);
    EXPECT_EQ(Nodename(), before);
}

TEST(HostnameTest, SandboxDefault) {
    if (!UnderMoat())
        GTEST_SKIP() << "the host's name is the host's";
    EXPECT_EQ(Nodename(), "moat");
    utsname u{};
    uname(&u);
    EXPECT_STREQ(u.domainname, "(none)");
}

}  // namespace
}  // namespace moat::conformance
