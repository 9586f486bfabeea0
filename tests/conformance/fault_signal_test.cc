// Conformance: synchronous faults delivered as signals with the right si_code and si_addr —
// SIGSEGV (SEGV_MAPERR, SEGV_ACCERR), SIGFPE (FPE_INTDIV), SIGILL, SIGTRAP — left with
// siglongjmp.

// sigsetjmp/siglongjmp: locals read after the jump are not changed in between.
#pragma GCC diagnostic ignored "-Wclobbered"

#include "tests/conformance/test_util.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

sigjmp_buf g_jmp;
std::atomic<int> g_signo{0}, g_code{0};
std::atomic<uintptr_t> g_addr{0};

void FaultHandler(int sig, siginfo_t* info, void*) {
    g_signo = sig;
    g_code = info->si_code;
    g_addr = reinterpret_cast<uintptr_t>(info->si_addr);
    siglongjmp(g_jmp, 1);
}

class FaultSignalTest : public ::testing::Test {
protected:
    void SetUp() override {
        g_signo = 0;
        g_code = 0;
        g_addr = 0;
        struct sigaction sa {};
        sa.sa_sigaction = FaultHandler;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP})
            ASSERT_EQ(sigaction(sig, &sa, nullptr), 0);
    }
    void TearDown() override {
        for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP})
            signal(sig, SIG_DFL);
    }
};

TEST_F(FaultSignalTest, SegvMapErr) {
    volatile char* p = UnmappedRange(1);
    ASSERT_NE(p, nullptr);
    if (sigsetjmp(g_jmp, 1) == 0) {
        *p = 1;
        FAIL() << "no fault";
    }
    EXPECT_EQ(g_signo.load(), SIGSEGV);
    EXPECT_EQ(g_code.load(), SEGV_MAPERR);
    EXPECT_EQ(g_addr.load(), reinterpret_cast<uintptr_t>(p));
}

TEST_F(FaultSignalTest, SegvAccErr) {
    Mapping m(PageSize(), PROT_READ);
    ASSERT_TRUE(m.ok());
    volatile char* p = m.addr() + 8;
    if (sigsetjmp(g_jmp, 1) == 0) {
        *p = 1;
        FAIL() << "no fault";
    }
    EXPECT_EQ(g_signo.load(), SIGSEGV);
    EXPECT_EQ(g_code.load(), SEGV_ACCERR);
    EXPECT_EQ(g_addr.load(), reinterpret_cast<uintptr_t>(p));
}

TEST_F(FaultSignalTest, RepeatedFaultsKeepWorking) {
    for (int i = 0; i < 20; ++i) {
        g_signo = 0;
        if (sigsetjmp(g_jmp, 1) == 0)
            *static_cast<volatile int*>(nullptr) = i;
        ASSERT_EQ(g_signo.load(), SIGSEGV);
        ASSERT_EQ(g_addr.load(), 0u);
    }
}

TEST_F(FaultSignalTest, DivideByZero) {
    volatile int zero = 0;
    volatile int r = 1;
    if (sigsetjmp(g_jmp, 1) == 0) {
        r = r / zero;
        FAIL() << "no fault";
    }
    EXPECT_EQ(g_signo.load(), SIGFPE);
    EXPECT_EQ(g_code.load(), FPE_INTDIV);
    EXPECT_NE(g_addr.load(), 0u);
}

TEST_F(FaultSignalTest, IllegalInstruction) {
    if (sigsetjmp(g_jmp, 1) == 0) {
        asm volatile("ud2");
        FAIL() << "no fault";
    }
    EXPECT_EQ(g_signo.load(), SIGILL);
    EXPECT_EQ(g_code.load(), ILL_ILLOPN);
    EXPECT_NE(g_addr.load(), 0u);
}

TEST_F(FaultSignalTest, Breakpoint) {
    if (sigsetjmp(g_jmp, 1) == 0) {
        asm volatile("int3");
        FAIL() << "no trap";
    }
    EXPECT_EQ(g_signo.load(), SIGTRAP);
    EXPECT_EQ(g_code.load(), SI_KERNEL);
}

TEST_F(FaultSignalTest, SiglongjmpRestoresTheMask) {
    if (sigsetjmp(g_jmp, 1) == 0)
        *static_cast<volatile int*>(nullptr) = 1;
    sigset_t cur;
    sigprocmask(SIG_BLOCK, nullptr, &cur);
    EXPECT_FALSE(sigismember(&cur, SIGSEGV));
}

}  // namespace
}  // namespace moat::conformance
