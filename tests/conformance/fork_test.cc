// fork(2), vfork(2), clone(2)/clone3(2) flag checks: the child's view of memory and fds.

#include "tests/conformance/process_util.h"
#include "tests/conformance/test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace moat::conformance {
namespace {

TEST(ForkTest, ChildSeesZeroAndItsOwnPid) {
    int fds[2];
    ASSERT_THAT(pipe(fds), SyscallSucceeds());
    pid_t parent = getpid();
    pid_t pid = ForkAndRun([&] {
        pid_t mine[2] = {getpid(), getppid()};
        return write(fds[1], mine, sizeof(mine)) == sizeof(mine) ? 0 : 1;
    });
    ASSERT_THAT(pid, SyscallSucceedsWithValue(::testing::Gt(0)));
    pid_t got[2] = {};
    ASSERT_EQ(read(fds[0], got, sizeof(got)), static_cast<ssize_t>(sizeof(got)));
    EXPECT_EQ(got[0], pid);
    EXPECT_EQ(got[1], parent);
    EXPECT_NE(pid, parent);
    int status = WaitStatus(pid);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    close(fds[0]);
    close(fds[1]);
}

TEST(ForkTest, PrivateMemoryIsCopyOnWrite) {
    static volatile int value = 1;
    Mapping m(PageSize(), PROT_READ | PROT_WRITE);
    ASSERT_NE(m.addr(), nullptr);
    m.addr()[0] = 'p';
    pid_t pid = ForkAndRun([&] {
        value = 2;
        m.addr()[0] = 'c';
        return (value == 2 && m.addr()[0] == 'c') ? 0 : 1;
    });
    ASSERT_GT(pid, 0);
    EXPECT_EQ(WaitStatus(pid), 0);
    EXPECT_EQ(value, 1);
    EXPECT_EQ(m.addr()[0], 'p');
}

TEST(ForkTest, ParentWritesAfterForkAreInvisibleToChild) {
    static volatile int value = 1;
    int go[2], done[2];
    ASSERT_THAT(pipe(go), SyscallSucceeds());
    ASSERT_THAT(pipe(done), SyscallSucceeds());
    pid_t pid = ForkAndRun([&] {
        char c;
        if (read(go[0], &c, 1) != 1)
            return 2;
        return value == 1 ? 0 : 1;
    });
    ASSERT_GT(pid, 0);
    value = 5;
    ASSERT_EQ(write(go[1], "x", 1), 1);
    EXPECT_EQ(WaitStatus(pid), 0);
    for (int fd : {go[0], go[1], done[0], done[1]})
        close(fd);
}

TEST(ForkTest, SharedMappingStaysShared) {
    Mapping m(PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
    ASSERT_NE(m.addr(), nullptr);
    m.addr()[0] = 'p';
    pid_t pid = ForkAndRun([&] {
        m.addr()[0] = 'c';
        return 0;
    });
    ASSERT_GT(pid, 0);
    EXPECT_EQ(WaitStatus(pid), 0);
    EXPECT_EQ(m.addr()[0], 'c');
}

TEST(ForkTest, FdTableIsCopied) {
    int fds[2];
    ASSERT_THAT(pipe(fds), SyscallSucceeds());
    pid_t pid = ForkAndRun([&] {
        // Closing in the child leaves the parent's fds alone; a dup lands in the child only.
        close(fds[0]);
        if (dup2(fds[1], 100) != 100)
            return 1;
        return write(100, "z", 1) == 1 ? 0 : 2;
    });
    ASSERT_GT(pid, 0);
    EXPECT_EQ(WaitStatus(pid), 0);
    EXPECT_THAT(fcntl(fds[0], F_GETFD), SyscallSucceeds());
    EXPECT_THAT(fcntl(100, F_GETFD), SyscallFailsWithErrno(EBADF));
    char c = 0;
    ASSERT_EQ(read(fds[0], &c, 1), 1);  // the description (and its buffer) is shared
    EXPECT_EQ(c, 'z');
    close(fds[0]);
    close(fds[1]);
}

TEST(ForkTest, VforkSharesMemoryUntilExit) {
    static volatile int value = 0;
    pid_t pid = vfork();
    if (pid == 0) {
        value = 7;
        _exit(3);
    }
    ASSERT_GT(pid, 0);
    // The parent resumed only after the child's _exit, and saw its write.
    EXPECT_EQ(value, 7);
    int status = WaitStatus(pid);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 3);
}

TEST(ForkTest, CloneWithoutSignalIsAForkLikeChild) {
    long pid = syscall(SYS_clone, 0L, 0L, 0L, 0L, 0L);
    if (pid == 0)
        _exit(4);
    ASSERT_GT(pid, 0);
    int status = 0;
    EXPECT_EQ(waitpid(static_cast<pid_t>(pid), &status, __WCLONE), pid);
    EXPECT_EQ(WEXITSTATUS(status), 4);
}

TEST(CloneFlagsTest, InvalidCombinations) {
    EXPECT_THAT(syscall(SYS_clone, static_cast<long>(CLONE_THREAD | CLONE_VM), 0L, 0L, 0L, 0L),
                SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_clone, static_cast<long>(CLONE_SIGHAND), 0L, 0L, 0L, 0L), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_clone, static_cast<long>(CLONE_FS | CLONE_NEWNS), 0L, 0L, 0L, 0L),
                SyscallFailsWithErrno(EINVAL));
}

TEST(CloneFlagsTest, Clone3StructSize) {
    struct clone_args args {};
    args.exit_signal = SIGCHLD;
    EXPECT_THAT(syscall(SYS_clone3, &args, 32L), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_clone3, &args, 8192L), SyscallFailsWithErrno(E2BIG));
    // A bigger struct is fine only if the unknown tail is zero.
    Mapping m(PageSize(), PROT_READ | PROT_WRITE);
    ASSERT_NE(m.addr(), nullptr);
    memcpy(m.addr(), &args, sizeof(args));
    m.addr()[sizeof(args) + 8] = 1;
    EXPECT_THAT(syscall(SYS_clone3, m.addr(), static_cast<long>(sizeof(args) + 16)), SyscallFailsWithErrno(E2BIG));
    // Reserved bits: a signal in flags, or a bad exit signal.
    struct clone_args bad {};
    bad.flags = SIGCHLD;
    EXPECT_THAT(syscall(SYS_clone3, &bad, static_cast<long>(sizeof(bad))), SyscallFailsWithErrno(EINVAL));
    bad = {};
    bad.exit_signal = 0x100;
    EXPECT_THAT(syscall(SYS_clone3, &bad, static_cast<long>(sizeof(bad))), SyscallFailsWithErrno(EINVAL));
    bad = {};
    bad.stack_size = 4096;  // stack_size without stack
    EXPECT_THAT(syscall(SYS_clone3, &bad, static_cast<long>(sizeof(bad))), SyscallFailsWithErrno(EINVAL));
}

TEST(CloneFlagsTest, Clone3Forks) {
    struct clone_args args {};
    args.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &args, static_cast<long>(sizeof(args)));
    if (pid == 0)
        _exit(6);
    ASSERT_GT(pid, 0);
    int status = WaitStatus(static_cast<pid_t>(pid));
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 6);
}

}  // namespace
}  // namespace moat::conformance
