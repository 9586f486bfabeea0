// Conformance: FIFOs made with mknod/mkfifo and opened by name — fifo_open's blocking and
// O_NONBLOCK rules (ENXIO for a lone non-blocking writer), data through the FIFO, EOF, O_RDWR.

#include "tests/conformance/process_util.h"
#include "tests/conformance/temp_dir.h"
#include "tests/conformance/test_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

class FifoTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(m_dir.ok());
        m_path = m_dir / "fifo";
        ASSERT_THAT(mkfifo(m_path.c_str(), 0600), SyscallSucceeds());
    }
    TempDir m_dir;
    std::string m_path;
};

TEST_F(FifoTest, NonblockingOpens) {
    EXPECT_THAT(open(m_path.c_str(), O_WRONLY | O_NONBLOCK), SyscallFailsWithErrno(ENXIO));
    Fd r(open(m_path.c_str(), O_RDONLY | O_NONBLOCK));
    ASSERT_GE(r.get(), 0);
    Fd w(open(m_path.c_str(), O_WRONLY | O_NONBLOCK));
    ASSERT_GE(w.get(), 0);
    struct stat st;
    ASSERT_THAT(fstat(w.get(), &st), SyscallSucceeds());
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
    struct stat by_name;
    ASSERT_THAT(stat(m_path.c_str(), &by_name), SyscallSucceeds());
    EXPECT_EQ(st.st_ino, by_name.st_ino);
    ASSERT_THAT(write(w.get(), "abc", 3), SyscallSucceedsWithValue(3));
    char buf[8];
    EXPECT_THAT(read(r.get(), buf, sizeof(buf)), SyscallSucceedsWithValue(3));
    EXPECT_THAT(read(r.get(), buf, sizeof(buf)), SyscallFailsWithErrno(EAGAIN));
    w = Fd();
    EXPECT_THAT(read(r.get(), buf, sizeof(buf)), SyscallSucceedsWithValue(0));
}

TEST_F(FifoTest, ReadWriteOpenNeverBlocks) {
    Fd rw(open(m_path.c_str(), O_RDWR));
    ASSERT_GE(rw.get(), 0);
    ASSERT_THAT(write(rw.get(), "x", 1), SyscallSucceedsWithValue(1));
    char c = 0;
    EXPECT_THAT(read(rw.get(), &c, 1), SyscallSucceedsWithValue(1));
    EXPECT_EQ(c, 'x');
}

TEST_F(FifoTest, BlockingOpensMeet) {
    pid_t pid = ForkAndRun([&] {
        int w = open(m_path.c_str(), O_WRONLY);  // blocks until the parent opens for reading
        if (w < 0)
            return 1;
        if (write(w, "hello", 5) != 5)
            return 2;
        close(w);
        return 0;
    });
    Fd r(open(m_path.c_str(), O_RDONLY));  // blocks until the child opens for writing
    ASSERT_GE(r.get(), 0);
    std::string got;
    char buf[16];
    ssize_t n;
    while ((n = read(r.get(), buf, sizeof(buf))) > 0)
        got.append(buf, static_cast<size_t>(n));
    EXPECT_EQ(got, "hello");
    EXPECT_EQ(WaitStatus(pid), 0);
}

TEST_F(FifoTest, WriterGetsEpipeWhenReaderLeaves) {
    Fd r(open(m_path.c_str(), O_RDONLY | O_NONBLOCK));
    Fd w(open(m_path.c_str(), O_WRONLY | O_NONBLOCK));
    ASSERT_GE(w.get(), 0);
    r = Fd();
    signal(SIGPIPE, SIG_IGN);
    EXPECT_THAT(write(w.get(), "x", 1), SyscallFailsWithErrno(EPIPE));
    signal(SIGPIPE, SIG_DFL);
}

}  // namespace
}  // namespace moat::conformance
