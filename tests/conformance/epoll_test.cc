// Conformance: epoll(7) — epoll_create/epoll_create1, epoll_ctl's errors (EEXIST, ENOENT,
// EPERM, EINVAL, ELOOP, EBADF), level- and edge-triggered reporting, EPOLLONESHOT,
// EPOLLEXCLUSIVE, data returned verbatim, nesting, entries dying with their file description,
// epoll_wait's argument errors, timeouts, EINTR and epoll_pwait's mask.

#include "tests/conformance/test_util.h"

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

struct Pipe {
    Pipe() {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) == 0) {
            r = Fd(fds[0]);
            w = Fd(fds[1]);
        }
    }
    Fd r, w;
};

std::atomic<int> g_signals{0};
void CountSignal(int) { g_signals++; }

int Ctl(int ep, int op, int fd, uint32_t events, uint64_t data = 0) {
    struct epoll_event ev {};
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(ep, op, fd, &ev);
}

class EpollTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(ep.ok()); }
    Fd ep{epoll_create1(EPOLL_CLOEXEC)};
};

TEST_F(EpollTest, CreateFlags) {
    EXPECT_EQ(fcntl(ep.get(), F_GETFD), FD_CLOEXEC);
    EXPECT_THAT(epoll_create1(0x1), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(epoll_create(0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(epoll_create(-1), SyscallFailsWithErrno(EINVAL));
    Fd old(epoll_create(1));
    ASSERT_TRUE(old.ok());
    EXPECT_EQ(fcntl(old.get(), F_GETFD), 0);
}

TEST_F(EpollTest, CtlErrors) {
    Pipe p;
    EXPECT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, p.r.get(), EPOLLIN), SyscallSucceeds());
    EXPECT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, p.r.get(), EPOLLIN), SyscallFailsWithErrno(EEXIST));
    EXPECT_THAT(Ctl(ep.get(), EPOLL_CTL_MOD, p.w.get(), EPOLLOUT), SyscallFailsWithErrno(ENOENT));
    EXPECT_THAT(Ctl(ep.get(), EPOLL_CTL_DEL, p.w.get(), 0), SyscallFailsWithErrno(ENOENT));
    EXPECT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, 999, EPOLLIN), SyscallFailsWithErrno(EBADF));
    EXPECT_THAT(Ctl(999, EPOLL_CTL_ADD, p.r.get(), EPOLLIN), SyscallFailsWithErrno(EBADF));
    EXPECT_THAT(Ctl(p.w.get(), EPOLL_CTL_ADD, p.r.get(), EPOLLIN), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, ep.get(), EPOLLIN), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(Ctl(ep.get(), 99, p.w.get(), EPOLLIN), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_epoll_ctl, ep.get(), EPOLL_CTL_ADD, p.w.get(), kLowAddr),
                SyscallFailsWithErrno(EFAULT));
    // DEL ignores the event pointer.
    EXPECT_THAT(syscall(SYS_epoll_ctl, ep.get(), EPOLL_CTL_DEL, p.r.get(), kLowAddr),
                SyscallSucceeds());
}

TEST_F(EpollTest, RegularFileIsEperm) {
    Fd f(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(f.ok());
    EXPECT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, f.get(), EPOLLIN), SyscallFailsWithErrno(EPERM));
    Fd dir(open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(dir.ok());
    EXPECT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, dir.get(), EPOLLIN), SyscallFailsWithErrno(EPERM));
}

TEST_F(EpollTest, ExclusiveRules) {
    Pipe p;
    EXPECT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, p.r.get(), EPOLLIN | EPOLLEXCLUSIVE), SyscallSucceeds());
    EXPECT_THAT(Ctl(ep.get(), EPOLL_CTL_MOD, p.r.get(), EPOLLIN), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(Ctl(ep.get(), EPOLL_CTL_MOD, p.r.get(), EPOLLIN | EPOLLEXCLUSIVE), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, p.w.get(), EPOLLOUT | EPOLLONESHOT | EPOLLEXCLUSIVE),
                SyscallFailsWithErrno(EINVAL));
    Fd inner(epoll_create1(EPOLL_CLOEXEC));
    EXPECT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, inner.get(), EPOLLIN | EPOLLEXCLUSIVE), SyscallFailsWithErrno(EINVAL));
}

