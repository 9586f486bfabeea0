// Conformance: openat2(2) — struct open_how validation and the RESOLVE_* restrictions, on
// host paths every Debian system has (/etc/os-release is a relative symlink, /proc a mount).

#include "tests/conformance/test_util.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

long Openat2(int dirfd, const char* path, uint64_t flags, uint64_t resolve, uint64_t mode = 0,
             size_t size = sizeof(open_how)) {
    struct {
        open_how how;
        uint64_t extra;
    } arg{};
    arg.how.flags = flags;
    arg.how.mode = mode;
    arg.how.resolve = resolve;
    return syscall(SYS_openat2, dirfd, path, &arg, size);
}

// The (st_dev, st_ino) of an fd, to check where an open landed.
std::pair<dev_t, ino_t> IdOf(int fd) {
    struct stat st {};
    fstat(fd, &st);
    return {st.st_dev, st.st_ino};
}

std::pair<dev_t, ino_t> IdOf(const char* path) {
    struct stat st {};
    stat(path, &st);
    return {st.st_dev, st.st_ino};
}

TEST(Openat2Test, PlainOpenWorks) {
    Fd fd(static_cast<int>(Openat2(AT_FDCWD, "/usr/lib/os-release", O_RDONLY | O_CLOEXEC, 0)));
    ASSERT_GE(fd.get(), 0) << strerror(errno);
    EXPECT_EQ(IdOf(fd.get()), IdOf("/usr/lib/os-release"));
}

TEST(Openat2Test, HowValidation) {
    EXPECT_THAT(Openat2(AT_FDCWD, "/", O_RDONLY, 0, 0, 8), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(Openat2(AT_FDCWD, "/", O_RDONLY, 0x40), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(Openat2(AT_FDCWD, "/", O_RDONLY, RESOLVE_BENEATH | RESOLVE_IN_ROOT), SyscallFailsWithErrno(EINVAL));
    // A mode without O_CREAT/O_TMPFILE, or with bits beyond 07777.
    EXPECT_THAT(Openat2(AT_FDCWD, "/", O_RDONLY, 0, 0644), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(Openat2(AT_FDCWD, "/nonexistent-dir/x", O_CREAT | O_WRONLY, 0, 010000), SyscallFailsWithErrno(EINVAL));
    // Unknown flag bits are EINVAL here (open(2) ignores them).
    EXPECT_THAT(Openat2(AT_FDCWD, "/", O_RDONLY | (1u << 30), 0), SyscallFailsWithErrno(EINVAL));
    // A larger struct with zero tail is fine; with a non-zero tail E2BIG.
    EXPECT_GE(Fd(static_cast<int>(Openat2(AT_FDCWD, "/", O_RDONLY, 0, 0, sizeof(open_how) + 8))).get(), 0);
    struct {
        open_how how;
        uint64_t extra;
    } big{};
    big.extra = 1;
    EXPECT_THAT(syscall(SYS_openat2, AT_FDCWD, "/", &big, sizeof(big)), SyscallFailsWithErrno(E2BIG));
    EXPECT_THAT(syscall(SYS_openat2, AT_FDCWD, "/", nullptr, sizeof(open_how)), SyscallFailsWithErrno(EFAULT));
}

TEST(Openat2Test, ResolveNoSymlinks) {
    EXPECT_THAT(Openat2(AT_FDCWD, "/etc/os-release", O_RDONLY, RESOLVE_NO_SYMLINKS), SyscallFailsWithErrno(ELOOP));
    Fd fd(static_cast<int>(Openat2(AT_FDCWD, "/usr/lib/os-release", O_RDONLY, RESOLVE_NO_SYMLINKS)));
    EXPECT_GE(fd.get(), 0);
}

TEST(Openat2Test, ResolveBeneath) {
    Fd etc(open("/etc", O_RDONLY | O_DIRECTORY));
    ASSERT_GE(etc.get(), 0);
    // os-release points at ../usr/lib/os-release: outside /etc.
    EXPECT_THAT(Openat2(etc.get(), "os-release", O_RDONLY, RESOLVE_BENEATH), SyscallFailsWithErrno(EXDEV));
    EXPECT_THAT(Openat2(etc.get(), "../etc/hostname", O_RDONLY, RESOLVE_BENEATH), SyscallFailsWithErrno(EXDEV));
    EXPECT_THAT(Openat2(etc.get(), "/etc/hostname", O_RDONLY, RESOLVE_BENEATH), SyscallFailsWithErrno(EXDEV));
    Fd ok(static_cast<int>(Openat2(etc.get(), "./", O_RDONLY, RESOLVE_BENEATH)));
    EXPECT_GE(ok.get(), 0);
}

TEST(Openat2Test, ResolveInRootClampsAbsoluteAndDotDot) {
    Fd usr(open("/usr", O_RDONLY | O_DIRECTORY));
    ASSERT_GE(usr.get(), 0);
    Fd a(static_cast<int>(Openat2(usr.get(), "/lib/os-release", O_RDONLY, RESOLVE_IN_ROOT)));
    ASSERT_GE(a.get(), 0) << strerror(errno);
    EXPECT_EQ(IdOf(a.get()), IdOf("/usr/lib/os-release"));
    Fd b(static_cast<int>(Openat2(usr.get(), "../../lib/os-release", O_RDONLY, RESOLVE_IN_ROOT)));
    ASSERT_GE(b.get(), 0);
    EXPECT_EQ(IdOf(b.get()), IdOf("/usr/lib/os-release"));
}

TEST(Openat2Test, ResolveNoXdev) {
    Fd root(open("/", O_RDONLY | O_DIRECTORY));
    EXPECT_THAT(Openat2(root.get(), "proc/self", O_RDONLY, RESOLVE_NO_XDEV), SyscallFailsWithErrno(EXDEV));
    Fd proc(open("/proc", O_RDONLY | O_DIRECTORY));
    EXPECT_THAT(Openat2(proc.get(), "..", O_RDONLY, RESOLVE_NO_XDEV), SyscallFailsWithErrno(EXDEV));
    Fd usr(static_cast<int>(Openat2(root.get(), "usr", O_RDONLY, RESOLVE_NO_XDEV)));
    EXPECT_GE(usr.get(), 0);
}

}  // namespace
}  // namespace moat::conformance
