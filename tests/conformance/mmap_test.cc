// Conformance: mmap(2), munmap(2), mprotect(2), mremap(2), brk(2), madvise(2), mincore(2).
// Files are never created (the sandbox root is read-only): file-backed cases map host files that
// exist everywhere (/etc/os-release, the test binary itself).

#include "tests/conformance/test_util.h"

#include <fcntl.h>
#include <linux/mman.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

using ::testing::Eq;
using ::testing::Ne;

// Raw mmap: the kernel (or Moat) must see exactly these arguments, with no libc checks in between.
long RawMmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
    return syscall(SYS_mmap, addr, length, prot, flags, fd, offset);
}

bool IsMapped(void* addr, size_t length) {
    unsigned char vec[64];
    return mincore(addr, length, vec) == 0;
}

// Pipe-based probe: write(2) from `addr` succeeds iff the sentry can read that user memory.
// Lets a test check protections without taking a signal.
int ProbeReadable(void const* addr, size_t length) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    ssize_t n = write(fds[1], addr, length);
    int saved = errno;
    close(fds[0]);
    close(fds[1]);
    errno = saved;
    return n < 0 ? -1 : 0;
}

// read(2) into `addr` from /dev/zero-like source: succeeds iff the memory is writable. Uses a pipe
// with data in it so it needs nothing but pipe().
int ProbeWritable(void* addr, size_t length) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    std::string data(length, 'w');
    if (write(fds[1], data.data(), length) != static_cast<ssize_t>(length)) return -1;
    ssize_t n = read(fds[0], addr, length);
    int saved = errno;
    close(fds[0]);
    close(fds[1]);
    errno = saved;
    return n < 0 ? -1 : 0;
}

TEST(MmapTest, AnonymousPrivateIsZeroedAndWritable) {
    size_t const len = 4 * PageSize();
    Mapping m(len, PROT_READ | PROT_WRITE);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m.start() % PageSize(), 0u);
    for (size_t i = 0; i < len; ++i) ASSERT_EQ(m.addr()[i], 0) << "offset " << i;
    for (size_t i = 0; i < len; i += 512) m.addr()[i] = static_cast<char>(i / 512 + 1);
    for (size_t i = 0; i < len; i += 512) EXPECT_EQ(m.addr()[i], static_cast<char>(i / 512 + 1));
}

TEST(MmapTest, LengthIsRoundedUpToPages) {
    Mapping m(1, PROT_READ | PROT_WRITE);
    ASSERT_TRUE(m.ok());
    // The whole page is usable and mapped; the next page is not part of the mapping.
    m.addr()[PageSize() - 1] = 'x';
    EXPECT_TRUE(IsMapped(m.addr(), PageSize()));
    EXPECT_EQ(munmap(m.addr(), PageSize()), 0);
    m.Release();
}

