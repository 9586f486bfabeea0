// Conformance: every syscall that takes a user pointer answers a bad one with EFAULT, and the
// process keeps running. Calls go through raw syscall() so glibc never touches the pointer first.
// Bad pointers: NULL, 1, the first kernel address, the first non-canonical address, an unmapped
// page, a PROT_NONE page, and buffers that straddle from good memory into a bad page.

#include "tests/conformance/test_util.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

class EfaultTest : public ::testing::Test {
protected:
    void SetUp() override {
        // [good page][PROT_NONE page]; plus a separate range with nothing mapped.
        m_region = Mapping(2 * PageSize(), PROT_READ | PROT_WRITE);
        ASSERT_TRUE(m_region.ok());
        ASSERT_THAT(mprotect(m_region.addr() + PageSize(), PageSize(), PROT_NONE), SyscallSucceeds());
        m_unmapped = UnmappedRange(1);
        ASSERT_NE(m_unmapped, nullptr);
        ASSERT_THAT(pipe(m_pipe), SyscallSucceeds());
        m_file = open("/etc/os-release", O_RDONLY);
        ASSERT_GE(m_file, 0);
    }
    void TearDown() override {
        close(m_pipe[0]);
        close(m_pipe[1]);
        close(m_file);
    }

    // Pointers to nothing usable at all.
    std::vector<void*> BadPointers() const {
        return {kNullAddr, kLowAddr, kKernelAddr, kNonCanonicalAddr, m_unmapped, ProtNone()};
    }
    void* ProtNone() const { return m_region.addr() + PageSize(); }
    // `n` good bytes, then the PROT_NONE page.
    char* Straddle(size_t good_bytes) const { return m_region.addr() + PageSize() - good_bytes; }

    Mapping m_region;
    char* m_unmapped = nullptr;
    int m_pipe[2] = {-1, -1};
    int m_file = -1;
};

TEST_F(EfaultTest, Read) {
    for (void* p : BadPointers()) {
        EXPECT_THAT(syscall(SYS_read, m_file, p, 64), SyscallFailsWithErrno(EFAULT)) << p;
        EXPECT_THAT(syscall(SYS_pread64, m_file, p, 64, 0), SyscallFailsWithErrno(EFAULT)) << p;
    }
    // Nothing was consumed by the failed reads.
    EXPECT_EQ(lseek(m_file, 0, SEEK_CUR), 0);
}

TEST_F(EfaultTest, ReadStraddlingReturnsWhatFits) {
    // A read into a buffer that runs into a bad page copies what fits and reports that count.
    std::string const content = ReadWholeFile("/etc/os-release");
    ASSERT_GT(content.size(), 100u);
    char* buf = Straddle(40);
    long n = syscall(SYS_pread64, m_file, buf, 100, 0);
    ASSERT_THAT(n, SyscallSucceeds());
    EXPECT_GT(n, 0);
    EXPECT_LE(n, 40);
    EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), content.substr(0, static_cast<size_t>(n)));
}

TEST_F(EfaultTest, WriteFromBadBufferIntoPipe) {
    for (void* p : BadPointers()) {
        EXPECT_THAT(syscall(SYS_write, m_pipe[1], p, 64), SyscallFailsWithErrno(EFAULT)) << p;
    }
    // Nothing reached the pipe.
    EXPECT_THAT(syscall(SYS_write, m_pipe[1], "ok", 2), SyscallSucceedsWithValue(2));
    char buf[8] = {};
    EXPECT_THAT(syscall(SYS_read, m_pipe[0], buf, sizeof buf), SyscallSucceedsWithValue(2));
    EXPECT_STREQ(buf, "ok");
}

TEST_F(EfaultTest, Iovecs) {
    char good[16];
    for (void* p : BadPointers()) {
        // The iovec array itself is bad.
        EXPECT_THAT(syscall(SYS_readv, m_file, p, 1), SyscallFailsWithErrno(EFAULT)) << p;
        EXPECT_THAT(syscall(SYS_writev, m_pipe[1], p, 1), SyscallFailsWithErrno(EFAULT)) << p;
        // The array is fine, the buffer it names is bad.
        iovec iov[2] = {{p, 16}, {good, sizeof good}};
        EXPECT_THAT(syscall(SYS_readv, m_file, iov, 2), SyscallFailsWithErrno(EFAULT)) << p;
        EXPECT_THAT(syscall(SYS_writev, m_pipe[1], iov, 2), SyscallFailsWithErrno(EFAULT)) << p;
    }
    EXPECT_EQ(lseek(m_file, 0, SEEK_CUR), 0);
}

