// Conformance: waiting for signals — sigsuspend(2), sigtimedwait(2)/sigwaitinfo(2), pause(2),
// and sleeps or reads that a signal interrupts (EINTR, remaining time, SA_RESTART).

#include "tests/conformance/test_util.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

std::atomic<int> g_calls{0};
void Handler(int) { g_calls++; }

class SigwaitTest : public ::testing::Test {
protected:
    void SetUp() override {
        g_calls = 0;
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
    }
    void TearDown() override {
        struct itimerval off {};
        setitimer(ITIMER_REAL, &off, nullptr);
        signal(SIGUSR1, SIG_DFL);
        signal(SIGALRM, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
    }
    void Install(int sig, int flags = 0) {
        struct sigaction sa {};
        sa.sa_handler = Handler;
        sa.sa_flags = flags;
        sigemptyset(&sa.sa_mask);
        ASSERT_EQ(sigaction(sig, &sa, nullptr), 0);
    }
    void Block(int sig) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, sig);
        ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, nullptr), 0);
    }
    static void AlarmIn(long usec) {
        struct itimerval it {};
        it.it_value.tv_sec = usec / 1000000;
        it.it_value.tv_usec = usec % 1000000;
        ASSERT_EQ(setitimer(ITIMER_REAL, &it, nullptr), 0);
    }
};

TEST_F(SigwaitTest, SigsuspendTakesAPendingSignalAndRestoresTheMask) {
    Install(SIGUSR1);
    Block(SIGUSR1);
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(g_calls.load(), 0);
    sigset_t empty;
    sigemptyset(&empty);
    EXPECT_THAT(sigsuspend(&empty), SyscallFailsWithErrno(EINTR));
    EXPECT_EQ(g_calls.load(), 1);
    sigset_t cur;
    sigprocmask(SIG_BLOCK, nullptr, &cur);
    EXPECT_TRUE(sigismember(&cur, SIGUSR1));
}

TEST_F(SigwaitTest, SigtimedwaitTimesOut) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    Block(SIGUSR1);
    timespec ts{0, 20 * 1000 * 1000};
    EXPECT_THAT(sigtimedwait(&set, nullptr, &ts), SyscallFailsWithErrno(EAGAIN));
    timespec zero{0, 0};
    EXPECT_THAT(sigtimedwait(&set, nullptr, &zero), SyscallFailsWithErrno(EAGAIN));
    timespec bad{0, 1000000000};
    EXPECT_THAT(sigtimedwait(&set, nullptr, &bad), SyscallFailsWithErrno(EINVAL));
}

TEST_F(SigwaitTest, SigtimedwaitTakesAPendingSignal) {
    Install(SIGUSR1);
    Block(SIGUSR1);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    siginfo_t info{};
    timespec ts{1, 0};
    EXPECT_THAT(sigtimedwait(&set, &info, &ts), SyscallSucceedsWithValue(SIGUSR1));
    EXPECT_EQ(info.si_signo, SIGUSR1);
    EXPECT_EQ(info.si_code, SI_USER);
    EXPECT_EQ(info.si_pid, getpid());
    EXPECT_EQ(g_calls.load(), 0);  // taken, not handled
    sigset_t pending;
    sigpending(&pending);
    EXPECT_FALSE(sigismember(&pending, SIGUSR1));
}

TEST_F(SigwaitTest, SigtimedwaitWakesForASignalFromATimer) {
    Block(SIGALRM);
    AlarmIn(20000);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    timespec ts{5, 0};
    EXPECT_THAT(sigtimedwait(&set, nullptr, &ts), SyscallSucceedsWithValue(SIGALRM));
}

TEST_F(SigwaitTest, PauseReturnsAfterAHandler) {
    Install(SIGALRM);
    AlarmIn(20000);
    EXPECT_THAT(pause(), SyscallFailsWithErrno(EINTR));
    EXPECT_EQ(g_calls.load(), 1);
}

TEST_F(SigwaitTest, NanosleepInterruptedReportsTheRemainingTime) {
    Install(SIGALRM);
    AlarmIn(20000);
    timespec req{5, 0}, rem{};
    EXPECT_THAT(nanosleep(&req, &rem), SyscallFailsWithErrno(EINTR));
    EXPECT_EQ(g_calls.load(), 1);
    EXPECT_LE(rem.tv_sec, 5);
    EXPECT_GE(rem.tv_sec, 3);
}

TEST_F(SigwaitTest, NanosleepRestartsAfterAnIgnoredSignal) {
    signal(SIGALRM, SIG_IGN);
    AlarmIn(10000);
    timespec req{0, 60 * 1000 * 1000};
    timespec before{}, after{};
    clock_gettime(CLOCK_MONOTONIC, &before);
    EXPECT_THAT(nanosleep(&req, nullptr), SyscallSucceeds());
    clock_gettime(CLOCK_MONOTONIC, &after);
    int64_t ns = (after.tv_sec - before.tv_sec) * 1000000000ll + (after.tv_nsec - before.tv_nsec);
    EXPECT_GE(ns, 60 * 1000 * 1000);
}

int g_pipe_wr = -1;
void WriteHandler(int) {
    g_calls++;
    if (g_calls == 2) {
        char c = 'x';
        [[maybe_unused]] ssize_t n = write(g_pipe_wr, &c, 1);
    }
}

TEST_F(SigwaitTest, PipeReadRestartsUnderSaRestart) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    g_pipe_wr = fds[1];
    struct sigaction sa {};
    sa.sa_handler = WriteHandler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGALRM, &sa, nullptr), 0);
    struct itimerval it {};
    it.it_value.tv_usec = 10000;
    it.it_interval.tv_usec = 10000;
    ASSERT_EQ(setitimer(ITIMER_REAL, &it, nullptr), 0);
    char c = 0;
    EXPECT_THAT(read(fds[0], &c, 1), SyscallSucceedsWithValue(1));
    EXPECT_EQ(c, 'x');
    EXPECT_GE(g_calls.load(), 2);
    struct itimerval off {};
    setitimer(ITIMER_REAL, &off, nullptr);
    close(fds[0]);
    close(fds[1]);
}

TEST_F(SigwaitTest, PipeReadWithoutSaRestartFailsWithEintr) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    Install(SIGALRM);
    AlarmIn(20000);
    char c;
    EXPECT_THAT(read(fds[0], &c, 1), SyscallFailsWithErrno(EINTR));
    EXPECT_EQ(g_calls.load(), 1);
    close(fds[0]);
    close(fds[1]);
}

}  // namespace
}  // namespace moat::conformance