TEST(MmapTest, AnonymousSharedAliasesThroughMremapDuplicate) {
    size_t const len = 2 * PageSize();
    Mapping a(len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
    ASSERT_TRUE(a.ok());
    // mremap with old_size 0 on a shared mapping creates a second view of the same pages.
    void* b = mremap(a.addr(), 0, len, MREMAP_MAYMOVE);
    ASSERT_THAT(b, SyscallSucceeds());
    ASSERT_NE(b, a.addr());
    char* view = static_cast<char*>(b);
    strcpy(a.addr() + PageSize() + 10, "through a");
    EXPECT_STREQ(view + PageSize() + 10, "through a");
    strcpy(view, "through b");
    EXPECT_STREQ(a.addr(), "through b");
    munmap(b, len);
}

TEST(MmapTest, MremapDuplicateOfPrivateMappingFails) {
    Mapping a(PageSize(), PROT_READ | PROT_WRITE);
    ASSERT_TRUE(a.ok());
    EXPECT_THAT(mremap(a.addr(), 0, PageSize(), MREMAP_MAYMOVE), SyscallFailsWithErrno(EINVAL));
}

TEST(MmapTest, FilePrivateMatchesReadAndZeroFillsPastEof) {
    std::string const content = ReadWholeFile("/etc/os-release");
    ASSERT_FALSE(content.empty());
    ASSERT_LT(content.size(), PageSize());
    Fd fd(open("/etc/os-release", O_RDONLY));
    ASSERT_TRUE(fd.ok());
    Mapping m(PageSize(), PROT_READ, MAP_PRIVATE, fd.get(), 0);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(std::string(m.addr(), content.size()), content);
    for (size_t i = content.size(); i < PageSize(); ++i) ASSERT_EQ(m.addr()[i], 0) << "offset " << i;
}

TEST(MmapTest, FilePrivateWriteIsCopyOnWriteAndDontneedRestoresFile) {
    std::string const content = ReadWholeFile("/etc/os-release");
    ASSERT_FALSE(content.empty());
    Fd fd(open("/etc/os-release", O_RDONLY));
    ASSERT_TRUE(fd.ok());
    // PROT_WRITE on a read-only fd is fine for a private mapping.
    Mapping m(PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd.get(), 0);
    ASSERT_TRUE(m.ok());
    memset(m.addr(), 'Z', 16);
    EXPECT_EQ(std::string(m.addr(), 16), std::string(16, 'Z'));
    // The file is untouched.
    EXPECT_EQ(ReadWholeFile("/etc/os-release"), content);
    // Dropping the private copy brings the file's bytes back.
    ASSERT_THAT(madvise(m.addr(), PageSize(), MADV_DONTNEED), SyscallSucceeds());
    EXPECT_EQ(std::string(m.addr(), content.size()), content);
}

TEST(MmapTest, FileMappingAtOffsetMatchesPread) {
    Fd fd(open("/proc/self/exe", O_RDONLY));
    ASSERT_TRUE(fd.ok());
    struct stat st;
    ASSERT_THAT(fstat(fd.get(), &st), SyscallSucceeds());
    ASSERT_GT(static_cast<size_t>(st.st_size), 3 * PageSize());
    Mapping m(2 * PageSize(), PROT_READ, MAP_PRIVATE, fd.get(), static_cast<off_t>(PageSize()));
    ASSERT_TRUE(m.ok());
    std::vector<char> expected(2 * PageSize());
    ASSERT_THAT(pread(fd.get(), expected.data(), expected.size(), static_cast<off_t>(PageSize())),
                SyscallSucceedsWithValue(static_cast<long>(expected.size())));
    EXPECT_EQ(memcmp(m.addr(), expected.data(), expected.size()), 0);
    // The ELF header is at offset 0, not in this mapping.
    EXPECT_NE(memcmp(m.addr(), "\177ELF", 4), 0);
}

TEST(MmapTest, SharedReadOnlyFileMapping) {
    std::string const content = ReadWholeFile("/etc/os-release");
    Fd fd(open("/etc/os-release", O_RDONLY));
    ASSERT_TRUE(fd.ok());
    Mapping m(PageSize(), PROT_READ, MAP_SHARED, fd.get(), 0);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(std::string(m.addr(), content.size()), content);
}

TEST(MmapTest, MappingOutlivesItsFd) {
    std::string const content = ReadWholeFile("/etc/os-release");
    int fd = open("/etc/os-release", O_RDONLY);
    ASSERT_GE(fd, 0);
    Mapping m(PageSize(), PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(std::string(m.addr(), content.size()), content);
}

TEST(MmapTest, ErrnoZeroLength) {
    EXPECT_THAT(RawMmap(nullptr, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                SyscallFailsWithErrno(EINVAL));
}

TEST(MmapTest, ErrnoLengthOverflowsWhenPageAligned) {
    EXPECT_THAT(RawMmap(nullptr, SIZE_MAX, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                SyscallFailsWithErrno(ENOMEM));
}

TEST(MmapTest, ErrnoUnalignedFixedAddress) {
    Mapping m(2 * PageSize(), PROT_READ);
    ASSERT_TRUE(m.ok());
    EXPECT_THAT(RawMmap(m.addr() + 1, PageSize(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                        -1, 0),
                SyscallFailsWithErrno(EINVAL));
}

TEST(MmapTest, ErrnoNeitherPrivateNorShared) {
    EXPECT_THAT(RawMmap(nullptr, PageSize(), PROT_READ, MAP_ANONYMOUS, -1, 0),
                SyscallFailsWithErrno(EINVAL));
}

TEST(MmapTest, ErrnoSharedValidateRejectsUnknownFlag) {
    // 0x200000 is not a mapping flag; MAP_SHARED_VALIDATE must refuse it on a file mapping...
    constexpr int kUnknownFlag = 0x200000;
    Fd fd(open("/etc/os-release", O_RDONLY));
    ASSERT_TRUE(fd.ok());
    EXPECT_THAT(RawMmap(nullptr, PageSize(), PROT_READ, MAP_SHARED_VALIDATE | kUnknownFlag, fd.get(), 0),
                SyscallFailsWithErrno(EOPNOTSUPP));
    long addr = RawMmap(nullptr, PageSize(), PROT_READ, MAP_SHARED_VALIDATE, fd.get(), 0);
    EXPECT_THAT(addr, Ne(-1));
    if (addr != -1) munmap(reinterpret_cast<void*>(addr), PageSize());
    // ...while plain MAP_SHARED ignores unknown flags.
    addr = RawMmap(nullptr, PageSize(), PROT_READ, MAP_SHARED | MAP_ANONYMOUS | kUnknownFlag, -1, 0);
    EXPECT_THAT(addr, Ne(-1));
    if (addr != -1) munmap(reinterpret_cast<void*>(addr), PageSize());
    // Linux quirk: anonymous mappings do not accept the MAP_SHARED_VALIDATE type at all.
    EXPECT_THAT(RawMmap(nullptr, PageSize(), PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0),
                SyscallFailsWithErrno(EINVAL));
}

TEST(MmapTest, ErrnoBadFd) {
    EXPECT_THAT(RawMmap(nullptr, PageSize(), PROT_READ, MAP_PRIVATE, -1, 0), SyscallFailsWithErrno(EBADF));
    EXPECT_THAT(RawMmap(nullptr, PageSize(), PROT_READ, MAP_PRIVATE, 1000000, 0),
                SyscallFailsWithErrno(EBADF));
}

TEST(MmapTest, ErrnoDirectoryFd) {
    Fd fd(open("/", O_RDONLY | O_DIRECTORY));
    ASSERT_TRUE(fd.ok());
    EXPECT_THAT(RawMmap(nullptr, PageSize(), PROT_READ, MAP_PRIVATE, fd.get(), 0),
                SyscallFailsWithErrno(ENODEV));
}

TEST(MmapTest, ErrnoSharedWritableOnReadOnlyFd) {
    Fd fd(open("/etc/os-release", O_RDONLY));
    ASSERT_TRUE(fd.ok());
    EXPECT_THAT(RawMmap(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0),
                SyscallFailsWithErrno(EACCES));
}

TEST(MmapTest, ErrnoUnalignedOffset) {
    Fd fd(open("/etc/os-release", O_RDONLY));
    ASSERT_TRUE(fd.ok());
    EXPECT_THAT(RawMmap(nullptr, PageSize(), PROT_READ, MAP_PRIVATE, fd.get(), 100),
                SyscallFailsWithErrno(EINVAL));
}

TEST(MmapTest, FixedNoReplaceOverExistingMapping) {
    Mapping m(2 * PageSize(), PROT_READ | PROT_WRITE);
    ASSERT_TRUE(m.ok());
    m.addr()[0] = 'k';
    EXPECT_THAT(RawMmap(m.addr() + PageSize(), PageSize(), PROT_READ,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0),
                SyscallFailsWithErrno(EEXIST));
    EXPECT_EQ(m.addr()[0], 'k');
}

TEST(MmapTest, FixedNoReplaceOnFreeRange) {
    char* hole = UnmappedRange(2);
    ASSERT_NE(hole, nullptr);
    EXPECT_THAT(RawMmap(hole, PageSize(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0),
                SyscallSucceedsWithValue(reinterpret_cast<long>(hole)));
    munmap(hole, PageSize());
}

TEST(MmapTest, FixedReplacesExistingMapping) {
    Mapping m(3 * PageSize(), PROT_READ | PROT_WRITE);
    ASSERT_TRUE(m.ok());
    memset(m.addr(), 'a', 3 * PageSize());
    ASSERT_THAT(RawMmap(m.addr() + PageSize(), PageSize(), PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
                SyscallSucceedsWithValue(reinterpret_cast<long>(m.addr() + PageSize())));
    EXPECT_EQ(m.addr()[PageSize() - 1], 'a');
    EXPECT_EQ(m.addr()[PageSize()], 0);
    EXPECT_EQ(m.addr()[2 * PageSize() - 1], 0);
    EXPECT_EQ(m.addr()[2 * PageSize()], 'a');
}

TEST(MmapTest, HintIsHonouredWhenFree) {
    char* hole = UnmappedRange(4);
    ASSERT_NE(hole, nullptr);
    EXPECT_THAT(RawMmap(hole + PageSize(), PageSize(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                SyscallSucceedsWithValue(reinterpret_cast<long>(hole + PageSize())));
    munmap(hole + PageSize(), PageSize());
}

TEST(MmapTest, Map32BitIsBelow2GiB) {
    long addr = RawMmap(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    ASSERT_THAT(addr, Ne(-1));
    EXPECT_LT(static_cast<unsigned long>(addr) + PageSize(), 1ul << 31);
    munmap(reinterpret_cast<void*>(addr), PageSize());
}

TEST(MmapTest, PopulateAndNoreserveAreAccepted) {
    Mapping m(4 * PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_NORESERVE);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m.addr()[3 * PageSize()], 0);
}

TEST(MunmapTest, HoleInTheMiddle) {
    Mapping m(5 * PageSize(), PROT_READ | PROT_WRITE);
    ASSERT_TRUE(m.ok());
    memset(m.addr(), 'q', 5 * PageSize());
    ASSERT_THAT(munmap(m.addr() + 2 * PageSize(), PageSize()), SyscallSucceeds());
    EXPECT_TRUE(IsMapped(m.addr(), 2 * PageSize()));
    EXPECT_THAT(mincore(m.addr() + 2 * PageSize(), PageSize(), std::vector<unsigned char>(1).data()),
                SyscallFailsWithErrno(ENOMEM));
    EXPECT_TRUE(IsMapped(m.addr() + 3 * PageSize(), 2 * PageSize()));
    EXPECT_EQ(m.addr()[2 * PageSize() - 1], 'q');
    EXPECT_EQ(m.addr()[3 * PageSize()], 'q');
    // A range that spans the hole is not entirely mapped.
    EXPECT_FALSE(IsMapped(m.addr(), 5 * PageSize()));
    // Refill the hole so the whole range can be unmapped at once.
    ASSERT_THAT(RawMmap(m.addr() + 2 * PageSize(), PageSize(), PROT_READ,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
                SyscallSucceeds());
    EXPECT_EQ(m.addr()[2 * PageSize()], 0);
    EXPECT_TRUE(IsMapped(m.addr(), 5 * PageSize()));
}

TEST(MunmapTest, Errnos) {
    Mapping m(2 * PageSize(), PROT_READ);
    ASSERT_TRUE(m.ok());
    EXPECT_THAT(munmap(m.addr(), 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(munmap(m.addr() + 1, PageSize()), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_munmap, kKernelAddr, PageSize()), SyscallFailsWithErrno(EINVAL));
    // Unmapping a range with nothing in it is not an error.
    char* hole = UnmappedRange(2);
    ASSERT_NE(hole, nullptr);
    EXPECT_THAT(munmap(hole, 2 * PageSize()), SyscallSucceeds());
    // An unaligned length is rounded up.
    EXPECT_THAT(munmap(m.addr(), 1), SyscallSucceeds());
    EXPECT_FALSE(IsMapped(m.addr(), PageSize()));
    EXPECT_TRUE(IsMapped(m.addr() + PageSize(), PageSize()));
}

TEST(MprotectTest, ReadOnlyKeepsContentAndBlocksWrites) {
    Mapping m(2 * PageSize(), PROT_READ | PROT_WRITE);
    ASSERT_TRUE(m.ok());
    strcpy(m.addr(), "protected");
    ASSERT_THAT(mprotect(m.addr(), PageSize(), PROT_READ), SyscallSucceeds());
    EXPECT_STREQ(m.addr(), "protected");
    // The kernel (or the sentry) writing into it on our behalf must fail with EFAULT...
    EXPECT_THAT(ProbeWritable(m.addr(), 8), SyscallFailsWithErrno(EFAULT));
    EXPECT_STREQ(m.addr(), "protected");
    // ...while the second page, still writable, accepts the same write.
    EXPECT_THAT(ProbeWritable(m.addr() + PageSize(), 8), SyscallSucceeds());
    EXPECT_EQ(std::string(m.addr() + PageSize(), 8), "wwwwwwww");
    // PROT_NONE blocks reads too.
    ASSERT_THAT(mprotect(m.addr(), PageSize(), PROT_NONE), SyscallSucceeds());
    EXPECT_THAT(ProbeReadable(m.addr(), 8), SyscallFailsWithErrno(EFAULT));
    ASSERT_THAT(mprotect(m.addr(), PageSize(), PROT_READ | PROT_WRITE), SyscallSucceeds());
    EXPECT_STREQ(m.addr(), "protected");
    EXPECT_THAT(ProbeReadable(m.addr(), 8), SyscallSucceeds());
}

TEST(MprotectTest, Errnos) {
    Mapping m(2 * PageSize(), PROT_READ);
    ASSERT_TRUE(m.ok());
    EXPECT_THAT(mprotect(m.addr() + 1, PageSize(), PROT_READ), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(mprotect(m.addr(), PageSize(), 0x1000), SyscallFailsWithErrno(EINVAL));
    char* hole = UnmappedRange(2);
    ASSERT_NE(hole, nullptr);
    EXPECT_THAT(mprotect(hole, PageSize(), PROT_READ), SyscallFailsWithErrno(ENOMEM));
    // A range that is only partly mapped: ENOMEM as well.
    char* partial = UnmappedRange(3);
    ASSERT_NE(partial, nullptr);
    ASSERT_THAT(RawMmap(partial, 2 * PageSize(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
                SyscallSucceeds());
    EXPECT_THAT(mprotect(partial, 3 * PageSize(), PROT_READ), SyscallFailsWithErrno(ENOMEM));
    munmap(partial, 2 * PageSize());
    // Length 0 is a no-op success.
    EXPECT_THAT(mprotect(m.addr(), 0, PROT_READ), SyscallSucceeds());
    // PROT_WRITE on a read-only shared file mapping is refused.
    Fd fd(open("/etc/os-release", O_RDONLY));
    ASSERT_TRUE(fd.ok());
    Mapping f(PageSize(), PROT_READ, MAP_SHARED, fd.get(), 0);
    ASSERT_TRUE(f.ok());
    EXPECT_THAT(mprotect(f.addr(), PageSize(), PROT_READ | PROT_WRITE), SyscallFailsWithErrno(EACCES));
}

TEST(MremapTest, GrowInPlace) {
    char* base = UnmappedRange(4);
    ASSERT_NE(base, nullptr);
    ASSERT_THAT(RawMmap(base, 2 * PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
                SyscallSucceeds());
    strcpy(base, "grow");
    EXPECT_THAT(mremap(base, 2 * PageSize(), 4 * PageSize(), 0),
                SyscallSucceedsWithValue(reinterpret_cast<long>(base)));
    EXPECT_STREQ(base, "grow");
    base[4 * PageSize() - 1] = 'e';
    EXPECT_EQ(base[3 * PageSize()], 0);
    munmap(base, 4 * PageSize());
}

TEST(MremapTest, GrowBlockedWithoutMaymove) {
    Mapping m(3 * PageSize(), PROT_READ | PROT_WRITE);
    ASSERT_TRUE(m.ok());
    ASSERT_THAT(mprotect(m.addr() + PageSize(), 2 * PageSize(), PROT_READ), SyscallSucceeds());
    // The first page cannot grow into the next one, which is a different mapping now.
    EXPECT_THAT(mremap(m.addr(), PageSize(), 2 * PageSize(), 0), SyscallFailsWithErrno(ENOMEM));
}

TEST(MremapTest, GrowWithMaymoveMovesAndKeepsContent) {
    Mapping m(3 * PageSize(), PROT_READ | PROT_WRITE);
    ASSERT_TRUE(m.ok());
    ASSERT_THAT(mprotect(m.addr() + PageSize(), 2 * PageSize(), PROT_READ), SyscallSucceeds());
    strcpy(m.addr(), "moving");
    void* moved = mremap(m.addr(), PageSize(), 8 * PageSize(), MREMAP_MAYMOVE);
    ASSERT_THAT(moved, SyscallSucceeds());
    EXPECT_NE(moved, m.addr());
    char* p = static_cast<char*>(moved);
    EXPECT_STREQ(p, "moving");
    EXPECT_EQ(p[8 * PageSize() - 1], 0);
    // The old first page is gone; the rest of the old range is untouched.
    EXPECT_FALSE(IsMapped(m.addr(), PageSize()));
    EXPECT_TRUE(IsMapped(m.addr() + PageSize(), 2 * PageSize()));
    munmap(m.addr() + PageSize(), 2 * PageSize());
    m.Release();
    munmap(moved, 8 * PageSize());
}

TEST(MremapTest, ShrinkUnmapsTail) {
    Mapping m(4 * PageSize(), PROT_READ | PROT_WRITE);
    ASSERT_TRUE(m.ok());
    strcpy(m.addr(), "shrink");
    EXPECT_THAT(mremap(m.addr(), 4 * PageSize(), PageSize(), 0),
                SyscallSucceedsWithValue(reinterpret_cast<long>(m.addr())));
    EXPECT_STREQ(m.addr(), "shrink");
    EXPECT_TRUE(IsMapped(m.addr(), PageSize()));
    EXPECT_FALSE(IsMapped(m.addr() + PageSize(), PageSize()));
    EXPECT_FALSE(IsMapped(m.addr() + 3 * PageSize(), PageSize()));
    munmap(m.addr(), PageSize());
    m.Release();
}

TEST(MremapTest, FixedMovesToGivenAddress) {
    Mapping m(2 * PageSize(), PROT_READ | PROT_WRITE);
    ASSERT_TRUE(m.ok());
    strcpy(m.addr() + PageSize(), "fixed");
    char* target = UnmappedRange(2);
    ASSERT_NE(target, nullptr);
    EXPECT_THAT(mremap(m.addr(), 2 * PageSize(), 2 * PageSize(), MREMAP_MAYMOVE | MREMAP_FIXED, target),
                SyscallSucceedsWithValue(reinterpret_cast<long>(target)));
    EXPECT_STREQ(target + PageSize(), "fixed");
    EXPECT_FALSE(IsMapped(m.addr(), PageSize()));
    m.Release();
    munmap(target, 2 * PageSize());
}

TEST(MremapTest, FixedReplacesWhatIsAtTheTarget) {
    Mapping src(PageSize(), PROT_READ | PROT_WRITE);
    Mapping dst(PageSize(), PROT_READ | PROT_WRITE);
    ASSERT_TRUE(src.ok() && dst.ok());
    strcpy(src.addr(), "src");
    strcpy(dst.addr(), "dst");
    EXPECT_THAT(mremap(src.addr(), PageSize(), PageSize(), MREMAP_MAYMOVE | MREMAP_FIXED, dst.addr()),
                SyscallSucceedsWithValue(reinterpret_cast<long>(dst.addr())));
    EXPECT_STREQ(dst.addr(), "src");
    EXPECT_FALSE(IsMapped(src.addr(), PageSize()));
    src.Release();
}

TEST(MremapTest, DontunmapLeavesEmptyOldRange) {
    Mapping m(PageSize(), PROT_READ | PROT_WRITE);
    ASSERT_TRUE(m.ok());
    strcpy(m.addr(), "kept");
    // Raw: glibc's variadic mremap passes garbage as new_address when MREMAP_FIXED is absent.
    long const addr = syscall(SYS_mremap, m.addr(), PageSize(), PageSize(), MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0);
    ASSERT_THAT(addr, SyscallSucceeds());
    void* moved = reinterpret_cast<void*>(addr);
    EXPECT_STREQ(static_cast<char*>(moved), "kept");
    EXPECT_TRUE(IsMapped(m.addr(), PageSize()));
    EXPECT_EQ(m.addr()[0], 0);
    munmap(moved, PageSize());
}

TEST(MremapTest, Errnos) {
    Mapping m(2 * PageSize(), PROT_READ | PROT_WRITE);
    ASSERT_TRUE(m.ok());
    EXPECT_THAT(mremap(m.addr() + 1, PageSize(), PageSize(), 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(mremap(m.addr(), PageSize(), 0, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(mremap(m.addr(), PageSize(), PageSize(), 0x80), SyscallFailsWithErrno(EINVAL));
    char* target = UnmappedRange(1);
    ASSERT_NE(target, nullptr);
    // MREMAP_FIXED needs MREMAP_MAYMOVE.
    EXPECT_THAT(mremap(m.addr(), PageSize(), PageSize(), MREMAP_FIXED, target), SyscallFailsWithErrno(EINVAL));
    // Source and target overlap.
    EXPECT_THAT(mremap(m.addr(), 2 * PageSize(), 2 * PageSize(), MREMAP_MAYMOVE | MREMAP_FIXED, m.addr() + PageSize()),
                SyscallFailsWithErrno(EINVAL));
    // Nothing mapped at the old address.
    EXPECT_THAT(mremap(target, PageSize(), 2 * PageSize(), MREMAP_MAYMOVE), SyscallFailsWithErrno(EFAULT));
    // The mapping is intact after all that.
    m.addr()[2 * PageSize() - 1] = 'i';
    EXPECT_TRUE(IsMapped(m.addr(), 2 * PageSize()));
}

TEST(BrkTest, QueryGrowShrink) {
    long const start = syscall(SYS_brk, 0);
    ASSERT_GT(start, 0);
    // Asking again gives the same answer.
    EXPECT_EQ(syscall(SYS_brk, 0), start);
    long const grown_to = start + 16 * static_cast<long>(PageSize());
    ASSERT_EQ(syscall(SYS_brk, grown_to), grown_to);
    EXPECT_EQ(syscall(SYS_brk, 0), grown_to);
    // The new memory is usable; the page containing the old break may hold malloc data, so only
    // the whole pages after it are checked for zeroes.
    long const first_new_page = (start + static_cast<long>(PageSize()) - 1) & ~(static_cast<long>(PageSize()) - 1);
    char* p = reinterpret_cast<char*>(first_new_page);
    for (long i = 0; first_new_page + i < grown_to; i += 256) ASSERT_EQ(p[i], 0) << "offset " << i;
    p[0] = 'b';
    EXPECT_EQ(p[0], 'b');
    // Shrinking releases the pages.
    ASSERT_EQ(syscall(SYS_brk, start), start);
    EXPECT_EQ(syscall(SYS_brk, 0), start);
    if (first_new_page + static_cast<long>(PageSize()) <= grown_to) {
        EXPECT_FALSE(IsMapped(p, PageSize()));
    }
    // Growing again gives fresh zero pages.
    ASSERT_EQ(syscall(SYS_brk, grown_to), grown_to);
    EXPECT_EQ(p[0], 0);
    ASSERT_EQ(syscall(SYS_brk, start), start);
}

TEST(BrkTest, InvalidRequestsLeaveBreakUnchanged) {
    long const start = syscall(SYS_brk, 0);
    // Below the data segment, or absurdly large: brk returns the current break, unchanged.
    EXPECT_EQ(syscall(SYS_brk, 4096), start);
    EXPECT_EQ(syscall(SYS_brk, 0x7ffffffff000l), start);
    EXPECT_EQ(syscall(SYS_brk, 0), start);
}

TEST(MadviseTest, DontneedZeroesPrivateAnonymous) {
    Mapping m(4 * PageSize(), PROT_READ | PROT_WRITE);
    ASSERT_TRUE(m.ok());
    memset(m.addr(), 'd', 4 * PageSize());
    ASSERT_THAT(madvise(m.addr() + PageSize(), 2 * PageSize(), MADV_DONTNEED), SyscallSucceeds());
    EXPECT_EQ(m.addr()[PageSize() - 1], 'd');
    EXPECT_EQ(m.addr()[PageSize()], 0);
    EXPECT_EQ(m.addr()[3 * PageSize() - 1], 0);
    EXPECT_EQ(m.addr()[3 * PageSize()], 'd');
}

TEST(MadviseTest, DontneedKeepsSharedAnonymous) {
    Mapping m(PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
    ASSERT_TRUE(m.ok());
    strcpy(m.addr(), "shared");
    ASSERT_THAT(madvise(m.addr(), PageSize(), MADV_DONTNEED), SyscallSucceeds());
    EXPECT_STREQ(m.addr(), "shared");
}

TEST(MadviseTest, Errnos) {
    Mapping m(PageSize(), PROT_READ);
    ASSERT_TRUE(m.ok());
    EXPECT_THAT(madvise(m.addr() + 1, PageSize(), MADV_NORMAL), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(madvise(m.addr(), PageSize(), 12345), SyscallFailsWithErrno(EINVAL));
    char* hole = UnmappedRange(1);
    ASSERT_NE(hole, nullptr);
    EXPECT_THAT(madvise(hole, PageSize(), MADV_NORMAL), SyscallFailsWithErrno(ENOMEM));
    EXPECT_THAT(madvise(m.addr(), PageSize(), MADV_WILLNEED), SyscallSucceeds());
}

TEST(MincoreTest, TouchedPagesAreResident) {
    Mapping m(3 * PageSize(), PROT_READ | PROT_WRITE);
    ASSERT_TRUE(m.ok());
    for (size_t i = 0; i < 3; ++i) m.addr()[i * PageSize()] = 1;
    unsigned char vec[3] = {0xff, 0xff, 0xff};
    ASSERT_THAT(mincore(m.addr(), 3 * PageSize(), vec), SyscallSucceeds());
    for (unsigned char v : vec) EXPECT_EQ(v & 1, 1);
    // Only the low bit is defined; the rest are reserved and zero.
    for (unsigned char v : vec) EXPECT_EQ(v & ~1, 0);
}

TEST(MincoreTest, Errnos) {
    Mapping m(PageSize(), PROT_READ);
    ASSERT_TRUE(m.ok());
    unsigned char vec[2];
    EXPECT_THAT(mincore(m.addr() + 1, PageSize(), vec), SyscallFailsWithErrno(EINVAL));
    char* hole = UnmappedRange(1);
    ASSERT_NE(hole, nullptr);
    EXPECT_THAT(mincore(hole, PageSize(), vec), SyscallFailsWithErrno(ENOMEM));
    EXPECT_THAT(syscall(SYS_mincore, m.addr(), PageSize(), kLowAddr), SyscallFailsWithErrno(EFAULT));
}

TEST(MmapTest, GrowsDownExpandsOnAccessBelow) {
    // Reserve room: the mapping needs the stack guard gap (256 pages) free below it to grow.
    size_t const reserve = 512 * PageSize();
    char* base = UnmappedRange(512);
    ASSERT_NE(base, nullptr);
    char* top = base + reserve - 2 * PageSize();
    ASSERT_THAT(RawMmap(top, 2 * PageSize(), PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN, -1, 0),
                SyscallSucceedsWithValue(reinterpret_cast<long>(top)));
    EXPECT_FALSE(IsMapped(top - PageSize(), PageSize()));
    // Touch the byte just below the mapping: it grows by a page instead of faulting.
    volatile char* below = top - 1;
    *below = 'g';
    EXPECT_EQ(*below, 'g');
    EXPECT_TRUE(IsMapped(top - PageSize(), PageSize()));
    munmap(top - PageSize(), 3 * PageSize());
}

}  // namespace
}  // namespace moat::conformance