TEST_F(EfaultTest, Uname) {
    for (void* p : BadPointers()) EXPECT_THAT(syscall(SYS_uname, p), SyscallFailsWithErrno(EFAULT)) << p;
    EXPECT_THAT(syscall(SYS_uname, Straddle(sizeof(utsname) / 2)), SyscallFailsWithErrno(EFAULT));
}

TEST_F(EfaultTest, Getrandom) {
    for (void* p : BadPointers()) EXPECT_THAT(syscall(SYS_getrandom, p, 16, 0), SyscallFailsWithErrno(EFAULT)) << p;
}

TEST_F(EfaultTest, ClockGettimeAndFriends) {
    for (void* p : BadPointers()) {
        EXPECT_THAT(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, p), SyscallFailsWithErrno(EFAULT)) << p;
        EXPECT_THAT(syscall(SYS_nanosleep, p, nullptr), SyscallFailsWithErrno(EFAULT)) << p;
        if (p != nullptr) {  // gettimeofday(NULL, ...) means "no time wanted"
            EXPECT_THAT(syscall(SYS_gettimeofday, p, nullptr), SyscallFailsWithErrno(EFAULT)) << p;
        }
    }
    EXPECT_THAT(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, Straddle(8)), SyscallFailsWithErrno(EFAULT));
}

TEST_F(EfaultTest, StatPathAndBuffer) {
    struct stat st;
    for (void* p : BadPointers()) {
        EXPECT_THAT(syscall(SYS_stat, p, &st), SyscallFailsWithErrno(EFAULT)) << p;
        EXPECT_THAT(syscall(SYS_lstat, p, &st), SyscallFailsWithErrno(EFAULT)) << p;
        EXPECT_THAT(syscall(SYS_newfstatat, AT_FDCWD, p, &st, 0), SyscallFailsWithErrno(EFAULT)) << p;
        EXPECT_THAT(syscall(SYS_stat, "/etc/os-release", p), SyscallFailsWithErrno(EFAULT)) << p;
        EXPECT_THAT(syscall(SYS_fstat, m_file, p), SyscallFailsWithErrno(EFAULT)) << p;
        EXPECT_THAT(syscall(SYS_statx, AT_FDCWD, "/etc/os-release", 0, STATX_BASIC_STATS, p),
                    SyscallFailsWithErrno(EFAULT)) << p;
    }
    EXPECT_THAT(syscall(SYS_fstat, m_file, Straddle(sizeof(struct stat) / 2)), SyscallFailsWithErrno(EFAULT));
}

TEST_F(EfaultTest, PathStraddlingIntoBadPage) {
    // "/etc/os-rel" then the bad page: the NUL is never found.
    char* path = Straddle(11);
    memcpy(path, "/etc/os-rel", 11);
    EXPECT_THAT(syscall(SYS_openat, AT_FDCWD, path, O_RDONLY), SyscallFailsWithErrno(EFAULT));
    struct stat st;
    EXPECT_THAT(syscall(SYS_stat, path, &st), SyscallFailsWithErrno(EFAULT));
    // The same bytes with room for the NUL are a fine path.
    char* ok = Straddle(16);
    memcpy(ok, "/etc/os-release", 16);
    long fd = syscall(SYS_openat, AT_FDCWD, ok, O_RDONLY);
    EXPECT_THAT(fd, SyscallSucceeds());
    if (fd >= 0) close(static_cast<int>(fd));
}

TEST_F(EfaultTest, Openat) {
    for (void* p : BadPointers()) {
        EXPECT_THAT(syscall(SYS_openat, AT_FDCWD, p, O_RDONLY), SyscallFailsWithErrno(EFAULT)) << p;
        EXPECT_THAT(syscall(SYS_open, p, O_RDONLY), SyscallFailsWithErrno(EFAULT)) << p;
        EXPECT_THAT(syscall(SYS_access, p, F_OK), SyscallFailsWithErrno(EFAULT)) << p;
        EXPECT_THAT(syscall(SYS_chdir, p), SyscallFailsWithErrno(EFAULT)) << p;
    }
}

