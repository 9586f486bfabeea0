// Conformance: changing attributes and data placement — chmod/fchmod/fchmodat, chown family,
// truncate/ftruncate, utimensat/utimes/futimens, xattrs (user.*), fallocate, fsync family,
// lseek SEEK_DATA/SEEK_HOLE — in a fresh temporary directory.

#include "tests/conformance/process_util.h"
#include "tests/conformance/temp_dir.h"
#include "tests/conformance/test_util.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <grp.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

class AttrTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(m_dir.ok()); }
    std::string P(const std::string& name) const { return m_dir / name; }
    int Make(const std::string& name, const std::string& data = "") {
        int fd = open(P(name).c_str(), O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0 && !data.empty() && write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size()))
            return -1;
        return fd;
    }
    struct stat St(const std::string& name) {
        struct stat st {};
        EXPECT_THAT(lstat(P(name).c_str(), &st), SyscallSucceeds());
        return st;
    }
    TempDir m_dir;
};

TEST_F(AttrTest, ChmodChangesPermissionBitsOnly) {
    Fd fd(Make("f"));
    ASSERT_GE(fd.get(), 0);
    ASSERT_THAT(chmod(P("f").c_str(), 0751), SyscallSucceeds());
    EXPECT_EQ(St("f").st_mode, S_IFREG | 0751u);
    ASSERT_THAT(fchmod(fd.get(), 04700), SyscallSucceeds());
    EXPECT_EQ(St("f").st_mode, S_IFREG | 04700u);
    ASSERT_THAT(syscall(SYS_fchmodat, AT_FDCWD, P("f").c_str(), 0170644), SyscallSucceeds());
    EXPECT_EQ(St("f").st_mode, S_IFREG | 0644u);
    EXPECT_THAT(chmod(P("nope").c_str(), 0644), SyscallFailsWithErrno(ENOENT));
    Fd path_fd(open(P("f").c_str(), O_PATH));
    EXPECT_THAT(fchmod(path_fd.get(), 0600), SyscallFailsWithErrno(EBADF));
}

TEST_F(AttrTest, ChmodUpdatesCtime) {
    Fd fd(Make("f"));
    struct stat before = St("f");
    usleep(10000);
    ASSERT_THAT(chmod(P("f").c_str(), 0600), SyscallSucceeds());
    struct stat after = St("f");
    EXPECT_TRUE(after.st_ctim.tv_sec > before.st_ctim.tv_sec ||
                (after.st_ctim.tv_sec == before.st_ctim.tv_sec && after.st_ctim.tv_nsec > before.st_ctim.tv_nsec));
    EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
}

TEST_F(AttrTest, ChownByRootAndItsSetuidRule) {
    if (geteuid() != 0)
        GTEST_SKIP() << "chown to another user needs root";
    Fd fd(Make("f"));
    ASSERT_THAT(chmod(P("f").c_str(), 06755), SyscallSucceeds());
    ASSERT_THAT(chown(P("f").c_str(), 1234, 5678), SyscallSucceeds());
    struct stat st = St("f");
    EXPECT_EQ(st.st_uid, 1234u);
    EXPECT_EQ(st.st_gid, 5678u);
    // A changed owner drops set-user-ID and (group-executable) set-group-ID.
    EXPECT_EQ(st.st_mode & 07777, 0755u);
    ASSERT_THAT(fchown(fd.get(), -1, 42), SyscallSucceeds());
    EXPECT_EQ(St("f").st_uid, 1234u);
    EXPECT_EQ(St("f").st_gid, 42u);
    ASSERT_THAT(symlink("f", P("l").c_str()), SyscallSucceeds());
    ASSERT_THAT(lchown(P("l").c_str(), 7, 7), SyscallSucceeds());
    EXPECT_EQ(St("l").st_uid, 7u);
    EXPECT_EQ(St("f").st_uid, 1234u);
    EXPECT_THAT(syscall(SYS_fchownat, AT_FDCWD, P("f").c_str(), 1, 1, 0x8000), SyscallFailsWithErrno(EINVAL));
}

TEST_F(AttrTest, UnprivilegedChownAndChmodRules) {
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root to set up files of two users";
    Fd fd(Make("mine"));
    Fd other(Make("other"));
    ASSERT_THAT(chown(P("mine").c_str(), 65534, 65534), SyscallSucceeds());
    ASSERT_THAT(chmod(m_dir.path().c_str(), 0755), SyscallSucceeds());
    pid_t pid = ForkAndRun([&] {
        if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
            return 1;
        if (chmod(P("other").c_str(), 0777) != -1 || errno != EPERM)
            return 2;
        if (chmod(P("mine").c_str(), 0600) != 0)
            return 3;
        if (chown(P("mine").c_str(), 0, -1) != -1 || errno != EPERM)
            return 4;
        if (chown(P("mine").c_str(), 65534, 0) != -1 || errno != EPERM)
            return 5;
        if (chown(P("mine").c_str(), 65534, 65534) != 0)
            return 6;
        // Times: explicit values need ownership; "now" needs write permission.
        struct timespec ts[2] = {{1, 0}, {2, 0}};
        if (utimensat(AT_FDCWD, P("other").c_str(), ts, 0) != -1 || errno != EPERM)
            return 7;
        if (utimensat(AT_FDCWD, P("other").c_str(), nullptr, 0) != -1 || errno != EACCES)
            return 8;
        if (truncate(P("other").c_str(), 0) != -1 || errno != EACCES)
            return 9;
        return 0;
    });
    EXPECT_EQ(WaitStatus(pid), 0);
}

