// Conformance: moving data between files — sendfile(2), splice(2), tee(2), vmsplice(2) and
// copy_file_range(2): offsets (argument or file position), pipes on either side, and Linux's
// EINVAL/EBADF/ESPIPE/EISDIR rules. Files live in a TempDir.

#include "tests/conformance/temp_dir.h"
#include "tests/conformance/test_util.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

class SpliceTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(m_dir.ok());
        m_src = Fd(open((m_dir / "src").c_str(), O_RDWR | O_CREAT, 0644));
        m_dst = Fd(open((m_dir / "dst").c_str(), O_RDWR | O_CREAT, 0644));
        ASSERT_TRUE(m_src.ok() && m_dst.ok());
        ASSERT_EQ(write(m_src.get(), "0123456789abcdefghij", 20), 20);
        ASSERT_EQ(lseek(m_src.get(), 0, SEEK_SET), 0);
        ASSERT_EQ(pipe(m_pipe), 0);
    }
    void TearDown() override {
        close(m_pipe[0]);
        close(m_pipe[1]);
    }
    static std::string Contents(int fd) {
        std::string out(256, '\0');
        ssize_t n = pread(fd, out.data(), out.size(), 0);
        out.resize(n > 0 ? static_cast<size_t>(n) : 0);
        return out;
    }
    static std::string Drain(int fd, size_t n) {
        std::string out(n, '\0');
        ssize_t got = read(fd, out.data(), n);
        out.resize(got > 0 ? static_cast<size_t>(got) : 0);
        return out;
    }
    static off_t Pos(int fd) { return lseek(fd, 0, SEEK_CUR); }

    TempDir m_dir;
    Fd m_src, m_dst;
    int m_pipe[2] = {-1, -1};
};

// ---- sendfile ----

TEST_F(SpliceTest, SendfileAtTheFilePositionAdvancesIt) {
    ASSERT_EQ(lseek(m_src.get(), 5, SEEK_SET), 5);
    EXPECT_THAT(sendfile(m_dst.get(), m_src.get(), nullptr, 4), SyscallSucceedsWithValue(4));
    EXPECT_EQ(Pos(m_src.get()), 9);
    EXPECT_EQ(Pos(m_dst.get()), 4);
    EXPECT_EQ(Contents(m_dst.get()), "5678");
}

TEST_F(SpliceTest, SendfileWithAnOffsetLeavesThePositionAlone) {
    off_t off = 10;
    EXPECT_THAT(sendfile(m_dst.get(), m_src.get(), &off, 100), SyscallSucceedsWithValue(10));
    EXPECT_EQ(off, 20);
    EXPECT_EQ(Pos(m_src.get()), 0);
    EXPECT_EQ(Contents(m_dst.get()), "abcdefghij");
    // At end of file: nothing moves.
    EXPECT_THAT(sendfile(m_dst.get(), m_src.get(), &off, 100), SyscallSucceedsWithValue(0));
}

TEST_F(SpliceTest, SendfileToAPipe) {
    EXPECT_THAT(sendfile(m_pipe[1], m_src.get(), nullptr, 6), SyscallSucceedsWithValue(6));
    EXPECT_EQ(Drain(m_pipe[0], 100), "012345");
}

TEST_F(SpliceTest, SendfileErrors) {
    off_t off = 0;
    EXPECT_THAT(sendfile(m_dst.get(), -1, nullptr, 1), SyscallFailsWithErrno(EBADF));
    EXPECT_THAT(sendfile(-1, m_src.get(), nullptr, 1), SyscallFailsWithErrno(EBADF));
    // The source must be readable, the destination writable.
    EXPECT_THAT(sendfile(m_dst.get(), m_pipe[1], nullptr, 1), SyscallFailsWithErrno(EBADF));
    EXPECT_THAT(sendfile(m_pipe[0], m_src.get(), nullptr, 1), SyscallFailsWithErrno(EBADF));
    // An offset needs a seekable source.
    EXPECT_THAT(sendfile(m_dst.get(), m_pipe[0], &off, 1), SyscallFailsWithErrno(ESPIPE));
    // A pipe is no source for sendfile, and appending destinations are refused.
    ASSERT_EQ(write(m_pipe[1], "x", 1), 1);
    EXPECT_THAT(sendfile(m_dst.get(), m_pipe[0], nullptr, 1), SyscallFailsWithErrno(EINVAL));
    Fd append(open((m_dir / "dst").c_str(), O_WRONLY | O_APPEND));
    EXPECT_THAT(sendfile(append.get(), m_src.get(), nullptr, 1), SyscallFailsWithErrno(EINVAL));
    off = -1;
    EXPECT_THAT(sendfile(m_dst.get(), m_src.get(), &off, 1), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_sendfile, m_dst.get(), m_src.get(), 1L, 1L), SyscallFailsWithErrno(EFAULT));
}