TEST_F(EfaultTest, Getcwd) {
    for (void* p : BadPointers()) {
        EXPECT_THAT(syscall(SYS_getcwd, p, 4096), SyscallFailsWithErrno(EFAULT)) << p;
    }
    char cwd[4096];
    ASSERT_THAT(syscall(SYS_getcwd, cwd, sizeof cwd), SyscallSucceeds());
    size_t const len = strlen(cwd);
    if (len >= 2) {
        // Room for all but the NUL: the copy faults.
        EXPECT_THAT(syscall(SYS_getcwd, Straddle(len), 4096), SyscallFailsWithErrno(EFAULT));
    }
}

TEST_F(EfaultTest, Readlink) {
    char buf[256];
    for (void* p : BadPointers()) {
        EXPECT_THAT(syscall(SYS_readlink, p, buf, sizeof buf), SyscallFailsWithErrno(EFAULT)) << p;
        EXPECT_THAT(syscall(SYS_readlink, "/etc/os-release", p, sizeof buf), SyscallFailsWithErrno(EFAULT)) << p;
        EXPECT_THAT(syscall(SYS_readlinkat, AT_FDCWD, "/etc/os-release", p, sizeof buf),
                    SyscallFailsWithErrno(EFAULT)) << p;
    }
    // "../usr/lib/os-release" is 21 bytes; 5 fit.
    EXPECT_THAT(syscall(SYS_readlink, "/etc/os-release", Straddle(5), 64), SyscallFailsWithErrno(EFAULT));
}

TEST_F(EfaultTest, Getdents) {
    Fd dir(open("/", O_RDONLY | O_DIRECTORY));
    ASSERT_TRUE(dir.ok());
    for (void* p : BadPointers()) {
        EXPECT_THAT(syscall(SYS_getdents64, dir.get(), p, 4096), SyscallFailsWithErrno(EFAULT)) << p;
    }
}

TEST_F(EfaultTest, IdsLimitsAndInfo) {
    for (void* p : BadPointers()) {
        EXPECT_THAT(syscall(SYS_getresuid, p, p, p), SyscallFailsWithErrno(EFAULT)) << p;
        EXPECT_THAT(syscall(SYS_getresgid, p, p, p), SyscallFailsWithErrno(EFAULT)) << p;
        EXPECT_THAT(syscall(SYS_getrlimit, RLIMIT_NOFILE, p), SyscallFailsWithErrno(EFAULT)) << p;
        if (p != nullptr) {  // prlimit64's NULL old_limit means "don't report"
            EXPECT_THAT(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, nullptr, p), SyscallFailsWithErrno(EFAULT)) << p;
        }
        EXPECT_THAT(syscall(SYS_setrlimit, RLIMIT_NOFILE, p), SyscallFailsWithErrno(EFAULT)) << p;
        EXPECT_THAT(syscall(SYS_sysinfo, p), SyscallFailsWithErrno(EFAULT)) << p;
        EXPECT_THAT(syscall(SYS_getrusage, RUSAGE_SELF, p), SyscallFailsWithErrno(EFAULT)) << p;
        EXPECT_THAT(syscall(SYS_pipe, p), SyscallFailsWithErrno(EFAULT)) << p;
        EXPECT_THAT(syscall(SYS_pipe2, p, 0), SyscallFailsWithErrno(EFAULT)) << p;
    }
}

TEST_F(EfaultTest, ProcessKeepsRunningAndMemoryIsIntact) {
    // After all of the above (run in the same process), ordinary calls still work.
    strcpy(m_region.addr(), "still here");
    EXPECT_THAT(syscall(SYS_write, m_pipe[1], m_region.addr(), 10), SyscallSucceedsWithValue(10));
    char buf[16] = {};
    EXPECT_THAT(syscall(SYS_read, m_pipe[0], buf, sizeof buf), SyscallSucceedsWithValue(10));
    EXPECT_STREQ(buf, "still here");
    EXPECT_THAT(syscall(SYS_getpid), SyscallSucceedsWithValue(::testing::Gt(0)));
}

}  // namespace
}  // namespace moat::conformance
