// Conformance: memfd_create(2) — an anonymous tmpfs file (read, write, truncate, shared and
// private mappings, its /proc/self/fd name) — and the seals of fcntl F_ADD_SEALS/F_GET_SEALS.

#include "tests/conformance/test_util.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

int MemfdCreate(const char* name, unsigned flags) {
    return static_cast<int>(syscall(SYS_memfd_create, name, flags));
}

int Seals(int fd) { return fcntl(fd, F_GET_SEALS); }

class MemfdTest : public ::testing::Test {
protected:
    void SetUp() override {
        m_fd = Fd(MemfdCreate("test", MFD_ALLOW_SEALING));
        ASSERT_TRUE(m_fd.ok()) << strerror(errno);
    }
    int fd() const { return m_fd.get(); }
    Fd m_fd;
};

TEST(Memfd, IsAnEmptyReadWriteRegularFile) {
    Fd fd(MemfdCreate("plain", 0));
    ASSERT_TRUE(fd.ok());
    struct stat st {};
    ASSERT_THAT(fstat(fd.get(), &st), SyscallSucceeds());
    EXPECT_EQ(st.st_mode, S_IFREG | 0777u);
    EXPECT_EQ(st.st_size, 0);
    EXPECT_EQ(st.st_nlink, 0u);  // no directory names it
    EXPECT_EQ(st.st_uid, geteuid());
    EXPECT_EQ(fcntl(fd.get(), F_GETFL), O_RDWR | 0100000);  // the kernel's O_LARGEFILE
    EXPECT_EQ(fcntl(fd.get(), F_GETFD), 0);
    ASSERT_THAT(write(fd.get(), "hello", 5), SyscallSucceedsWithValue(5));
    char buf[8] = {};
    ASSERT_THAT(pread(fd.get(), buf, sizeof(buf), 0), SyscallSucceedsWithValue(5));
    EXPECT_STREQ(buf, "hello");
    ASSERT_THAT(ftruncate(fd.get(), 3), SyscallSucceeds());
    EXPECT_EQ(lseek(fd.get(), 0, SEEK_END), 3);
}

TEST(Memfd, EachCallIsANewFile) {
    Fd a(MemfdCreate("same", 0)), b(MemfdCreate("same", 0));
    struct stat sa {}, sb {};
    ASSERT_THAT(fstat(a.get(), &sa), SyscallSucceeds());
    ASSERT_THAT(fstat(b.get(), &sb), SyscallSucceeds());
    EXPECT_EQ(sa.st_dev, sb.st_dev);
    EXPECT_NE(sa.st_ino, sb.st_ino);
}

TEST(Memfd, CloexecFlag) {
    Fd fd(MemfdCreate("cloexec", MFD_CLOEXEC));
    ASSERT_TRUE(fd.ok());
    EXPECT_EQ(fcntl(fd.get(), F_GETFD), FD_CLOEXEC);
}

TEST(Memfd, ProcFdLinkNamesTheMemfd) {
    Fd fd(MemfdCreate("my-name", 0));
    ASSERT_TRUE(fd.ok());
    char buf[256] = {};
    std::string link = "/proc/self/fd/" + std::to_string(fd.get());
    ASSERT_THAT(readlink(link.c_str(), buf, sizeof(buf) - 1), SyscallSucceeds());
    EXPECT_STREQ(buf, "/memfd:my-name (deleted)");
}

