// Conformance: read-only file syscalls on host files (the sandbox root is the host's `/`, read-only):
// open/read/pread/lseek/fstat/newfstatat/statx/getdents64/readlink/access/faccessat2/getcwd,
// and their errnos. Only paths every Debian system has are used.

#include "tests/conformance/test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

using ::testing::Gt;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kOsRelease[] = "/etc/os-release";          // a symlink on Debian...
constexpr char kOsReleaseTarget[] = "../usr/lib/os-release";  // ...to this
constexpr char kOsReleaseReal[] = "/usr/lib/os-release";

#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif

TEST(FilesBasicTest, ReadWholeFileMatchesFstatSize) {
    Fd fd(open(kOsRelease, O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(fd.ok()) << ErrnoName(errno);
    struct stat st;
    ASSERT_THAT(fstat(fd.get(), &st), SyscallSucceeds());
    EXPECT_TRUE(S_ISREG(st.st_mode));
    std::string content;
    char buf[37];  // odd size: several short reads
    for (;;) {
        long n = syscall(SYS_read, fd.get(), buf, sizeof buf);
        ASSERT_THAT(n, SyscallSucceeds());
        if (n == 0) break;
        content.append(buf, static_cast<size_t>(n));
    }
    EXPECT_EQ(static_cast<off_t>(content.size()), st.st_size);
    EXPECT_THAT(content, StartsWith("PRETTY_NAME="));
    EXPECT_THAT(content, HasSubstr("\nID=debian\n"));
    // At EOF, read keeps returning 0.
    EXPECT_THAT(syscall(SYS_read, fd.get(), buf, sizeof buf), SyscallSucceedsWithValue(0));
}

TEST(FilesBasicTest, PreadDoesNotMoveTheOffset) {
    std::string const content = ReadWholeFile(kOsRelease);
    ASSERT_GT(content.size(), 20u);
    Fd fd(open(kOsRelease, O_RDONLY));
    ASSERT_TRUE(fd.ok());
    char buf[10];
    ASSERT_THAT(syscall(SYS_pread64, fd.get(), buf, 10, 5), SyscallSucceedsWithValue(10));
    EXPECT_EQ(std::string(buf, 10), content.substr(5, 10));
    EXPECT_THAT(lseek(fd.get(), 0, SEEK_CUR), SyscallSucceedsWithValue(0));
    // Past EOF: 0 bytes.
    EXPECT_THAT(syscall(SYS_pread64, fd.get(), buf, 10, 1 << 20), SyscallSucceedsWithValue(0));
    // Straddling EOF: the rest.
    EXPECT_THAT(syscall(SYS_pread64, fd.get(), buf, 10, content.size() - 3), SyscallSucceedsWithValue(3));
    EXPECT_THAT(syscall(SYS_pread64, fd.get(), buf, 10, -1L), SyscallFailsWithErrno(EINVAL));
}

TEST(FilesBasicTest, Lseek) {
    std::string const content = ReadWholeFile(kOsRelease);
    Fd fd(open(kOsRelease, O_RDONLY));
    ASSERT_TRUE(fd.ok());
    long const size = static_cast<long>(content.size());
    EXPECT_THAT(lseek(fd.get(), 7, SEEK_SET), SyscallSucceedsWithValue(7));
    EXPECT_THAT(lseek(fd.get(), 3, SEEK_CUR), SyscallSucceedsWithValue(10));
    char c;
    ASSERT_THAT(read(fd.get(), &c, 1), SyscallSucceedsWithValue(1));
    EXPECT_EQ(c, content[10]);
    EXPECT_THAT(lseek(fd.get(), 0, SEEK_END), SyscallSucceedsWithValue(size));
    EXPECT_THAT(lseek(fd.get(), -2, SEEK_END), SyscallSucceedsWithValue(size - 2));
    // Seeking past EOF is allowed.
    EXPECT_THAT(lseek(fd.get(), size + 100, SEEK_SET), SyscallSucceedsWithValue(size + 100));
    EXPECT_THAT(lseek(fd.get(), 0, SEEK_DATA), SyscallSucceedsWithValue(0));
    EXPECT_THAT(lseek(fd.get(), 0, SEEK_HOLE), SyscallSucceedsWithValue(size));
    EXPECT_THAT(lseek(fd.get(), -1, SEEK_SET), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(lseek(fd.get(), 0, 42), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(lseek(fd.get(), size + 1, SEEK_DATA), SyscallFailsWithErrno(ENXIO));
    // A pipe cannot seek.
    int p[2];
    ASSERT_THAT(pipe(p), SyscallSucceeds());
    EXPECT_THAT(lseek(p[0], 0, SEEK_SET), SyscallFailsWithErrno(ESPIPE));
    close(p[0]);
    close(p[1]);
}

TEST(FilesBasicTest, StatFamiliesAgree) {
    struct stat by_fd, by_path, by_at, by_link;
    Fd fd(open(kOsRelease, O_RDONLY));
    ASSERT_TRUE(fd.ok());
    ASSERT_THAT(fstat(fd.get(), &by_fd), SyscallSucceeds());
    ASSERT_THAT(syscall(SYS_stat, kOsRelease, &by_path), SyscallSucceeds());
    ASSERT_THAT(syscall(SYS_newfstatat, AT_FDCWD, kOsReleaseReal, &by_at, 0), SyscallSucceeds());
    for (struct stat const* s : {&by_path, &by_at}) {
        EXPECT_EQ(s->st_ino, by_fd.st_ino);
        EXPECT_EQ(s->st_dev, by_fd.st_dev);
        EXPECT_EQ(s->st_size, by_fd.st_size);
        EXPECT_EQ(s->st_mode, by_fd.st_mode);
        EXPECT_EQ(s->st_nlink, by_fd.st_nlink);
        EXPECT_EQ(s->st_uid, by_fd.st_uid);
    }
    // AT_EMPTY_PATH on the fd is fstat.
    struct stat empty;
    ASSERT_THAT(syscall(SYS_newfstatat, fd.get(), "", &empty, AT_EMPTY_PATH), SyscallSucceeds());
    EXPECT_EQ(empty.st_ino, by_fd.st_ino);
    // Without following, the symlink itself.
    ASSERT_THAT(syscall(SYS_newfstatat, AT_FDCWD, kOsRelease, &by_link, AT_SYMLINK_NOFOLLOW), SyscallSucceeds());
    EXPECT_TRUE(S_ISLNK(by_link.st_mode));
    EXPECT_EQ(by_link.st_size, static_cast<off_t>(strlen(kOsReleaseTarget)));
    EXPECT_NE(by_link.st_ino, by_fd.st_ino);
    ASSERT_THAT(syscall(SYS_lstat, kOsRelease, &by_link), SyscallSucceeds());
    EXPECT_TRUE(S_ISLNK(by_link.st_mode));
    // Relative to a directory fd.
    Fd etc(open("/usr/lib", O_RDONLY | O_DIRECTORY));
    ASSERT_TRUE(etc.ok());
    ASSERT_THAT(syscall(SYS_newfstatat, etc.get(), "os-release", &by_at, 0), SyscallSucceeds());
    EXPECT_EQ(by_at.st_ino, by_fd.st_ino);
    EXPECT_THAT(syscall(SYS_newfstatat, AT_FDCWD, kOsRelease, &by_at, 0x40000000), SyscallFailsWithErrno(EINVAL));
}

TEST(FilesBasicTest, StatxAgreesWithStat) {
    struct stat st;
    ASSERT_THAT(stat(kOsRelease, &st), SyscallSucceeds());
    struct statx sx;
    memset(&sx, 0xff, sizeof sx);
    ASSERT_THAT(syscall(SYS_statx, AT_FDCWD, kOsRelease, 0, STATX_BASIC_STATS, &sx), SyscallSucceeds());
    unsigned const needed = STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID | STATX_GID | STATX_INO |
                            STATX_SIZE | STATX_MTIME;
    EXPECT_EQ(sx.stx_mask & needed, needed);
    EXPECT_EQ(sx.stx_ino, st.st_ino);
    EXPECT_EQ(static_cast<off_t>(sx.stx_size), st.st_size);
    EXPECT_EQ(sx.stx_mode, st.st_mode);
    EXPECT_EQ(sx.stx_nlink, st.st_nlink);
    EXPECT_EQ(makedev(sx.stx_dev_major, sx.stx_dev_minor), st.st_dev);
    EXPECT_EQ(sx.stx_mtime.tv_sec, st.st_mtim.tv_sec);
    EXPECT_EQ(sx.stx_mtime.tv_nsec, static_cast<uint32_t>(st.st_mtim.tv_nsec));
    // On the symlink itself.
    ASSERT_THAT(syscall(SYS_statx, AT_FDCWD, kOsRelease, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx),
                SyscallSucceeds());
    EXPECT_TRUE(S_ISLNK(sx.stx_mode));
    // AT_EMPTY_PATH on an fd.
    Fd fd(open(kOsRelease, O_RDONLY));
    ASSERT_THAT(syscall(SYS_statx, fd.get(), "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx), SyscallSucceeds());
    EXPECT_EQ(sx.stx_ino, st.st_ino);
    // Reserved mask bit and bad flags.
    EXPECT_THAT(syscall(SYS_statx, AT_FDCWD, kOsRelease, 0, 0x80000000u, &sx), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_statx, AT_FDCWD, kOsRelease, 0x40000000, STATX_BASIC_STATS, &sx),
                SyscallFailsWithErrno(EINVAL));
}

// Parses a getdents64 buffer into name -> d_type.
std::map<std::string, unsigned char> ReadDir(int fd, size_t bufsize) {
    std::map<std::string, unsigned char> out;
    std::string buf(bufsize, '\0');
    for (;;) {
        long n = syscall(SYS_getdents64, fd, buf.data(), buf.size());
        if (n <= 0) break;
        for (long off = 0; off < n;) {
            auto* d = reinterpret_cast<struct dirent64*>(buf.data() + off);
            out[d->d_name] = d->d_type;
            off += d->d_reclen;
        }
    }
    return out;
}

TEST(FilesBasicTest, Getdents64Root) {
    Fd fd(open("/", O_RDONLY | O_DIRECTORY));
    ASSERT_TRUE(fd.ok());
    auto entries = ReadDir(fd.get(), 4096);
    EXPECT_EQ(entries["."], DT_DIR);
    EXPECT_EQ(entries[".."], DT_DIR);
    EXPECT_EQ(entries["etc"], DT_DIR);
    EXPECT_EQ(entries["usr"], DT_DIR);
    EXPECT_EQ(entries["bin"], DT_LNK);  // merged /usr
    // Reading again after rewinding gives the same set, even with a tiny buffer.
    ASSERT_THAT(lseek(fd.get(), 0, SEEK_SET), SyscallSucceedsWithValue(0));
    auto again = ReadDir(fd.get(), 64);
    EXPECT_EQ(again, entries);
    // Same count as readdir(3).
    size_t count = 0;
    if (DIR* d = opendir("/")) {
        while (readdir(d)) ++count;
        closedir(d);
    }
    EXPECT_EQ(count, entries.size());
}

TEST(FilesBasicTest, Getdents64Errnos) {
    Fd dir(open("/", O_RDONLY | O_DIRECTORY));
    ASSERT_TRUE(dir.ok());
    char small[8];
    EXPECT_THAT(syscall(SYS_getdents64, dir.get(), small, sizeof small), SyscallFailsWithErrno(EINVAL));
    Fd file(open(kOsRelease, O_RDONLY));
    char buf[1024];
    EXPECT_THAT(syscall(SYS_getdents64, file.get(), buf, sizeof buf), SyscallFailsWithErrno(ENOTDIR));
    EXPECT_THAT(syscall(SYS_getdents64, -1, buf, sizeof buf), SyscallFailsWithErrno(EBADF));
}

TEST(FilesBasicTest, Readlink) {
    char buf[256];
    long n = syscall(SYS_readlink, kOsRelease, buf, sizeof buf);
    ASSERT_THAT(n, SyscallSucceedsWithValue(static_cast<long>(strlen(kOsReleaseTarget))));
    EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), kOsReleaseTarget);
    // Truncated silently, no NUL.
    memset(buf, 'X', sizeof buf);
    EXPECT_THAT(syscall(SYS_readlink, kOsRelease, buf, 5), SyscallSucceedsWithValue(5));
    EXPECT_EQ(std::string(buf, 6), "../usX");
    EXPECT_THAT(syscall(SYS_readlink, kOsReleaseReal, buf, sizeof buf), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_readlink, kOsRelease, buf, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_readlink, "/nonexistent-moat", buf, sizeof buf), SyscallFailsWithErrno(ENOENT));
    Fd etc(open("/etc", O_RDONLY | O_DIRECTORY));
    EXPECT_THAT(syscall(SYS_readlinkat, etc.get(), "os-release", buf, sizeof buf),
                SyscallSucceedsWithValue(static_cast<long>(strlen(kOsReleaseTarget))));
}

TEST(FilesBasicTest, ProcSelfExeIsThisBinary) {
    char buf[PATH_MAX + 1] = {};
    long n = syscall(SYS_readlink, "/proc/self/exe", buf, PATH_MAX);
    ASSERT_THAT(n, SyscallSucceeds());
    char* real = realpath(program_invocation_name, nullptr);
    ASSERT_NE(real, nullptr) << program_invocation_name;
    EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), real);
    // And it is the file we are running: same inode as argv[0].
    struct stat a, b;
    ASSERT_THAT(stat("/proc/self/exe", &a), SyscallSucceeds());
    ASSERT_THAT(stat(real, &b), SyscallSucceeds());
    EXPECT_EQ(a.st_ino, b.st_ino);
    EXPECT_EQ(a.st_dev, b.st_dev);
    free(real);
}

