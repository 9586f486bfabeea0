// Conformance: what is particular to tmpfs (Linux's shmem) — directory sizes and link counts,
// st_blocks counting allocated pages, real holes (SEEK_DATA/SEEK_HOLE), fallocate modes, and
// MAP_SHARED mappings sharing pages with read/write — in a fresh directory under /dev/shm
// (tmpfs on Linux; the sandbox's own tmpfs under Moat).

#include "tests/conformance/test_util.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ftw.h>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

constexpr off_t kPage = 4096;

class TmpfsTest : public ::testing::Test {
protected:
    void SetUp() override {
        // Only a host whose /dev/shm is some other filesystem skips (a statfs that fails, as it
        // may where statfs is missing, does not).
        struct statfs fs {};
        if (statfs("/dev/shm", &fs) == 0 && fs.f_type != TMPFS_MAGIC)
            GTEST_SKIP() << "/dev/shm is not a tmpfs on this host";
        char tmpl[] = "/dev/shm/moat-tmpfs-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr) << strerror(errno);
        m_dir = tmpl;
    }
    void TearDown() override {
        if (!m_dir.empty())
            nftw(m_dir.c_str(), Remove, 16, FTW_DEPTH | FTW_PHYS);
    }
    static int Remove(const char* path, const struct stat*, int type, struct FTW*) {
        return type == FTW_DP ? rmdir(path) : unlink(path);
    }
    std::string P(const std::string& name) const { return m_dir + "/" + name; }
    int Make(const std::string& name, int flags = O_RDWR) {
        return open(P(name).c_str(), O_CREAT | O_TRUNC | flags, 0644);
    }
    struct stat Fstat(int fd) {
        struct stat st {};
        EXPECT_THAT(fstat(fd, &st), SyscallSucceeds());
        return st;
    }
    struct stat Lstat(const std::string& name) {
        struct stat st {};
        EXPECT_THAT(lstat(P(name).c_str(), &st), SyscallSucceeds());
        return st;
    }

    std::string m_dir;
};

TEST_F(TmpfsTest, DirectorySizeAndLinkCount) {
    struct stat st = Lstat("");
    EXPECT_EQ(st.st_size, 40);  // "." and ".."
    EXPECT_EQ(st.st_nlink, 2u);
    Fd f(Make("file"));
    ASSERT_THAT(mkdir(P("sub").c_str(), 0755), SyscallSucceeds());
    st = Lstat("");
    EXPECT_EQ(st.st_size, 40 + 2 * 20);
    EXPECT_EQ(st.st_nlink, 3u);
    EXPECT_EQ(Lstat("sub").st_dev, st.st_dev);
    EXPECT_NE(Lstat("sub").st_ino, Lstat("file").st_ino);
    ASSERT_THAT(symlink("some/target", P("link").c_str()), SyscallSucceeds());
    EXPECT_EQ(Lstat("link").st_size, 11);
    EXPECT_EQ(Lstat("link").st_blocks, 0);
}

TEST_F(TmpfsTest, BlocksCountAllocatedPages) {
    Fd fd(Make("f"));
    EXPECT_EQ(Fstat(fd.get()).st_blocks, 0);
    ASSERT_THAT(pwrite(fd.get(), "hello", 5, 3 * kPage + 10), SyscallSucceedsWithValue(5));
    struct stat st = Fstat(fd.get());
    EXPECT_EQ(st.st_size, 3 * kPage + 15);
    EXPECT_EQ(st.st_blocks, 8);  // one page
    EXPECT_EQ(st.st_blksize, 4096);
    char buf[16];
    memset(buf, 1, sizeof(buf));
    EXPECT_THAT(pread(fd.get(), buf, sizeof(buf), kPage), SyscallSucceedsWithValue(16));
    EXPECT_EQ(std::string(buf, 16), std::string(16, '\0'));
    ASSERT_THAT(ftruncate(fd.get(), 0), SyscallSucceeds());
    EXPECT_EQ(Fstat(fd.get()).st_blocks, 0);
}

TEST_F(TmpfsTest, SeekDataAndHoleSeePages) {
    Fd fd(Make("f"));
    ASSERT_THAT(pwrite(fd.get(), "x", 1, kPage), SyscallSucceedsWithValue(1));
    ASSERT_THAT(pwrite(fd.get(), "y", 1, 3 * kPage), SyscallSucceedsWithValue(1));
    EXPECT_THAT(lseek(fd.get(), 0, SEEK_DATA), SyscallSucceedsWithValue(kPage));
    EXPECT_THAT(lseek(fd.get(), 0, SEEK_HOLE), SyscallSucceedsWithValue(0));
    EXPECT_THAT(lseek(fd.get(), kPage + 1, SEEK_DATA), SyscallSucceedsWithValue(kPage + 1));
    EXPECT_THAT(lseek(fd.get(), kPage, SEEK_HOLE), SyscallSucceedsWithValue(2 * kPage));
    EXPECT_THAT(lseek(fd.get(), 2 * kPage, SEEK_DATA), SyscallSucceedsWithValue(3 * kPage));
    EXPECT_THAT(lseek(fd.get(), 3 * kPage, SEEK_HOLE), SyscallSucceedsWithValue(3 * kPage + 1));
    EXPECT_THAT(lseek(fd.get(), 3 * kPage + 1, SEEK_DATA), SyscallFailsWithErrno(ENXIO));
    EXPECT_THAT(lseek(fd.get(), 3 * kPage + 1, SEEK_HOLE), SyscallFailsWithErrno(ENXIO));
}

