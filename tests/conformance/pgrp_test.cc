// Process groups and sessions: setpgid, getpgid, setsid, getsid, getpgrp.

#include "tests/conformance/process_util.h"
#include "tests/conformance/test_util.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

namespace moat::conformance {
namespace {

TEST(PgrpTest, Basics) {
    EXPECT_EQ(syscall(SYS_getpgid, 0), syscall(SYS_getpgrp));
    EXPECT_EQ(syscall(SYS_getsid, getpid()), syscall(SYS_getsid, 0));
    EXPECT_THAT(setpgid(0, -1), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(setpgid(0x3fffffff, 0), SyscallFailsWithErrno(ESRCH));
    EXPECT_THAT(syscall(SYS_getsid, 0x3fffffff), SyscallFailsWithErrno(ESRCH));
}

TEST(PgrpTest, ChildMakesItsOwnGroupThenCannotSetsid) {
    pid_t pid = ForkAndRun([] {
        if (setpgid(0, 0) != 0)
            return 1;
        if (getpgrp() != getpid())
            return 2;
        // A process group leader cannot start a session.
        if (setsid() != -1 || errno != EPERM)
            return 3;
        // A group that does not exist in the session cannot be joined.
        if (setpgid(0, 0x3fffffff) != -1 || errno != EPERM)
            return 4;
        return 0;
    });
    EXPECT_EQ(WaitStatus(pid), 0);
}

TEST(PgrpTest, Setsid) {
    pid_t pid = ForkAndRun([] {
        pid_t sid = setsid();
        if (sid != getpid())
            return 1;
        if (getsid(0) != sid || getpgrp() != sid)
            return 2;
        if (setsid() != -1 || errno != EPERM)
            return 3;
        // A session leader cannot change its group.
        if (setpgid(0, 0) != -1 || errno != EPERM)
            return 4;
        return 0;
    });
    EXPECT_EQ(WaitStatus(pid), 0);
}

// Runs as a new session leader so that the groups involved all live in this PID namespace (under
// a container runtime the test runner's own group may be 0: its leader is outside).
TEST(PgrpTest, ParentMovesChild) {
    pid_t const leader = ForkAndRun([] {
        if (setsid() < 0)
            return 10;
        int fds[2];
        if (pipe(fds) < 0)
            return 11;
        pid_t const pid = ForkAndRun([&] {
            close(fds[1]);
            char c;
            (void)read(fds[0], &c, 1);
            return getpgrp() == getpid() ? 0 : 1;
        });
        close(fds[0]);
        if (pid <= 0)
            return 12;
        if (setpgid(pid, 0) != 0 || syscall(SYS_getpgid, pid) != pid)
            return 13;
        if (getsid(pid) != getsid(0) || getsid(0) != getpid())
            return 14;
        // And back into ours.
        if (setpgid(pid, getpgrp()) != 0 || syscall(SYS_getpgid, pid) != getpgrp())
            return 15;
        if (setpgid(pid, pid) != 0)
            return 16;
        close(fds[1]);
        return WaitStatus(pid) == 0 ? 0 : 17;
    });
    ASSERT_GT(leader, 0);
    EXPECT_EQ(WaitStatus(leader), 0);
}

TEST(PgrpTest, ChildAfterExecIsEacces) {
    int in[2], execd[2];
    ASSERT_THAT(pipe(in), SyscallSucceeds());
    ASSERT_THAT(pipe2(execd, O_CLOEXEC), SyscallSucceeds());
    std::string helper = HelperPath("proc_helper");
    pid_t pid = ForkAndRun([&] {
        dup2(in[0], 0);
        close(in[1]);
        close(execd[0]);
        char* argv[] = {const_cast<char*>("x"), const_cast<char*>("read"), nullptr};
        syscall(SYS_execve, helper.c_str(), argv, nullptr);
        return 127;
    });
    ASSERT_GT(pid, 0);
    close(in[0]);
    close(execd[1]);
    char c;
    EXPECT_EQ(read(execd[0], &c, 1), 0);  // EOF: the child exec'd (close-on-exec)
    EXPECT_THAT(setpgid(pid, pid), SyscallFailsWithErrno(EACCES));
    close(in[1]);
    EXPECT_EQ(WaitStatus(pid), 0);
    close(execd[0]);
}

}  // namespace
}  // namespace moat::conformance