TEST(FilesBasicTest, Access) {
    EXPECT_THAT(access(kOsRelease, F_OK), SyscallSucceeds());
    EXPECT_THAT(access(kOsRelease, R_OK), SyscallSucceeds());
    // Mode 0644: no execute bit anywhere, so even root gets EACCES.
    EXPECT_THAT(access(kOsRelease, X_OK), SyscallFailsWithErrno(EACCES));
    EXPECT_THAT(access("/", X_OK), SyscallSucceeds());
    EXPECT_THAT(access("/bin/sh", X_OK), SyscallSucceeds());
    EXPECT_THAT(access("/nonexistent-moat", F_OK), SyscallFailsWithErrno(ENOENT));
    EXPECT_THAT(access("/etc/os-release/x", F_OK), SyscallFailsWithErrno(ENOTDIR));
    EXPECT_THAT(syscall(SYS_access, kOsRelease, 8), SyscallFailsWithErrno(EINVAL));
}

TEST(FilesBasicTest, Faccessat2) {
    Fd usrlib(open("/usr/lib", O_RDONLY | O_DIRECTORY));
    ASSERT_TRUE(usrlib.ok());
    EXPECT_THAT(syscall(SYS_faccessat2, usrlib.get(), "os-release", R_OK, 0), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_faccessat2, AT_FDCWD, kOsRelease, R_OK, AT_EACCESS), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_faccessat2, AT_FDCWD, kOsRelease, F_OK, AT_SYMLINK_NOFOLLOW), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_faccessat2, AT_FDCWD, kOsRelease, X_OK, AT_EACCESS), SyscallFailsWithErrno(EACCES));
    Fd fd(open(kOsRelease, O_RDONLY));
    EXPECT_THAT(syscall(SYS_faccessat2, fd.get(), "", R_OK, AT_EMPTY_PATH), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_faccessat2, AT_FDCWD, kOsRelease, F_OK, 0x1), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_faccessat2, -1, "os-release", F_OK, 0), SyscallFailsWithErrno(EBADF));
    // The old faccessat has no flags argument at all.
    EXPECT_THAT(syscall(SYS_faccessat, usrlib.get(), "os-release", R_OK), SyscallSucceeds());
}