TEST_F(AttrTest, TruncateShrinksAndExtendsWithZeros) {
    Fd fd(Make("f", "hello world"));
    ASSERT_THAT(truncate(P("f").c_str(), 5), SyscallSucceeds());
    EXPECT_EQ(St("f").st_size, 5);
    ASSERT_THAT(ftruncate(fd.get(), 8), SyscallSucceeds());
    char buf[16] = {};
    EXPECT_THAT(pread(fd.get(), buf, sizeof(buf), 0), SyscallSucceedsWithValue(8));
    EXPECT_EQ(std::string(buf, 8), std::string("hello\0\0\0", 8));
    EXPECT_THAT(truncate(P("f").c_str(), -1), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(ftruncate(fd.get(), -1), SyscallFailsWithErrno(EINVAL));
    ASSERT_THAT(mkdir(P("d").c_str(), 0755), SyscallSucceeds());
    EXPECT_THAT(truncate(P("d").c_str(), 0), SyscallFailsWithErrno(EISDIR));
    Fd ro(open(P("f").c_str(), O_RDONLY));
    EXPECT_THAT(ftruncate(ro.get(), 0), SyscallFailsWithErrno(EINVAL));
    int p[2];
    ASSERT_THAT(pipe(p), SyscallSucceeds());
    EXPECT_THAT(ftruncate(p[1], 0), SyscallFailsWithErrno(EINVAL));
    close(p[0]);
    close(p[1]);
}

TEST_F(AttrTest, Utimensat) {
    Fd fd(Make("f"));
    struct timespec ts[2] = {{1000, 5}, {2000, 7}};
    ASSERT_THAT(utimensat(AT_FDCWD, P("f").c_str(), ts, 0), SyscallSucceeds());
    struct stat st = St("f");
    EXPECT_EQ(st.st_atim.tv_sec, 1000);
    EXPECT_EQ(st.st_atim.tv_nsec, 5);
    EXPECT_EQ(st.st_mtim.tv_sec, 2000);
    EXPECT_EQ(st.st_mtim.tv_nsec, 7);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {3000, 0}};
    ASSERT_THAT(futimens(fd.get(), omit), SyscallSucceeds());
    st = St("f");
    EXPECT_EQ(st.st_atim.tv_sec, 1000);
    EXPECT_EQ(st.st_mtim.tv_sec, 3000);
    ASSERT_THAT(utimensat(AT_FDCWD, P("f").c_str(), nullptr, 0), SyscallSucceeds());
    EXPECT_GT(St("f").st_mtim.tv_sec, 3000);
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    EXPECT_THAT(utimensat(AT_FDCWD, P("f").c_str(), bad, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_utimensat, AT_FDCWD, P("f").c_str(), nullptr, 0x4000), SyscallFailsWithErrno(EINVAL));
    struct timeval tv[2] = {{10, 0}, {20, 0}};
    ASSERT_THAT(utimes(P("f").c_str(), tv), SyscallSucceeds());
    EXPECT_EQ(St("f").st_mtim.tv_sec, 20);
    struct timeval badtv[2] = {{10, 1000000}, {20, 0}};
    EXPECT_THAT(utimes(P("f").c_str(), badtv), SyscallFailsWithErrno(EINVAL));
    ASSERT_THAT(symlink("f", P("l").c_str()), SyscallSucceeds());
    ASSERT_THAT(utimensat(AT_FDCWD, P("l").c_str(), ts, AT_SYMLINK_NOFOLLOW), SyscallSucceeds());
    EXPECT_EQ(St("l").st_mtim.tv_sec, 2000);
    EXPECT_EQ(St("f").st_mtim.tv_sec, 20);
}