TEST_F(TmpfsTest, FallocateModes) {
    Fd fd(Make("f"));
    ASSERT_THAT(fallocate(fd.get(), FALLOC_FL_KEEP_SIZE, 0, 3 * kPage), SyscallSucceeds());
    EXPECT_EQ(Fstat(fd.get()).st_size, 0);
    EXPECT_EQ(Fstat(fd.get()).st_blocks, 24);
    std::string data(3 * kPage, 'q');
    ASSERT_THAT(pwrite(fd.get(), data.data(), data.size(), 0), SyscallSucceedsWithValue(3 * kPage));
    // A hole from byte 10 over two pages: page 1 goes, pages 0 and 2 are zeroed in part.
    ASSERT_THAT(fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 10, 2 * kPage), SyscallSucceeds());
    struct stat st = Fstat(fd.get());
    EXPECT_EQ(st.st_size, 3 * kPage);
    EXPECT_EQ(st.st_blocks, 16);
    std::string back(3 * kPage, '\1');
    ASSERT_THAT(pread(fd.get(), back.data(), back.size(), 0), SyscallSucceedsWithValue(3 * kPage));
    EXPECT_EQ(back, std::string(10, 'q') + std::string(2 * kPage, '\0') + std::string(kPage - 10, 'q'));
    // tmpfs has none of the other modes.
    EXPECT_THAT(fallocate(fd.get(), FALLOC_FL_ZERO_RANGE, 0, kPage), SyscallFailsWithErrno(EOPNOTSUPP));
    EXPECT_THAT(fallocate(fd.get(), FALLOC_FL_COLLAPSE_RANGE, 0, kPage), SyscallFailsWithErrno(EOPNOTSUPP));
    EXPECT_THAT(fallocate(fd.get(), FALLOC_FL_INSERT_RANGE, 0, kPage), SyscallFailsWithErrno(EOPNOTSUPP));
    ASSERT_THAT(fallocate(fd.get(), 0, 0, 5 * kPage), SyscallSucceeds());
    EXPECT_EQ(Fstat(fd.get()).st_size, 5 * kPage);
}

TEST_F(TmpfsTest, PwriteOnAppendFileAppends) {
    Fd fd(open(P("f").c_str(), O_CREAT | O_RDWR | O_APPEND, 0644));
    ASSERT_GE(fd.get(), 0);
    ASSERT_THAT(write(fd.get(), "abc", 3), SyscallSucceedsWithValue(3));
    ASSERT_THAT(pwrite(fd.get(), "def", 3, 0), SyscallSucceedsWithValue(3));
    char buf[8] = {};
    EXPECT_THAT(pread(fd.get(), buf, sizeof(buf), 0), SyscallSucceedsWithValue(6));
    EXPECT_STREQ(buf, "abcdef");
    EXPECT_THAT(lseek(fd.get(), 0, SEEK_CUR), SyscallSucceedsWithValue(3));
}

TEST_F(TmpfsTest, SharedMappingSharesPagesWithReadWrite) {
    Fd fd(Make("f"));
    ASSERT_THAT(ftruncate(fd.get(), 2 * kPage), SyscallSucceeds());
    void* p = mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    ASSERT_NE(p, MAP_FAILED) << strerror(errno);
    char* m = static_cast<char*>(p);
    ASSERT_THAT(pwrite(fd.get(), "written", 7, kPage), SyscallSucceedsWithValue(7));
    EXPECT_EQ(std::string(m + kPage, 7), "written");
    memcpy(m, "stored", 6);
    char buf[6];
    EXPECT_THAT(pread(fd.get(), buf, 6, 0), SyscallSucceedsWithValue(6));
    EXPECT_EQ(std::string(buf, 6), "stored");
    // A private mapping copies on write: the file does not change.
    void* q = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd.get(), 0);
    ASSERT_NE(q, MAP_FAILED) << strerror(errno);
    EXPECT_EQ(std::string(static_cast<char*>(q), 6), "stored");
    memcpy(q, "CHANGE", 6);
    EXPECT_THAT(pread(fd.get(), buf, 6, 0), SyscallSucceedsWithValue(6));
    EXPECT_EQ(std::string(buf, 6), "stored");
    EXPECT_EQ(Fstat(fd.get()).st_blocks, 16);  // both pages now allocated
    munmap(q, kPage);
    munmap(p, 2 * kPage);
}

TEST_F(TmpfsTest, UnlinkedMappedFileKeepsData) {
    Fd fd(Make("f"));
    ASSERT_THAT(pwrite(fd.get(), "keep", 4, 0), SyscallSucceedsWithValue(4));
    void* p = mmap(nullptr, kPage, PROT_READ, MAP_SHARED, fd.get(), 0);
    ASSERT_NE(p, MAP_FAILED) << strerror(errno);
    ASSERT_THAT(unlink(P("f").c_str()), SyscallSucceeds());
    fd = Fd(-1);
    EXPECT_EQ(std::string(static_cast<char*>(p), 4), "keep");
    munmap(p, kPage);
}

}  // namespace
}  // namespace moat::conformance
