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
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>

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

std::atomic<int> g_usr1{0};
void CountUsr1(int) { g_usr1.fetch_add(1); }

TEST(ForkTest, VforkParentTakesASignalOnlyAfterTheChildExits) {
    // The vfork wait is killable only: a signal the child sends its parent stays pending and
    // its handler runs once vfork has returned, after the child's _exit.
    struct sigaction sa {}, old{};
    sa.sa_handler = CountUsr1;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
    g_usr1 = 0;
    static volatile int seen_by_child = -1;
    static volatile int value = 0;
    value = 0;
    pid_t pid = vfork();
    if (pid == 0) {
        syscall(SYS_kill, getppid(), SIGUSR1);
        timespec nap{0, 20 * 1000 * 1000};
        syscall(SYS_nanosleep, &nap, nullptr);
        seen_by_child = g_usr1.load();
        value = 7;
        _exit(0);
    }
    ASSERT_GT(pid, 0);
    EXPECT_EQ(value, 7);
    EXPECT_EQ(seen_by_child, 0);
    EXPECT_EQ(g_usr1.load(), 1);
    EXPECT_EQ(WaitStatus(pid), 0);
    sigaction(SIGUSR1, &old, nullptr);
}

TEST(ForkTest, VforkParentDiesOfSigkill) {
    pid_t pid = ForkAndRun([] {
        pid_t child = vfork();
        if (child == 0) {
            syscall(SYS_kill, getppid(), SIGKILL);
            timespec nap{0, 50 * 1000 * 1000};
            syscall(SYS_nanosleep, &nap, nullptr);
            _exit(0);
        }
        return 5;  // vfork returned: the parent was not killed
    });
    int status = WaitStatus(pid);
    EXPECT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
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

int IgnoreUsr2(void*) {
    struct sigaction sa {};
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGUSR2, &sa, nullptr) == 0 ? 0 : 1;
}

int ExecHelper(void* path) {
    char* argv[] = {const_cast<char*>("x"), const_cast<char*>("exit"), const_cast<char*>("0"), nullptr};
    syscall(SYS_execve, static_cast<const char*>(path), argv, nullptr);
    return 127;
}

void* Usr2Handler() {
    struct sigaction cur {};
    sigaction(SIGUSR2, nullptr, &cur);
    return reinterpret_cast<void*>(cur.sa_handler);
}

// clone(2) with CLONE_VM and `flags` running `fn(arg)` on its own stack; the wait status.
int CloneAndWait(int (*fn)(void*), void* arg, int flags) {
    Mapping stack(16 * PageSize(), PROT_READ | PROT_WRITE);
    if (!stack.addr())
        return -1;
    pid_t pid = clone(fn, stack.addr() + 16 * PageSize(), CLONE_VM | flags | SIGCHLD, arg);
    return pid > 0 ? WaitStatus(pid) : -1;
}

TEST(CloneFlagsTest, SighandSharesTheHandlerTable) {
    signal(SIGUSR2, SIG_DFL);
    // Without CLONE_SIGHAND the child changes its own copy.
    EXPECT_EQ(CloneAndWait(IgnoreUsr2, nullptr, 0), 0);
    EXPECT_EQ(Usr2Handler(), reinterpret_cast<void*>(SIG_DFL));
    // With it, the parent sees the child's change.
    EXPECT_EQ(CloneAndWait(IgnoreUsr2, nullptr, CLONE_SIGHAND), 0);
    EXPECT_EQ(Usr2Handler(), reinterpret_cast<void*>(SIG_IGN));
    signal(SIGUSR2, SIG_DFL);
}

TEST(CloneFlagsTest, ExecUnsharesTheHandlerTable) {
    // exec resets handled signals to SIG_DFL in the new image only: a process sharing the
    // table keeps its handler.
    struct sigaction sa {};
    sa.sa_handler = CountUsr1;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGUSR2, &sa, nullptr), 0);
    std::string helper = HelperPath("proc_helper");
    EXPECT_EQ(CloneAndWait(ExecHelper, helper.data(), CLONE_SIGHAND | CLONE_VFORK), 0);
    EXPECT_EQ(Usr2Handler(), reinterpret_cast<void*>(CountUsr1));
    signal(SIGUSR2, SIG_DFL);
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