TEST(Memfd, BadArguments) {
    EXPECT_THAT(MemfdCreate("x", 0x100), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(MemfdCreate("x", 0x8 | 0x10), SyscallFailsWithErrno(EINVAL));  // MFD_NOEXEC_SEAL|MFD_EXEC
    EXPECT_THAT(syscall(SYS_memfd_create, nullptr, 0), SyscallFailsWithErrno(EFAULT));
    // 249 bytes (MFD_NAME_MAX_LEN) before the NUL is the most a name may have.
    std::string longest(249, 'n');
    Fd ok(MemfdCreate(longest.c_str(), 0));
    EXPECT_TRUE(ok.ok()) << strerror(errno);
    std::string too_long(250, 'n');
    EXPECT_THAT(MemfdCreate(too_long.c_str(), 0), SyscallFailsWithErrno(EINVAL));
}

TEST(Memfd, SharedMappingSharesPagesPrivateDoesNot) {
    Fd fd(MemfdCreate("map", 0));
    ASSERT_THAT(ftruncate(fd.get(), 8192), SyscallSucceeds());
    Mapping shared(8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get());
    Mapping priv(8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd.get());
    ASSERT_TRUE(shared.ok() && priv.ok());
    memcpy(shared.addr() + 4096, "via-map", 7);
    char buf[8] = {};
    ASSERT_THAT(pread(fd.get(), buf, 7, 4096), SyscallSucceedsWithValue(7));
    EXPECT_STREQ(buf, "via-map");
    EXPECT_EQ(memcmp(priv.addr() + 4096, "via-map", 7), 0);
    memcpy(priv.addr(), "private", 7);
    ASSERT_THAT(pread(fd.get(), buf, 7, 0), SyscallSucceedsWithValue(7));
    EXPECT_EQ(memcmp(buf, "\0\0\0\0\0\0\0", 7), 0);
}

TEST(Memfd, WithoutAllowSealingOnlySealSeal) {
    Fd fd(MemfdCreate("nosealing", 0));
    EXPECT_EQ(Seals(fd.get()), F_SEAL_SEAL);
    EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE), SyscallFailsWithErrno(EPERM));
}

