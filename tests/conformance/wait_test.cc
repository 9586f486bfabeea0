// wait4(2) and waitid(2): statuses, options, errnos, zombies, reparenting to a subreaper.

#include "tests/conformance/process_util.h"
#include "tests/conformance/test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace moat::conformance {
namespace {

TEST(WaitTest, ExitStatus) {
    pid_t pid = ForkAndRun([] { return 42; });
    ASSERT_GT(pid, 0);
    int status = 0;
    struct rusage ru;
    memset(&ru, 0xff, sizeof(ru));
    EXPECT_THAT(syscall(SYS_wait4, pid, &status, 0, &ru), SyscallSucceedsWithValue(pid));
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 42);
    EXPECT_GE(ru.ru_utime.tv_sec, 0);
    // Reaped: waiting again finds nothing.
    EXPECT_THAT(syscall(SYS_wait4, pid, &status, 0, nullptr), SyscallFailsWithErrno(ECHILD));
}

TEST(WaitTest, KilledBySignal) {
    pid_t pid = ForkAndRun([] {
        syscall(SYS_kill, getpid(), SIGKILL);
        return 0;
    });
    ASSERT_GT(pid, 0);
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    ASSERT_THAT(waitid(P_PID, pid, &si, WEXITED), SyscallSucceeds());
    EXPECT_EQ(si.si_signo, SIGCHLD);
    EXPECT_EQ(si.si_code, CLD_KILLED);
    EXPECT_EQ(si.si_status, SIGKILL);
    EXPECT_EQ(si.si_pid, pid);
}

TEST(WaitTest, NoChildren) {
    EXPECT_THAT(syscall(SYS_wait4, -1L, nullptr, 0L, nullptr), SyscallFailsWithErrno(ECHILD));
    EXPECT_THAT(syscall(SYS_wait4, -1L, nullptr, static_cast<long>(WNOHANG), nullptr), SyscallFailsWithErrno(ECHILD));
    EXPECT_THAT(syscall(SYS_wait4, 0x3fffffffL, nullptr, 0L, nullptr), SyscallFailsWithErrno(ECHILD));
    siginfo_t si;
    EXPECT_THAT(waitid(P_ALL, 0, &si, WEXITED), SyscallFailsWithErrno(ECHILD));
}

TEST(WaitTest, BadOptions) {
    EXPECT_THAT(syscall(SYS_wait4, -1L, nullptr, static_cast<long>(WNOWAIT), nullptr), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_wait4, -1L, nullptr, 0x100L, nullptr), SyscallFailsWithErrno(EINVAL));
    siginfo_t si;
    EXPECT_THAT(syscall(SYS_waitid, P_ALL, 0L, &si, 0L, nullptr), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_waitid, 42L, 0L, &si, static_cast<long>(WEXITED), nullptr), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_waitid, P_PID, 0L, &si, static_cast<long>(WEXITED), nullptr),
                SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_waitid, P_PGID, -1L, &si, static_cast<long>(WEXITED), nullptr),
                SyscallFailsWithErrno(EINVAL));
}

TEST(WaitTest, WnohangWhileChildRuns) {
    int fds[2];
    ASSERT_THAT(pipe(fds), SyscallSucceeds());
    pid_t pid = ForkAndRun([&] {
        close(fds[1]);
        char c;
        return read(fds[0], &c, 1) == 0 ? 5 : 6;  // EOF once the parent closes its end
    });
    ASSERT_GT(pid, 0);
    close(fds[0]);
    int status = -1;
    EXPECT_THAT(syscall(SYS_wait4, pid, &status, static_cast<long>(WNOHANG), nullptr), SyscallSucceedsWithValue(0));
    siginfo_t si;
    memset(&si, 0xff, sizeof(si));
    EXPECT_THAT(waitid(P_PID, pid, &si, WEXITED | WNOHANG), SyscallSucceeds());
    EXPECT_EQ(si.si_pid, 0);  // nothing to report: zeroed
    close(fds[1]);
    EXPECT_THAT(syscall(SYS_wait4, pid, &status, 0L, nullptr), SyscallSucceedsWithValue(pid));
    EXPECT_EQ(WEXITSTATUS(status), 5);
}

TEST(WaitTest, WnowaitLeavesTheZombie) {
    pid_t pid = ForkAndRun([] { return 3; });
    ASSERT_GT(pid, 0);
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    ASSERT_THAT(waitid(P_PID, pid, &si, WEXITED | WNOWAIT), SyscallSucceeds());
    EXPECT_EQ(si.si_pid, pid);
    EXPECT_EQ(si.si_code, CLD_EXITED);
    EXPECT_EQ(si.si_status, 3);
    EXPECT_EQ(si.si_uid, getuid());
    // Still there: a zombie keeps its pid and process group.
    EXPECT_THAT(syscall(SYS_getpgid, pid), SyscallSucceedsWithValue(getpgrp()));
    int status = 0;
    EXPECT_THAT(syscall(SYS_wait4, pid, &status, 0L, nullptr), SyscallSucceedsWithValue(pid));
    EXPECT_EQ(WEXITSTATUS(status), 3);
    EXPECT_THAT(syscall(SYS_getpgid, pid), SyscallFailsWithErrno(ESRCH));
}

TEST(WaitTest, AnyChildAndOwnGroup) {
    pid_t a = ForkAndRun([] { return 1; });
    pid_t b = ForkAndRun([] { return 2; });
    ASSERT_GT(a, 0);
    ASSERT_GT(b, 0);
    int seen = 0;
    for (int i = 0; i < 2; ++i) {
        int status = 0;
        pid_t r = static_cast<pid_t>(syscall(SYS_wait4, i == 0 ? -1L : 0L, &status, 0L, nullptr));
        ASSERT_TRUE(r == a || r == b) << r;
        EXPECT_EQ(WEXITSTATUS(status), r == a ? 1 : 2);
        seen |= r == a ? 1 : 2;
    }
    EXPECT_EQ(seen, 3);
}