TEST_F(EpollTest, LevelTriggeredReportsWhileReady) {
    Pipe p;
    ASSERT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, p.r.get(), EPOLLIN, 0x1122334455667788ull), SyscallSucceeds());
    struct epoll_event ev[4];
    EXPECT_THAT(epoll_wait(ep.get(), ev, 4, 0), SyscallSucceedsWithValue(0));
    ASSERT_EQ(write(p.w.get(), "ab", 2), 2);
    for (int i = 0; i < 2; ++i) {
        ASSERT_THAT(epoll_wait(ep.get(), ev, 4, 0), SyscallSucceedsWithValue(1));
        EXPECT_EQ(ev[0].events, static_cast<uint32_t>(EPOLLIN));
        EXPECT_EQ(ev[0].data.u64, 0x1122334455667788ull);
    }
    char buf[2];
    ASSERT_EQ(read(p.r.get(), buf, 2), 2);
    EXPECT_THAT(epoll_wait(ep.get(), ev, 4, 0), SyscallSucceedsWithValue(0));
}

TEST_F(EpollTest, EdgeTriggeredReportsOncePerChange) {
    Pipe p;
    ASSERT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, p.r.get(), EPOLLIN | EPOLLET, 7), SyscallSucceeds());
    struct epoll_event ev[4];
    ASSERT_EQ(write(p.w.get(), "a", 1), 1);
    EXPECT_THAT(epoll_wait(ep.get(), ev, 4, 0), SyscallSucceedsWithValue(1));
    EXPECT_THAT(epoll_wait(ep.get(), ev, 4, 0), SyscallSucceedsWithValue(0));
    ASSERT_EQ(write(p.w.get(), "b", 1), 1);  // new data: a new edge
    EXPECT_THAT(epoll_wait(ep.get(), ev, 4, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(ev[0].data.u64, 7u);
    EXPECT_THAT(epoll_wait(ep.get(), ev, 4, 0), SyscallSucceedsWithValue(0));
}

TEST_F(EpollTest, OneshotDisablesUntilMod) {
    Fd e(eventfd(1, EFD_CLOEXEC));
    ASSERT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, e.get(), EPOLLIN | EPOLLONESHOT, 3), SyscallSucceeds());
    struct epoll_event ev[2];
    EXPECT_THAT(epoll_wait(ep.get(), ev, 2, 0), SyscallSucceedsWithValue(1));
    EXPECT_THAT(epoll_wait(ep.get(), ev, 2, 0), SyscallSucceedsWithValue(0));
    uint64_t one = 1;
    ASSERT_EQ(write(e.get(), &one, 8), 8);
    EXPECT_THAT(epoll_wait(ep.get(), ev, 2, 0), SyscallSucceedsWithValue(0));
    // Still registered: ADD is EEXIST, MOD re-arms.
    EXPECT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, e.get(), EPOLLIN), SyscallFailsWithErrno(EEXIST));
    ASSERT_THAT(Ctl(ep.get(), EPOLL_CTL_MOD, e.get(), EPOLLIN, 4), SyscallSucceeds());
    EXPECT_THAT(epoll_wait(ep.get(), ev, 2, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(ev[0].data.u64, 4u);
}

TEST_F(EpollTest, HangupAndErrorAlwaysReported) {
    Pipe p;
    ASSERT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, p.r.get(), 0, 1), SyscallSucceeds());
    ASSERT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, p.w.get(), 0, 2), SyscallSucceeds());
    struct epoll_event ev[2];
    EXPECT_THAT(epoll_wait(ep.get(), ev, 2, 0), SyscallSucceedsWithValue(0));
    Pipe q;
    ASSERT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, q.r.get(), EPOLLIN | EPOLLRDHUP, 3), SyscallSucceeds());
    q.w.Reset();
    ASSERT_THAT(epoll_wait(ep.get(), ev, 2, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(ev[0].events, static_cast<uint32_t>(EPOLLHUP));
    EXPECT_EQ(ev[0].data.u64, 3u);
}

TEST_F(EpollTest, MaxeventsLimitsAndRotates) {
    Fd a(eventfd(1, EFD_CLOEXEC)), b(eventfd(1, EFD_CLOEXEC));
    ASSERT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, a.get(), EPOLLIN, 1), SyscallSucceeds());
    ASSERT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, b.get(), EPOLLIN, 2), SyscallSucceeds());
    struct epoll_event ev[2];
    ASSERT_THAT(epoll_wait(ep.get(), ev, 1, 0), SyscallSucceedsWithValue(1));
    uint64_t first = ev[0].data.u64;
    ASSERT_THAT(epoll_wait(ep.get(), ev, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_NE(ev[0].data.u64, first);  // level-triggered items go to the back of the line
    EXPECT_THAT(epoll_wait(ep.get(), ev, 2, 0), SyscallSucceedsWithValue(2));
}

TEST_F(EpollTest, WaitArgumentErrors) {
    struct epoll_event ev;
    EXPECT_THAT(epoll_wait(ep.get(), &ev, 0, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_epoll_wait, ep.get(), &ev, -1, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(epoll_wait(999, &ev, 1, 0), SyscallFailsWithErrno(EBADF));
    Pipe p;
    EXPECT_THAT(epoll_wait(p.r.get(), &ev, 1, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(syscall(SYS_epoll_wait, ep.get(), kKernelAddr, 1, 0), SyscallFailsWithErrno(EFAULT));
}

TEST_F(EpollTest, TimeoutAndWakeup) {
    Pipe p;
    ASSERT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, p.r.get(), EPOLLIN), SyscallSucceeds());
    struct epoll_event ev;
    auto start = std::chrono::steady_clock::now();
    EXPECT_THAT(epoll_wait(ep.get(), &ev, 1, 20), SyscallSucceedsWithValue(0));
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(19));
    std::thread writer([&] {
        usleep(20000);
        (void)!write(p.w.get(), "x", 1);
    });
    EXPECT_THAT(epoll_wait(ep.get(), &ev, 1, -1), SyscallSucceedsWithValue(1));
    writer.join();
}

TEST_F(EpollTest, Pwait2Timespec) {
    struct epoll_event ev;
    struct timespec ts = {0, 10000000};
    EXPECT_THAT(syscall(SYS_epoll_pwait2, ep.get(), &ev, 1, &ts, nullptr, 8), SyscallSucceedsWithValue(0));
    ts.tv_nsec = -1;
    EXPECT_THAT(syscall(SYS_epoll_pwait2, ep.get(), &ev, 1, &ts, nullptr, 8), SyscallFailsWithErrno(EINVAL));
}

TEST_F(EpollTest, SignalInterruptsWithEintr) {
    struct sigaction sa {}, old{};
    sa.sa_handler = CountSignal;
    sa.sa_flags = SA_RESTART;  // epoll_wait is never restarted
    ASSERT_EQ(sigaction(SIGALRM, &sa, &old), 0);
    struct itimerval it {};
    it.it_value.tv_usec = 20000;
    ASSERT_EQ(setitimer(ITIMER_REAL, &it, nullptr), 0);
    struct epoll_event ev;
    EXPECT_THAT(epoll_wait(ep.get(), &ev, 1, 5000), SyscallFailsWithErrno(EINTR));
    sigaction(SIGALRM, &old, nullptr);
}

TEST_F(EpollTest, PwaitSigmaskLetsPendingSignalIn) {
    struct sigaction sa {}, old{};
    sa.sa_handler = CountSignal;
    ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
    sigset_t block, orig, none, now;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&none);
    ASSERT_EQ(sigprocmask(SIG_BLOCK, &block, &orig), 0);
    g_signals = 0;
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    struct epoll_event ev;
    EXPECT_THAT(syscall(SYS_epoll_pwait, ep.get(), &ev, 1, 5000, &none, 4), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(epoll_pwait(ep.get(), &ev, 1, 5000, &none), SyscallFailsWithErrno(EINTR));
    EXPECT_EQ(g_signals.load(), 1);
    ASSERT_EQ(sigprocmask(SIG_SETMASK, nullptr, &now), 0);
    EXPECT_TRUE(sigismember(&now, SIGUSR1));
    sigprocmask(SIG_SETMASK, &orig, nullptr);
    sigaction(SIGUSR1, &old, nullptr);
}

TEST_F(EpollTest, NestedEpollPropagatesReadiness) {
    Fd inner(epoll_create1(EPOLL_CLOEXEC));
    Pipe p;
    ASSERT_THAT(Ctl(inner.get(), EPOLL_CTL_ADD, p.r.get(), EPOLLIN, 1), SyscallSucceeds());
    ASSERT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, inner.get(), EPOLLIN, 2), SyscallSucceeds());
    struct epoll_event ev;
    EXPECT_THAT(epoll_wait(ep.get(), &ev, 1, 0), SyscallSucceedsWithValue(0));
    std::thread writer([&] {
        usleep(20000);
        (void)!write(p.w.get(), "x", 1);
    });
    ASSERT_THAT(epoll_wait(ep.get(), &ev, 1, 5000), SyscallSucceedsWithValue(1));
    EXPECT_EQ(ev.events, static_cast<uint32_t>(EPOLLIN));
    EXPECT_EQ(ev.data.u64, 2u);
    writer.join();
    ASSERT_THAT(epoll_wait(inner.get(), &ev, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(ev.data.u64, 1u);
}

TEST_F(EpollTest, LoopIsEloop) {
    Fd inner(epoll_create1(EPOLL_CLOEXEC));
    ASSERT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, inner.get(), EPOLLIN), SyscallSucceeds());
    EXPECT_THAT(Ctl(inner.get(), EPOLL_CTL_ADD, ep.get(), EPOLLIN), SyscallFailsWithErrno(ELOOP));
}

