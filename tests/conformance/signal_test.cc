// Conformance: sending and the pending set — raise(3)/kill(2)/tgkill(2), sigprocmask(2),
// sigpending(2), signal 0, bad signal numbers.

#include "tests/conformance/test_util.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

std::atomic<int> g_count{0};
std::atomic<int> g_last_signo{0};
std::atomic<int> g_last_code{0};
std::atomic<pid_t> g_last_pid{0};

void CountingHandler(int sig, siginfo_t* info, void*) {
    g_count.fetch_add(1);
    g_last_signo = sig;
    g_last_code = info->si_code;
    g_last_pid = info->si_pid;
}

class SignalTest : public ::testing::Test {
protected:
    void SetUp() override {
        g_count = 0;
        g_last_signo = 0;
        sigset_t none;
        sigemptyset(&none);
        ASSERT_EQ(sigprocmask(SIG_SETMASK, &none, &m_old_mask), 0);
    }
    void TearDown() override {
        sigprocmask(SIG_SETMASK, &m_old_mask, nullptr);
        signal(SIGUSR1, SIG_DFL);
        signal(SIGUSR2, SIG_DFL);
        signal(SIGRTMIN, SIG_DFL);
    }
    void Install(int sig) {
        struct sigaction sa {};
        sa.sa_sigaction = CountingHandler;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        ASSERT_EQ(sigaction(sig, &sa, nullptr), 0);
    }
    sigset_t m_old_mask;
};

TEST_F(SignalTest, RaiseRunsHandlerBeforeReturning) {
    Install(SIGUSR1);
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(g_count.load(), 1);
    EXPECT_EQ(g_last_signo.load(), SIGUSR1);
}

TEST_F(SignalTest, RaiseInALoop) {
    Install(SIGUSR1);
    for (int i = 0; i < 1000; ++i)
        ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(g_count.load(), 1000);
}

TEST_F(SignalTest, KillSelfReportsSender) {
    Install(SIGUSR2);
    ASSERT_THAT(kill(getpid(), SIGUSR2), SyscallSucceeds());
    EXPECT_EQ(g_count.load(), 1);
    EXPECT_EQ(g_last_code.load(), SI_USER);
    EXPECT_EQ(g_last_pid.load(), getpid());
}

TEST_F(SignalTest, TgkillReportsTkill) {
    Install(SIGUSR2);
    ASSERT_THAT(syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2), SyscallSucceeds());
    EXPECT_EQ(g_count.load(), 1);
    EXPECT_EQ(g_last_code.load(), SI_TKILL);
}

TEST_F(SignalTest, SignalZeroChecksExistence) {
    EXPECT_THAT(kill(getpid(), 0), SyscallSucceeds());
    EXPECT_THAT(kill(0, 0), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_tgkill, getpid(), gettid(), 0), SyscallSucceeds());
    EXPECT_THAT(kill(999999, 0), SyscallFailsWithErrno(ESRCH));
    EXPECT_THAT(syscall(SYS_tgkill, getpid(), 999999, 0), SyscallFailsWithErrno(ESRCH));
}

TEST_F(SignalTest, BadSignalNumbers) {
    EXPECT_THAT(kill(getpid(), 65), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(kill(getpid(), -1), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_tgkill, getpid(), gettid(), 65), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_tgkill, 0, gettid(), SIGUSR1), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_tkill, -1, SIGUSR1), SyscallFailsWithErrno(EINVAL));
    struct sigaction sa {};
    sa.sa_handler = SIG_IGN;
    EXPECT_THAT(sigaction(SIGKILL, &sa, nullptr), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(sigaction(SIGSTOP, &sa, nullptr), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_rt_sigaction, 0, nullptr, nullptr, 8), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_rt_sigaction, 65, nullptr, nullptr, 8), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_rt_sigaction, SIGUSR1, nullptr, nullptr, 4), SyscallFailsWithErrno(EINVAL));
}

TEST_F(SignalTest, BlockedSignalStaysPendingUntilUnblocked) {
    Install(SIGUSR1);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, nullptr), 0);
    ASSERT_EQ(raise(SIGUSR1), 0);
    ASSERT_EQ(raise(SIGUSR1), 0);  // a standard signal coalesces
    EXPECT_EQ(g_count.load(), 0);
    sigset_t pending;
    sigemptyset(&pending);
    ASSERT_EQ(sigpending(&pending), 0);
    EXPECT_TRUE(sigismember(&pending, SIGUSR1));
    EXPECT_FALSE(sigismember(&pending, SIGUSR2));
    ASSERT_EQ(sigprocmask(SIG_UNBLOCK, &set, nullptr), 0);
    EXPECT_EQ(g_count.load(), 1);
    ASSERT_EQ(sigpending(&pending), 0);
    EXPECT_FALSE(sigismember(&pending, SIGUSR1));
}

TEST_F(SignalTest, RealTimeSignalsQueue) {
    Install(SIGRTMIN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, nullptr), 0);
    for (int i = 0; i < 3; ++i)
        ASSERT_EQ(raise(SIGRTMIN), 0);
    EXPECT_EQ(g_count.load(), 0);
    ASSERT_EQ(sigprocmask(SIG_UNBLOCK, &set, nullptr), 0);
    EXPECT_EQ(g_count.load(), 3);
}

TEST_F(SignalTest, IgnoredSignalIsDropped) {
    ASSERT_NE(signal(SIGUSR1, SIG_IGN), SIG_ERR);
    ASSERT_EQ(raise(SIGUSR1), 0);
    sigset_t pending;
    ASSERT_EQ(sigpending(&pending), 0);
    EXPECT_FALSE(sigismember(&pending, SIGUSR1));
}

TEST_F(SignalTest, IgnoringDiscardsPending) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, nullptr), 0);
    ASSERT_EQ(raise(SIGUSR1), 0);
    sigset_t pending;
    ASSERT_EQ(sigpending(&pending), 0);
    EXPECT_TRUE(sigismember(&pending, SIGUSR1));
    ASSERT_NE(signal(SIGUSR1, SIG_IGN), SIG_ERR);
    ASSERT_EQ(sigpending(&pending), 0);
    EXPECT_FALSE(sigismember(&pending, SIGUSR1));
}

TEST_F(SignalTest, DefaultIgnoredSignalDoesNothing) {
    ASSERT_EQ(raise(SIGCHLD), 0);
    ASSERT_EQ(raise(SIGWINCH), 0);
    ASSERT_EQ(raise(SIGCONT), 0);
}

TEST_F(SignalTest, SigqueueinfoRules) {
    Install(SIGUSR1);
    siginfo_t info{};
    info.si_code = SI_QUEUE;
    info.si_value.sival_int = 42;
    EXPECT_THAT(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &info), SyscallSucceeds());
    EXPECT_EQ(g_count.load(), 1);
    EXPECT_EQ(g_last_code.load(), SI_QUEUE);
    info.si_code = SI_USER;  // only the kernel may claim kill() for another process
    EXPECT_THAT(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &info), SyscallSucceeds());
    EXPECT_THAT(syscall(SYS_rt_sigqueueinfo, 999999, SIGUSR1, &info), SyscallFailsWithErrno(EPERM));
}

}  // namespace
}  // namespace moat::conformance
