// Conformance: the x86-64 signal frame — the ucontext registers a SA_SIGINFO handler sees,
// its layout (alignment, fpstate magic), and rt_sigreturn restoring registers (including an
// xmm register changed through the frame) and the signal mask.

#include "tests/conformance/test_util.h"

#include <signal.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

constexpr uint64_t kMagic = 0x1122334455667788ull;
constexpr uint64_t kMagic2 = 0x8877665544332211ull;
constexpr uint64_t kXmmMagic = 0x0123456789abcdefull;
constexpr uint64_t kXmmMagic2 = 0xfedcba9876543210ull;

std::atomic<uint64_t> g_r12{0}, g_xmm0{0}, g_rax{1}, g_uc{0}, g_info{0}, g_fpstate{0};
std::atomic<uint32_t> g_magic1{0}, g_magic2{0};
std::atomic<bool> g_rip_ok{false};

extern "C" char moat_sigframe_after_syscall[];

void FrameHandler(int, siginfo_t* info, void* ctx) {
    auto* uc = static_cast<ucontext_t*>(ctx);
    g_uc = reinterpret_cast<uint64_t>(uc);
    g_info = reinterpret_cast<uint64_t>(info);
    g_r12 = static_cast<uint64_t>(uc->uc_mcontext.gregs[REG_R12]);
    g_rax = static_cast<uint64_t>(uc->uc_mcontext.gregs[REG_RAX]);
    g_rip_ok = uc->uc_mcontext.gregs[REG_RIP] == reinterpret_cast<greg_t>(moat_sigframe_after_syscall);
    auto* fp = uc->uc_mcontext.fpregs;
    g_fpstate = reinterpret_cast<uint64_t>(fp);
    uint64_t x;
    std::memcpy(&x, &fp->_xmm[0], sizeof(x));
    g_xmm0 = x;
    uint32_t m1;
    std::memcpy(&m1, reinterpret_cast<char*>(fp) + 464, sizeof(m1));
    g_magic1 = m1;
    uint32_t xsize;
    std::memcpy(&xsize, reinterpret_cast<char*>(fp) + 464 + 16, sizeof(xsize));
    uint32_t m2;
    std::memcpy(&m2, reinterpret_cast<char*>(fp) + xsize, sizeof(m2));
    g_magic2 = m2;
    // Changed through the frame: rt_sigreturn must load these.
    uc->uc_mcontext.gregs[REG_R12] = static_cast<greg_t>(kMagic2);
    std::memcpy(&fp->_xmm[0], &kXmmMagic2, sizeof(kXmmMagic2));
    sigaddset(&uc->uc_sigmask, SIGUSR2);
}

class SigframeTest : public ::testing::Test {
protected:
    void SetUp() override {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        struct sigaction sa {};
        sa.sa_sigaction = FrameHandler;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        ASSERT_EQ(sigaction(SIGUSR1, &sa, nullptr), 0);
    }
    void TearDown() override {
        signal(SIGUSR1, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
    }
};

TEST_F(SigframeTest, RegistersAndFpuRoundTrip) {
    uint64_t r12_out = 0, xmm_out = 0;
    long pid = getpid(), tid = gettid();
    asm volatile(
        "mov %[magic], %%r12\n"
        "movq %[xmm], %%xmm0\n"
        "mov $234, %%eax\n"  // tgkill
        "syscall\n"
        ".globl moat_sigframe_after_syscall\n"
        "moat_sigframe_after_syscall:\n"
        "mov %%r12, %[r12_out]\n"
        "movq %%xmm0, %[xmm_out]\n"
        : [r12_out] "=r"(r12_out), [xmm_out] "=r"(xmm_out)
        : [magic] "r"(kMagic), [xmm] "r"(kXmmMagic), "D"(pid), "S"(tid), "d"(long{SIGUSR1})
        : "rax", "rcx", "r11", "r12", "xmm0", "memory");
    EXPECT_EQ(g_r12.load(), kMagic);
    EXPECT_EQ(g_xmm0.load(), kXmmMagic);
    EXPECT_EQ(g_rax.load(), 0u);  // tgkill's return value was already in rax
    EXPECT_TRUE(g_rip_ok.load());
    EXPECT_EQ(r12_out, kMagic2);
    EXPECT_EQ(xmm_out, kXmmMagic2);
    // The mask comes from the frame's uc_sigmask.
    sigset_t cur;
    sigprocmask(SIG_BLOCK, nullptr, &cur);
    EXPECT_TRUE(sigismember(&cur, SIGUSR2));
    EXPECT_FALSE(sigismember(&cur, SIGUSR1));
}

TEST_F(SigframeTest, LayoutMatchesLinux) {
    ASSERT_EQ(raise(SIGUSR1), 0);
    // rsp at handler entry is &uc - 8 (pretcode), and (rsp + 8) % 16 == 0.
    EXPECT_EQ(g_uc.load() % 16, 0u);
    // struct rt_sigframe { pretcode; struct ucontext uc (304 bytes); siginfo info; }
    EXPECT_EQ(g_info.load(), g_uc.load() + 304);
    EXPECT_EQ(g_fpstate.load() % 64, 0u);
    EXPECT_GE(g_fpstate.load(), g_info.load() + 128);
    EXPECT_EQ(g_magic1.load(), 0x46505853u);
    EXPECT_EQ(g_magic2.load(), 0x46505845u);
}

}  // namespace
}  // namespace moat::conformance