// ---- splice ----

TEST_F(SpliceTest, SpliceFileToPipeAndBack) {
    loff_t off = 2;
    EXPECT_THAT(splice(m_src.get(), &off, m_pipe[1], nullptr, 5, 0), SyscallSucceedsWithValue(5));
    EXPECT_EQ(off, 7);
    EXPECT_EQ(Pos(m_src.get()), 0);
    EXPECT_THAT(splice(m_pipe[0], nullptr, m_dst.get(), nullptr, 100, 0), SyscallSucceedsWithValue(5));
    EXPECT_EQ(Contents(m_dst.get()), "23456");
    EXPECT_EQ(Pos(m_dst.get()), 5);
    // Without an offset the source's file position is used and advanced.
    EXPECT_THAT(splice(m_src.get(), nullptr, m_pipe[1], nullptr, 3, 0), SyscallSucceedsWithValue(3));
    EXPECT_EQ(Pos(m_src.get()), 3);
    loff_t out_off = 10;
    EXPECT_THAT(splice(m_pipe[0], nullptr, m_dst.get(), &out_off, 3, 0), SyscallSucceedsWithValue(3));
    EXPECT_EQ(out_off, 13);
    EXPECT_EQ(Contents(m_dst.get()).substr(10), "012");
}

TEST_F(SpliceTest, SplicePipeToPipe) {
    int other[2];
    ASSERT_EQ(pipe(other), 0);
    ASSERT_EQ(write(m_pipe[1], "hello", 5), 5);
    EXPECT_THAT(splice(m_pipe[0], nullptr, other[1], nullptr, 3, 0), SyscallSucceedsWithValue(3));
    EXPECT_EQ(Drain(other[0], 100), "hel");
    EXPECT_EQ(Drain(m_pipe[0], 100), "lo");
    // Empty input, non-blocking: EAGAIN.
    EXPECT_THAT(splice(m_pipe[0], nullptr, other[1], nullptr, 3, SPLICE_F_NONBLOCK), SyscallFailsWithErrno(EAGAIN));
    // No writers left: end of file.
    close(m_pipe[1]);
    m_pipe[1] = -1;
    EXPECT_THAT(splice(m_pipe[0], nullptr, other[1], nullptr, 3, 0), SyscallSucceedsWithValue(0));
    close(other[0]);
    close(other[1]);
}