TEST(Memfd, SealsOnOtherFilesAreEinval) {
    int p[2];
    ASSERT_THAT(pipe(p), SyscallSucceeds());
    EXPECT_THAT(fcntl(p[1], F_GET_SEALS), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(fcntl(p[1], F_ADD_SEALS, F_SEAL_WRITE), SyscallFailsWithErrno(EINVAL));
    close(p[0]);
    close(p[1]);
    Fd ro(open("/proc/self/exe", O_RDONLY));
    EXPECT_THAT(fcntl(ro.get(), F_GET_SEALS), SyscallFailsWithErrno(EINVAL));
    // Sealing needs a writable description first.
    EXPECT_THAT(fcntl(ro.get(), F_ADD_SEALS, F_SEAL_WRITE), SyscallFailsWithErrno(EPERM));
}

TEST_F(MemfdTest, StartsWithNoSeals) {
    EXPECT_EQ(Seals(fd()), 0);
    EXPECT_THAT(fcntl(fd(), F_ADD_SEALS, 0x1000), SyscallFailsWithErrno(EINVAL));
    ASSERT_THAT(fcntl(fd(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), SyscallSucceeds());
    EXPECT_EQ(Seals(fd()), F_SEAL_SHRINK | F_SEAL_GROW);
}

TEST_F(MemfdTest, SealShrink) {
    ASSERT_THAT(ftruncate(fd(), 100), SyscallSucceeds());
    ASSERT_THAT(fcntl(fd(), F_ADD_SEALS, F_SEAL_SHRINK), SyscallSucceeds());
    EXPECT_THAT(ftruncate(fd(), 50), SyscallFailsWithErrno(EPERM));
    EXPECT_THAT(ftruncate(fd(), 100), SyscallSucceeds());
    EXPECT_THAT(ftruncate(fd(), 200), SyscallSucceeds());
}

TEST_F(MemfdTest, SealGrow) {
    ASSERT_THAT(ftruncate(fd(), 10000), SyscallSucceeds());
    ASSERT_THAT(fcntl(fd(), F_ADD_SEALS, F_SEAL_GROW), SyscallSucceeds());
    EXPECT_THAT(ftruncate(fd(), 10001), SyscallFailsWithErrno(EPERM));
    EXPECT_THAT(ftruncate(fd(), 9000), SyscallSucceeds());
    EXPECT_THAT(pwrite(fd(), "ab", 2, 8000), SyscallSucceedsWithValue(2));
    EXPECT_THAT(pwrite(fd(), "ab", 2, 8999), SyscallFailsWithErrno(EPERM));
    // A write running past the end stops at the last page boundary inside the file.
    std::string big(20000, 'x');
    EXPECT_THAT(pwrite(fd(), big.data(), big.size(), 0), SyscallSucceedsWithValue(8192));
    EXPECT_THAT(fallocate(fd(), 0, 0, 20000), SyscallFailsWithErrno(EPERM));
    EXPECT_THAT(fallocate(fd(), 0, 0, 4096), SyscallSucceeds());
    struct stat st {};
    ASSERT_THAT(fstat(fd(), &st), SyscallSucceeds());
    EXPECT_EQ(st.st_size, 9000);
}

TEST_F(MemfdTest, SealWrite) {
    ASSERT_THAT(write(fd(), "data", 4), SyscallSucceeds());
    ASSERT_THAT(fcntl(fd(), F_ADD_SEALS, F_SEAL_WRITE), SyscallSucceeds());
    EXPECT_THAT(write(fd(), "more", 4), SyscallFailsWithErrno(EPERM));
    EXPECT_THAT(pwrite(fd(), "x", 1, 0), SyscallFailsWithErrno(EPERM));
    EXPECT_THAT(fallocate(fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 1), SyscallFailsWithErrno(EPERM));
    // Shrinking and growing are other seals.
    EXPECT_THAT(ftruncate(fd(), 8192), SyscallSucceeds());
    EXPECT_EQ(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd(), 0), MAP_FAILED);
    EXPECT_EQ(errno, EPERM);
    Mapping ro(4096, PROT_READ, MAP_SHARED, fd());
    ASSERT_TRUE(ro.ok());
    EXPECT_EQ(memcmp(ro.addr(), "data", 4), 0);
    EXPECT_THAT(mprotect(ro.addr(), 4096, PROT_READ | PROT_WRITE), SyscallFailsWithErrno(EACCES));
    Mapping priv(4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd());
    ASSERT_TRUE(priv.ok());
    priv.addr()[0] = 'D';
    char c = 0;
    ASSERT_THAT(pread(fd(), &c, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(c, 'd');
}

TEST_F(MemfdTest, SealWriteIsBusyWhileWritableSharedMappingsExist) {
    ASSERT_THAT(ftruncate(fd(), 4096), SyscallSucceeds());
    {
        Mapping rw(4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd());
        ASSERT_TRUE(rw.ok());
        EXPECT_THAT(fcntl(fd(), F_ADD_SEALS, F_SEAL_WRITE), SyscallFailsWithErrno(EBUSY));
    }
    EXPECT_THAT(fcntl(fd(), F_ADD_SEALS, F_SEAL_WRITE), SyscallSucceeds());
}

TEST_F(MemfdTest, SealFutureWriteKeepsExistingMappingsWritable) {
    ASSERT_THAT(ftruncate(fd(), 4096), SyscallSucceeds());
    Mapping rw(4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd());
    ASSERT_TRUE(rw.ok());
    ASSERT_THAT(fcntl(fd(), F_ADD_SEALS, F_SEAL_FUTURE_WRITE), SyscallSucceeds());
    EXPECT_THAT(write(fd(), "x", 1), SyscallFailsWithErrno(EPERM));
    EXPECT_EQ(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd(), 0), MAP_FAILED);
    EXPECT_EQ(errno, EPERM);
    rw.addr()[0] = 'y';
    char c = 0;
    ASSERT_THAT(pread(fd(), &c, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(c, 'y');
}

TEST_F(MemfdTest, SealSealStopsFurtherSeals) {
    ASSERT_THAT(fcntl(fd(), F_ADD_SEALS, F_SEAL_SEAL), SyscallSucceeds());
    EXPECT_EQ(Seals(fd()), F_SEAL_SEAL);
    EXPECT_THAT(fcntl(fd(), F_ADD_SEALS, F_SEAL_SHRINK), SyscallFailsWithErrno(EPERM));
    EXPECT_THAT(fcntl(fd(), F_ADD_SEALS, 0), SyscallFailsWithErrno(EPERM));
}

}  // namespace
}  // namespace moat::conformance
