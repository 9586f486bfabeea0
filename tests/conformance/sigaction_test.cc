// Conformance: sigaction(2) flags — the handler's arguments, masks while it runs,
// SA_NODEFER, SA_RESETHAND, SA_ONSTACK with sigaltstack(2).

#include "tests/conformance/test_util.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

std::atomic<int> g_calls{0};
std::atomic<int> g_depth{0};
std::atomic<int> g_max_depth{0};
std::atomic<int> g_sig{0};
std::atomic<bool> g_info_ok{false};
std::atomic<bool> g_self_blocked{false};
std::atomic<bool> g_extra_blocked{false};
std::atomic<uintptr_t> g_sp{0};

void InfoHandler(int sig, siginfo_t* info, void* uc) {
    g_calls++;
    g_sig = sig;
    g_info_ok = info && info->si_signo == sig && uc != nullptr;
    sigset_t cur;
    sigprocmask(SIG_BLOCK, nullptr, &cur);
    g_self_blocked = sigismember(&cur, sig);
    g_extra_blocked = sigismember(&cur, SIGUSR2);
    int local;
    g_sp = reinterpret_cast<uintptr_t>(&local);
}

void NestingHandler(int sig) {
    int d = ++g_depth;
    if (d > g_max_depth)
        g_max_depth = d;
    if (++g_calls < 3)
        raise(sig);
    --g_depth;
}

void PlainHandler(int) { g_calls++; }

class SigactionTest : public ::testing::Test {
protected:
    void SetUp() override {
        g_calls = 0;
        g_depth = 0;
        g_max_depth = 0;
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
    }
    void TearDown() override {
        signal(SIGUSR1, SIG_DFL);
        stack_t ss{};
        ss.ss_flags = SS_DISABLE;
        sigaltstack(&ss, nullptr);
    }
};

TEST_F(SigactionTest, HandlerGetsSignoInfoAndContext) {
    struct sigaction sa {};
    sa.sa_sigaction = InfoHandler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    ASSERT_EQ(sigaction(SIGUSR1, &sa, nullptr), 0);
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(g_calls.load(), 1);
    EXPECT_EQ(g_sig.load(), SIGUSR1);
    EXPECT_TRUE(g_info_ok.load());
    EXPECT_TRUE(g_self_blocked.load());
    EXPECT_TRUE(g_extra_blocked.load());
    // The mask comes back after the handler.
    sigset_t cur;
    sigprocmask(SIG_BLOCK, nullptr, &cur);
    EXPECT_FALSE(sigismember(&cur, SIGUSR1));
    EXPECT_FALSE(sigismember(&cur, SIGUSR2));
}

TEST_F(SigactionTest, OldActionReadsBack) {
    struct sigaction sa {}, old{};
    sa.sa_handler = PlainHandler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGTERM);
    ASSERT_EQ(sigaction(SIGUSR1, &sa, nullptr), 0);
    ASSERT_EQ(sigaction(SIGUSR1, nullptr, &old), 0);
    EXPECT_EQ(old.sa_handler, PlainHandler);
    EXPECT_TRUE(old.sa_flags & SA_RESTART);
    EXPECT_TRUE(sigismember(&old.sa_mask, SIGTERM));
}

TEST_F(SigactionTest, WithoutNodeferTheSignalWaits) {
    struct sigaction sa {};
    sa.sa_handler = NestingHandler;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGUSR1, &sa, nullptr), 0);
    ASSERT_EQ(raise(SIGUSR1), 0);
    // Each raise inside the handler is delivered after the handler returns.
    EXPECT_EQ(g_max_depth.load(), 1);
    EXPECT_EQ(g_calls.load(), 3);
}

TEST_F(SigactionTest, NodeferNests) {
    struct sigaction sa {};
    sa.sa_handler = NestingHandler;
    sa.sa_flags = SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGUSR1, &sa, nullptr), 0);
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(g_max_depth.load(), 3);
    EXPECT_EQ(g_calls.load(), 3);
}

TEST_F(SigactionTest, ResethandRestoresDefault) {
    struct sigaction sa {}, old{};
    sa.sa_handler = PlainHandler;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGUSR1, &sa, nullptr), 0);
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(g_calls.load(), 1);
    ASSERT_EQ(sigaction(SIGUSR1, nullptr, &old), 0);
    EXPECT_EQ(old.sa_handler, SIG_DFL);
}

TEST_F(SigactionTest, OnstackRunsOnTheAlternateStack) {
    std::vector<char> stack(64 * 1024);
    stack_t ss{};
    ss.ss_sp = stack.data();
    ss.ss_size = stack.size();
    ASSERT_EQ(sigaltstack(&ss, nullptr), 0);
    stack_t cur{};
    ASSERT_EQ(sigaltstack(nullptr, &cur), 0);
    EXPECT_EQ(cur.ss_sp, stack.data());
    EXPECT_EQ(cur.ss_size, stack.size());
    EXPECT_EQ(cur.ss_flags, 0);

    struct sigaction sa {};
    sa.sa_sigaction = InfoHandler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGUSR1, &sa, nullptr), 0);
    ASSERT_EQ(raise(SIGUSR1), 0);
    uintptr_t lo = reinterpret_cast<uintptr_t>(stack.data());
    EXPECT_GT(g_sp.load(), lo);
    EXPECT_LT(g_sp.load(), lo + stack.size());

    // Without SA_ONSTACK the handler stays on the normal stack.
    sa.sa_flags = SA_SIGINFO;
    ASSERT_EQ(sigaction(SIGUSR1, &sa, nullptr), 0);
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_FALSE(g_sp.load() > lo && g_sp.load() < lo + stack.size());
}

std::atomic<int> g_onstack_flags{-1};
std::atomic<int> g_change_errno{0};
void AltstackProbe(int) {
    stack_t cur{};
    sigaltstack(nullptr, &cur);
    g_onstack_flags = cur.ss_flags;
    stack_t ss{};
    ss.ss_flags = SS_DISABLE;
    g_change_errno = sigaltstack(&ss, nullptr) == 0 ? 0 : errno;
}

TEST_F(SigactionTest, AltstackCannotChangeWhileOnIt) {
    std::vector<char> stack(64 * 1024);
    stack_t ss{};
    ss.ss_sp = stack.data();
    ss.ss_size = stack.size();
    ASSERT_EQ(sigaltstack(&ss, nullptr), 0);
    struct sigaction sa {};
    sa.sa_handler = AltstackProbe;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGUSR1, &sa, nullptr), 0);
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(g_onstack_flags.load(), SS_ONSTACK);
    EXPECT_EQ(g_change_errno.load(), EPERM);
}

TEST_F(SigactionTest, AltstackValidation) {
    stack_t ss{};
    std::vector<char> stack(64 * 1024);
    ss.ss_sp = stack.data();
    ss.ss_size = 100;
    EXPECT_THAT(sigaltstack(&ss, nullptr), SyscallFailsWithErrno(ENOMEM));
    ss.ss_size = stack.size();
    ss.ss_flags = 0x1234;
    EXPECT_THAT(sigaltstack(&ss, nullptr), SyscallFailsWithErrno(EINVAL));
    ss.ss_flags = SS_DISABLE;
    EXPECT_THAT(sigaltstack(&ss, nullptr), SyscallSucceeds());
    stack_t cur{};
    ASSERT_EQ(sigaltstack(nullptr, &cur), 0);
    EXPECT_EQ(cur.ss_flags, SS_DISABLE);
}

}  // namespace
}  // namespace moat::conformance