TEST_F(AttrTest, UserXattrs) {
    Fd fd(Make("f"));
    ASSERT_THAT(setxattr(P("f").c_str(), "user.a", "one", 3, 0), SyscallSucceeds());
    char buf[64] = {};
    EXPECT_THAT(getxattr(P("f").c_str(), "user.a", buf, sizeof(buf)), SyscallSucceedsWithValue(3));
    EXPECT_EQ(std::string(buf, 3), "one");
    EXPECT_THAT(getxattr(P("f").c_str(), "user.a", nullptr, 0), SyscallSucceedsWithValue(3));
    EXPECT_THAT(getxattr(P("f").c_str(), "user.a", buf, 2), SyscallFailsWithErrno(ERANGE));
    EXPECT_THAT(getxattr(P("f").c_str(), "user.none", buf, sizeof(buf)), SyscallFailsWithErrno(ENODATA));
    EXPECT_THAT(setxattr(P("f").c_str(), "user.a", "x", 1, XATTR_CREATE), SyscallFailsWithErrno(EEXIST));
    EXPECT_THAT(setxattr(P("f").c_str(), "user.b", "x", 1, XATTR_REPLACE), SyscallFailsWithErrno(ENODATA));
    EXPECT_THAT(setxattr(P("f").c_str(), "user.b", "x", 1, 4), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(setxattr(P("f").c_str(), "", "x", 1, 0), SyscallFailsWithErrno(ERANGE));
    EXPECT_THAT(setxattr(P("f").c_str(), "nonamespace", "x", 1, 0), SyscallFailsWithErrno(EOPNOTSUPP));
    ASSERT_THAT(fsetxattr(fd.get(), "user.b", "two", 3, 0), SyscallSucceeds());
    char list[64] = {};
    ssize_t n = listxattr(P("f").c_str(), list, sizeof(list));
    ASSERT_GT(n, 0);
    std::string all(list, static_cast<size_t>(n));
    EXPECT_NE(all.find(std::string("user.a\0", 7)), std::string::npos);
    EXPECT_NE(all.find(std::string("user.b\0", 7)), std::string::npos);
    EXPECT_THAT(listxattr(P("f").c_str(), list, 1), SyscallFailsWithErrno(ERANGE));
    ASSERT_THAT(removexattr(P("f").c_str(), "user.a"), SyscallSucceeds());
    EXPECT_THAT(removexattr(P("f").c_str(), "user.a"), SyscallFailsWithErrno(ENODATA));
    // user.* on a symlink itself is not allowed.
    ASSERT_THAT(symlink("f", P("l").c_str()), SyscallSucceeds());
    EXPECT_THAT(lsetxattr(P("l").c_str(), "user.c", "x", 1, 0), SyscallFailsWithErrno(EPERM));
}

TEST_F(AttrTest, FallocateAndHoles) {
    Fd fd(Make("f"));
    ASSERT_THAT(fallocate(fd.get(), 0, 0, 8192), SyscallSucceeds());
    EXPECT_EQ(St("f").st_size, 8192);
    ASSERT_THAT(fallocate(fd.get(), FALLOC_FL_KEEP_SIZE, 8192, 4096), SyscallSucceeds());
    EXPECT_EQ(St("f").st_size, 8192);
    EXPECT_THAT(fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE, 0, 4096), SyscallFailsWithErrno(EOPNOTSUPP));
    EXPECT_THAT(fallocate(fd.get(), 0, -1, 4096), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(fallocate(fd.get(), 0, 0, 0), SyscallFailsWithErrno(EINVAL));
    Fd ro(open(P("f").c_str(), O_RDONLY));
    EXPECT_THAT(fallocate(ro.get(), 0, 0, 4096), SyscallFailsWithErrno(EBADF));
    int p[2];
    ASSERT_THAT(pipe(p), SyscallSucceeds());
    EXPECT_THAT(fallocate(p[1], 0, 0, 4096), SyscallFailsWithErrno(ESPIPE));
    close(p[0]);
    close(p[1]);

    // A sparse file: data at 1 MiB only.
    Fd sparse(Make("s"));
    ASSERT_THAT(pwrite(sparse.get(), "x", 1, 1 << 20), SyscallSucceedsWithValue(1));
    EXPECT_THAT(lseek(sparse.get(), 0, SEEK_DATA), SyscallSucceedsWithValue(1 << 20));
    EXPECT_THAT(lseek(sparse.get(), 0, SEEK_HOLE), SyscallSucceedsWithValue(0));
    EXPECT_THAT(lseek(sparse.get(), (1 << 20) + 1, SEEK_DATA), SyscallFailsWithErrno(ENXIO));
    char c = 1;
    EXPECT_THAT(pread(sparse.get(), &c, 1, 4096), SyscallSucceedsWithValue(1));
    EXPECT_EQ(c, 0);
}

TEST_F(AttrTest, SyncFamily) {
    Fd fd(Make("f", "data"));
    EXPECT_THAT(fsync(fd.get()), SyscallSucceeds());
    EXPECT_THAT(fdatasync(fd.get()), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_syncfs, fd.get()), SyscallSucceeds());
    EXPECT_THAT(sync_file_range(fd.get(), 0, 0, SYNC_FILE_RANGE_WRITE), SyscallSucceeds());
    EXPECT_THAT(sync_file_range(fd.get(), 0, 0, 8), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(fsync(-1), SyscallFailsWithErrno(EBADF));
    int p[2];
    ASSERT_THAT(pipe(p), SyscallSucceeds());
    EXPECT_THAT(fsync(p[0]), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(sync_file_range(p[0], 0, 0, 0), SyscallFailsWithErrno(ESPIPE));
    EXPECT_THAT(posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL), ESPIPE);
    close(p[0]);
    close(p[1]);
    EXPECT_EQ(posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL), 0);
    EXPECT_EQ(posix_fadvise(fd.get(), 0, 0, 99), EINVAL);
}

}  // namespace
}  // namespace moat::conformance