TEST_F(SpliceTest, SpliceErrors) {
    loff_t off = 0;
    EXPECT_THAT(splice(m_src.get(), nullptr, m_dst.get(), nullptr, 1, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(splice(m_pipe[0], &off, m_dst.get(), nullptr, 1, 0), SyscallFailsWithErrno(ESPIPE));
    EXPECT_THAT(splice(m_src.get(), nullptr, m_pipe[1], &off, 1, 0), SyscallFailsWithErrno(ESPIPE));
    EXPECT_THAT(splice(m_pipe[0], nullptr, m_pipe[1], nullptr, 1, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(splice(m_src.get(), nullptr, m_pipe[1], nullptr, 1, 0x100), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(splice(m_src.get(), nullptr, m_pipe[0], nullptr, 1, 0), SyscallFailsWithErrno(EBADF));
    EXPECT_THAT(splice(-1, nullptr, m_pipe[1], nullptr, 1, 0), SyscallFailsWithErrno(EBADF));
    // A zero length is 0 before anything is looked at.
    EXPECT_THAT(splice(-1, nullptr, -1, nullptr, 0, 0), SyscallSucceedsWithValue(0));
    Fd append(open((m_dir / "dst").c_str(), O_WRONLY | O_APPEND));
    ASSERT_EQ(write(m_pipe[1], "x", 1), 1);
    EXPECT_THAT(splice(m_pipe[0], nullptr, append.get(), nullptr, 1, 0), SyscallFailsWithErrno(EINVAL));
}

// ---- tee ----

TEST_F(SpliceTest, TeeCopiesWithoutConsuming) {
    int other[2];
    ASSERT_EQ(pipe(other), 0);
    ASSERT_EQ(write(m_pipe[1], "abcdef", 6), 6);
    EXPECT_THAT(tee(m_pipe[0], other[1], 4, 0), SyscallSucceedsWithValue(4));
    EXPECT_EQ(Drain(other[0], 100), "abcd");
    EXPECT_EQ(Drain(m_pipe[0], 100), "abcdef");
    EXPECT_THAT(tee(m_pipe[0], other[1], 4, SPLICE_F_NONBLOCK), SyscallFailsWithErrno(EAGAIN));
    EXPECT_THAT(tee(m_pipe[0], m_pipe[1], 4, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(tee(m_src.get(), other[1], 4, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(tee(other[1], m_pipe[1], 4, 0), SyscallFailsWithErrno(EBADF));
    close(other[0]);
    close(other[1]);
}

// ---- vmsplice ----

TEST_F(SpliceTest, VmspliceIntoAndOutOfAPipe) {
    char a[] = "vm", b[] = "splice";
    struct iovec in[2] = {{a, 2}, {b, 6}};
    EXPECT_THAT(vmsplice(m_pipe[1], in, 2, 0), SyscallSucceedsWithValue(8));
    char out[16] = {};
    struct iovec o = {out, 5};
    EXPECT_THAT(vmsplice(m_pipe[0], &o, 1, 0), SyscallSucceedsWithValue(5));
    EXPECT_STREQ(out, "vmspl");
    EXPECT_EQ(Drain(m_pipe[0], 100), "ice");
    EXPECT_THAT(vmsplice(m_pipe[0], &o, 1, SPLICE_F_NONBLOCK), SyscallFailsWithErrno(EAGAIN));
    EXPECT_THAT(vmsplice(m_src.get(), &o, 1, 0), SyscallFailsWithErrno(EBADF));
    EXPECT_THAT(vmsplice(m_pipe[1], &o, 1, 0x100), SyscallFailsWithErrno(EINVAL));
}

// ---- copy_file_range ----

TEST_F(SpliceTest, CopyFileRangeWithOffsetsAndPositions) {
    loff_t in_off = 4, out_off = 2;
    EXPECT_THAT(copy_file_range(m_src.get(), &in_off, m_dst.get(), &out_off, 6, 0), SyscallSucceedsWithValue(6));
    EXPECT_EQ(in_off, 10);
    EXPECT_EQ(out_off, 8);
    EXPECT_EQ(Pos(m_src.get()), 0);
    EXPECT_EQ(Pos(m_dst.get()), 0);
    EXPECT_EQ(Contents(m_dst.get()), std::string("\0\0" "456789", 8));
    // File positions when no offsets are given; the copy stops at the source's end.
    ASSERT_EQ(lseek(m_src.get(), 15, SEEK_SET), 15);
    EXPECT_THAT(copy_file_range(m_src.get(), nullptr, m_dst.get(), nullptr, 100, 0), SyscallSucceedsWithValue(5));
    EXPECT_EQ(Pos(m_src.get()), 20);
    EXPECT_EQ(Pos(m_dst.get()), 5);
    EXPECT_THAT(copy_file_range(m_src.get(), nullptr, m_dst.get(), nullptr, 100, 0), SyscallSucceedsWithValue(0));
}

TEST_F(SpliceTest, CopyFileRangeWithinOneFile) {
    loff_t in_off = 0, out_off = 30;
    EXPECT_THAT(copy_file_range(m_src.get(), &in_off, m_src.get(), &out_off, 10, 0), SyscallSucceedsWithValue(10));
    EXPECT_EQ(Contents(m_src.get()).substr(30), "0123456789");
    in_off = 0;
    out_off = 5;
    EXPECT_THAT(copy_file_range(m_src.get(), &in_off, m_src.get(), &out_off, 10, 0), SyscallFailsWithErrno(EINVAL));
}

TEST_F(SpliceTest, CopyFileRangeErrors) {
    EXPECT_THAT(copy_file_range(m_src.get(), nullptr, m_dst.get(), nullptr, 1, 1), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(copy_file_range(-1, nullptr, m_dst.get(), nullptr, 1, 0), SyscallFailsWithErrno(EBADF));
    Fd dir(open(m_dir.path().c_str(), O_RDONLY | O_DIRECTORY));
    EXPECT_THAT(copy_file_range(dir.get(), nullptr, m_dst.get(), nullptr, 1, 0), SyscallFailsWithErrno(EISDIR));
    EXPECT_THAT(copy_file_range(m_pipe[0], nullptr, m_dst.get(), nullptr, 1, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(copy_file_range(m_src.get(), nullptr, m_pipe[1], nullptr, 1, 0), SyscallFailsWithErrno(EINVAL));
    Fd ro(open((m_dir / "dst").c_str(), O_RDONLY));
    EXPECT_THAT(copy_file_range(m_src.get(), nullptr, ro.get(), nullptr, 1, 0), SyscallFailsWithErrno(EBADF));
    Fd append(open((m_dir / "dst").c_str(), O_WRONLY | O_APPEND));
    EXPECT_THAT(copy_file_range(m_src.get(), nullptr, append.get(), nullptr, 1, 0), SyscallFailsWithErrno(EBADF));
    loff_t neg = -1;
    EXPECT_THAT(copy_file_range(m_src.get(), &neg, m_dst.get(), nullptr, 1, 0), SyscallFailsWithErrno(EOVERFLOW));
    EXPECT_THAT(copy_file_range(m_src.get(), &neg, m_dst.get(), nullptr, 0, 0), SyscallFailsWithErrno(EINVAL));
}

}  // namespace
}  // namespace moat::conformance