TEST(FilesBasicTest, Getcwd) {
    char buf[PATH_MAX];
    long n = syscall(SYS_getcwd, buf, sizeof buf);
    ASSERT_THAT(n, SyscallSucceeds());
    // The raw syscall returns the length including the NUL.
    EXPECT_EQ(n, static_cast<long>(strlen(buf)) + 1);
    EXPECT_EQ(buf[0], '/');
    struct stat by_name, dot;
    ASSERT_THAT(stat(buf, &by_name), SyscallSucceeds());
    ASSERT_THAT(stat(".", &dot), SyscallSucceeds());
    EXPECT_EQ(by_name.st_ino, dot.st_ino);
    EXPECT_EQ(by_name.st_dev, dot.st_dev);
    EXPECT_THAT(syscall(SYS_getcwd, buf, n - 1), SyscallFailsWithErrno(ERANGE));
    EXPECT_THAT(syscall(SYS_getcwd, buf, 0), SyscallFailsWithErrno(ERANGE));
    EXPECT_THAT(syscall(SYS_getcwd, buf, n), SyscallSucceedsWithValue(n));
}

TEST(FilesBasicTest, ChdirThenGetcwd) {
    char saved[PATH_MAX];
    ASSERT_NE(getcwd(saved, sizeof saved), nullptr);
    ASSERT_THAT(chdir("/usr/lib"), SyscallSucceeds());
    char buf[PATH_MAX];
    ASSERT_NE(getcwd(buf, sizeof buf), nullptr);
    EXPECT_STREQ(buf, "/usr/lib");
    // Relative paths now resolve from there.
    EXPECT_THAT(access("os-release", R_OK), SyscallSucceeds());
    ASSERT_THAT(chdir(".."), SyscallSucceeds());
    ASSERT_NE(getcwd(buf, sizeof buf), nullptr);
    EXPECT_STREQ(buf, "/usr");
    EXPECT_THAT(chdir("/etc/os-release"), SyscallFailsWithErrno(ENOTDIR));
    EXPECT_THAT(chdir("/nonexistent-moat"), SyscallFailsWithErrno(ENOENT));
    Fd root(open("/", O_RDONLY | O_DIRECTORY));
    ASSERT_THAT(fchdir(root.get()), SyscallSucceeds());
    ASSERT_NE(getcwd(buf, sizeof buf), nullptr);
    EXPECT_STREQ(buf, "/");
    // ".." at the root stays at the root.
    ASSERT_THAT(chdir(".."), SyscallSucceeds());
    ASSERT_NE(getcwd(buf, sizeof buf), nullptr);
    EXPECT_STREQ(buf, "/");
    ASSERT_THAT(chdir(saved), SyscallSucceeds());
}