TEST(WaitTest, ByProcessGroup) {
    int fds[2];
    ASSERT_THAT(pipe(fds), SyscallSucceeds());
    pid_t pid = ForkAndRun([&] {
        close(fds[1]);
        char c;
        (void)read(fds[0], &c, 1);
        return 8;
    });
    ASSERT_GT(pid, 0);
    close(fds[0]);
    ASSERT_THAT(setpgid(pid, pid), SyscallSucceeds());
    // Not in our group any more.
    EXPECT_THAT(syscall(SYS_wait4, 0L, nullptr, static_cast<long>(WNOHANG), nullptr), SyscallFailsWithErrno(ECHILD));
    close(fds[1]);
    int status = 0;
    EXPECT_THAT(syscall(SYS_wait4, static_cast<long>(-pid), &status, 0L, nullptr), SyscallSucceedsWithValue(pid));
    EXPECT_EQ(WEXITSTATUS(status), 8);
}

TEST(WaitTest, ReparentedToSubreaper) {
    ASSERT_THAT(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), SyscallSucceeds());
    int flag = 0;
    ASSERT_THAT(prctl(PR_GET_CHILD_SUBREAPER, &flag, 0, 0, 0), SyscallSucceeds());
    EXPECT_EQ(flag, 1);
    int go[2], report[2];
    ASSERT_THAT(pipe(go), SyscallSucceeds());
    ASSERT_THAT(pipe(report), SyscallSucceeds());
    pid_t middle = ForkAndRun([&] {
        pid_t grandchild = ForkAndRun([&] {
            char c;
            if (read(go[0], &c, 1) != 1)
                return 1;
            pid_t ppid = getppid();
            return write(report[1], &ppid, sizeof(ppid)) == sizeof(ppid) ? 0 : 2;
        });
        if (grandchild < 0)
            return 3;
        return write(report[1], &grandchild, sizeof(grandchild)) == sizeof(grandchild) ? 0 : 4;
    });
    ASSERT_GT(middle, 0);
    pid_t grandchild = 0;
    ASSERT_EQ(read(report[0], &grandchild, sizeof(grandchild)), static_cast<ssize_t>(sizeof(grandchild)));
    EXPECT_EQ(WaitStatus(middle), 0);
    // The orphan is ours now.
    ASSERT_EQ(write(go[1], "g", 1), 1);
    pid_t ppid = 0;
    ASSERT_EQ(read(report[0], &ppid, sizeof(ppid)), static_cast<ssize_t>(sizeof(ppid)));
    EXPECT_EQ(ppid, getpid());
    int status = -1;
    EXPECT_THAT(syscall(SYS_wait4, grandchild, &status, 0L, nullptr), SyscallSucceedsWithValue(grandchild));
    EXPECT_EQ(status, 0);
    ASSERT_THAT(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), SyscallSucceeds());
    for (int fd : {go[0], go[1], report[0], report[1]})
        close(fd);
}

TEST(WaitTest, StoppedAndContinued) {
    int fds[2];
    ASSERT_THAT(pipe(fds), SyscallSucceeds());
    pid_t pid = ForkAndRun([&] {
        close(fds[1]);
        raise(SIGSTOP);
        char c;
        (void)read(fds[0], &c, 1);  // stay alive until the parent saw the continue
        return 4;
    });
    ASSERT_GT(pid, 0);
    close(fds[0]);
    int status = 0;
    ASSERT_THAT(syscall(SYS_wait4, pid, &status, static_cast<long>(WUNTRACED), nullptr), SyscallSucceedsWithValue(pid));
    EXPECT_TRUE(WIFSTOPPED(status));
    EXPECT_EQ(WSTOPSIG(status), SIGSTOP);
    // Reported once.
    EXPECT_THAT(syscall(SYS_wait4, pid, &status, static_cast<long>(WUNTRACED | WNOHANG), nullptr),
                SyscallSucceedsWithValue(0));
    ASSERT_THAT(kill(pid, SIGCONT), SyscallSucceeds());
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    ASSERT_THAT(waitid(P_PID, pid, &si, WCONTINUED), SyscallSucceeds());
    EXPECT_EQ(si.si_code, CLD_CONTINUED);
    EXPECT_EQ(si.si_status, SIGCONT);
    EXPECT_EQ(si.si_pid, pid);
    close(fds[1]);
    ASSERT_THAT(syscall(SYS_wait4, pid, &status, 0L, nullptr), SyscallSucceedsWithValue(pid));
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 4);
}

TEST(WaitTest, IgnoredSigchldReapsAutomatically) {
    struct sigaction ign {}, old {};
    ign.sa_handler = SIG_IGN;
    ASSERT_THAT(sigaction(SIGCHLD, &ign, &old), SyscallSucceeds());
    pid_t pid = ForkAndRun([] { return 0; });
    ASSERT_GT(pid, 0);
    // With SIGCHLD ignored, wait blocks until the child is gone and then reports ECHILD.
    EXPECT_THAT(syscall(SYS_wait4, pid, nullptr, 0L, nullptr), SyscallFailsWithErrno(ECHILD));
    ASSERT_THAT(sigaction(SIGCHLD, &old, nullptr), SyscallSucceeds());
}

}  // namespace
}  // namespace moat::conformance