TEST_F(EpollTest, EntryGoesWithTheLastFdOfItsDescription) {
    Pipe p;
    int dup_fd = dup(p.r.get());
    ASSERT_GE(dup_fd, 0);
    ASSERT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, p.r.get(), EPOLLIN, 5), SyscallSucceeds());
    ASSERT_EQ(write(p.w.get(), "x", 1), 1);
    int fdnum = p.r.get();
    p.r.Reset();  // a dup still holds the description: the entry stays
    struct epoll_event ev;
    ASSERT_THAT(epoll_wait(ep.get(), &ev, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(ev.data.u64, 5u);
    close(dup_fd);  // the last reference: the entry is gone
    EXPECT_THAT(epoll_wait(ep.get(), &ev, 1, 0), SyscallSucceedsWithValue(0));
    // The fd number can be registered again for a new description.
    Fd e(eventfd(1, EFD_CLOEXEC));
    ASSERT_EQ(dup2(e.get(), fdnum), fdnum);
    EXPECT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, fdnum, EPOLLIN, 6), SyscallSucceeds());
    ASSERT_THAT(epoll_wait(ep.get(), &ev, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(ev.data.u64, 6u);
    close(fdnum);
}

TEST_F(EpollTest, PollOnEpollFd) {
    Fd e(eventfd(0, EFD_CLOEXEC));
    ASSERT_THAT(Ctl(ep.get(), EPOLL_CTL_ADD, e.get(), EPOLLIN), SyscallSucceeds());
    struct pollfd p = {ep.get(), POLLIN | POLLOUT, 0};
    EXPECT_THAT(poll(&p, 1, 0), SyscallSucceedsWithValue(0));
    uint64_t one = 1;
    ASSERT_EQ(write(e.get(), &one, 8), 8);
    EXPECT_THAT(poll(&p, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(p.revents, POLLIN);
}

}  // namespace
}  // namespace moat::conformance