TEST(FilesBasicTest, OpenErrnos) {
    auto open_errno = [](char const* path, int flags) { return syscall(SYS_openat, AT_FDCWD, path, flags, 0); };
    EXPECT_THAT(open_errno("/nonexistent-moat", O_RDONLY), SyscallFailsWithErrno(ENOENT));
    EXPECT_THAT(open_errno("/nonexistent-moat/x", O_RDONLY), SyscallFailsWithErrno(ENOENT));
    EXPECT_THAT(open_errno("", O_RDONLY), SyscallFailsWithErrno(ENOENT));
    EXPECT_THAT(open_errno("/etc/os-release/x", O_RDONLY), SyscallFailsWithErrno(ENOTDIR));
    EXPECT_THAT(open_errno("/usr/lib/os-release/", O_RDONLY), SyscallFailsWithErrno(ENOTDIR));
    EXPECT_THAT(open_errno(kOsReleaseReal, O_RDONLY | O_DIRECTORY), SyscallFailsWithErrno(ENOTDIR));
    EXPECT_THAT(open_errno("/", O_WRONLY), SyscallFailsWithErrno(EISDIR));
    EXPECT_THAT(open_errno("/", O_RDWR), SyscallFailsWithErrno(EISDIR));
    // The last component is a symlink and O_NOFOLLOW is set.
    EXPECT_THAT(open_errno(kOsRelease, O_RDONLY | O_NOFOLLOW), SyscallFailsWithErrno(ELOOP));
    // O_NOFOLLOW only concerns the last component: /bin is a symlink, /bin/true is not.
    long fd = open_errno("/bin/true", O_RDONLY | O_NOFOLLOW);
    EXPECT_THAT(fd, SyscallSucceeds());
    if (fd >= 0) close(static_cast<int>(fd));
    std::string const long_name = "/" + std::string(NAME_MAX + 1, 'a');
    EXPECT_THAT(open_errno(long_name.c_str(), O_RDONLY), SyscallFailsWithErrno(ENAMETOOLONG));
    std::string long_path;
    while (long_path.size() <= PATH_MAX) long_path += "/usr";
    EXPECT_THAT(open_errno(long_path.c_str(), O_RDONLY), SyscallFailsWithErrno(ENAMETOOLONG));
}

TEST(FilesBasicTest, OpenatDirfd) {
    Fd usrlib(open("/usr/lib", O_RDONLY | O_DIRECTORY));
    ASSERT_TRUE(usrlib.ok());
    Fd rel(static_cast<int>(syscall(SYS_openat, usrlib.get(), "os-release", O_RDONLY)));
    EXPECT_TRUE(rel.ok());
    Fd file(open(kOsRelease, O_RDONLY));
    EXPECT_THAT(syscall(SYS_openat, -1, "os-release", O_RDONLY), SyscallFailsWithErrno(EBADF));
    EXPECT_THAT(syscall(SYS_openat, file.get(), "x", O_RDONLY), SyscallFailsWithErrno(ENOTDIR));
    // An absolute path ignores the dirfd, even a bad one.
    Fd abs(static_cast<int>(syscall(SYS_openat, -1, kOsRelease, O_RDONLY)));
    EXPECT_TRUE(abs.ok());
}

TEST(FilesBasicTest, FdErrnos) {
    char buf[16];
    struct stat st;
    EXPECT_THAT(syscall(SYS_read, -1, buf, sizeof buf), SyscallFailsWithErrno(EBADF));
    EXPECT_THAT(syscall(SYS_read, 1000000, buf, sizeof buf), SyscallFailsWithErrno(EBADF));
    EXPECT_THAT(syscall(SYS_fstat, -1, &st), SyscallFailsWithErrno(EBADF));
    EXPECT_THAT(syscall(SYS_close, -1), SyscallFailsWithErrno(EBADF));
    EXPECT_THAT(syscall(SYS_lseek, -1, 0, SEEK_SET), SyscallFailsWithErrno(EBADF));
    int fd = open(kOsRelease, O_RDONLY);
    ASSERT_GE(fd, 0);
    ASSERT_THAT(close(fd), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_read, fd, buf, sizeof buf), SyscallFailsWithErrno(EBADF));
    EXPECT_THAT(syscall(SYS_close, fd), SyscallFailsWithErrno(EBADF));
    // Reading a directory.
    Fd dir(open("/", O_RDONLY | O_DIRECTORY));
    EXPECT_THAT(syscall(SYS_read, dir.get(), buf, sizeof buf), SyscallFailsWithErrno(EISDIR));
    // Writing to a read-only fd.
    Fd ro(open(kOsRelease, O_RDONLY));
    EXPECT_THAT(syscall(SYS_write, ro.get(), "x", 1), SyscallFailsWithErrno(EBADF));
    // O_PATH fds can be fstat'ed but not read.
    Fd path(open(kOsRelease, O_PATH));
    ASSERT_TRUE(path.ok());
    EXPECT_THAT(syscall(SYS_read, path.get(), buf, sizeof buf), SyscallFailsWithErrno(EBADF));
    EXPECT_THAT(syscall(SYS_fstat, path.get(), &st), SyscallSucceeds());
    EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST(FilesBasicTest, LowestFreeFdIsReused) {
    Fd a(open(kOsRelease, O_RDONLY));
    Fd b(open(kOsRelease, O_RDONLY));
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_GT(b.get(), a.get());
    int const freed = a.get();
    a.Reset();
    Fd c(open(kOsRelease, O_RDONLY));
    EXPECT_EQ(c.get(), freed);
}

}  // namespace
}  // namespace moat::conformance
