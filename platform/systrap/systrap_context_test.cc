#include "platform/systrap/systrap_context.h"
#include "platform/systrap/systrap_test_fixture.h"

#include <dirent.h>
#include <signal.h>
#include <sys/syscall.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace moat::platform::testing {
namespace {

using SystrapContextTest = SystrapTest;

size_t ThreadCount(pid_t pid) {
    std::string path = "/proc/" + std::to_string(pid) + "/task";
    DIR* dir = ::opendir(path.c_str());
    if (!dir)
        return 0;
    size_t n = 0;
    while (dirent* e = ::readdir(dir))
        n += e->d_name[0] != '.';
    ::closedir(dir);
    return n;
}

TEST_F(SystrapContextTest, InterruptStopsASpinningThread) {
    auto as = NewAddressSpace();
    ASSERT_TRUE(as);
    MapPage(*as, kCode, kSpin, PROT_READ | PROT_EXEC);
    auto ctx = m_platform->NewContext();
    ASSERT_TRUE(ctx.ok());
    Context* c = ctx->get();
    // Early interrupts race with the thread's creation and with the resume; late ones find
    // it spinning. Each must end exactly one Switch.
    for (int delay_us : {0, 0, 100, 1000, 30000, 0, 30000}) {
        std::thread interrupter([c, delay_us] {
            ::usleep(delay_us);
            c->Interrupt();
        });
        Registers regs = Regs(kCode);
        Event e = c->Switch(*as, regs);
        interrupter.join();
        ASSERT_EQ(e.kind, EventKind::Interrupted);
        EXPECT_EQ(regs.rip, kCode);
    }
}

TEST_F(SystrapContextTest, InterruptOutsideSwitchIsReportedOnce) {
    auto as = NewAddressSpace();
    ASSERT_TRUE(as);
    MapPage(*as, kCode, kSyscallLoop, PROT_READ | PROT_EXEC);
    auto ctx = m_platform->NewContext();
    ASSERT_TRUE(ctx.ok());
    Registers regs = Regs(kCode);
    (*ctx)->Interrupt();  // before the context has a thread at all
    EXPECT_EQ((*ctx)->Switch(*as, regs).kind, EventKind::Interrupted);
    ASSERT_EQ((*ctx)->Switch(*as, regs).kind, EventKind::Syscall);
    (*ctx)->Interrupt();  // the thread is stopped; the signal stays pending in it
    EXPECT_EQ((*ctx)->Switch(*as, regs).kind, EventKind::Interrupted);
    // The stale signal is dropped, not reported a second time.
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ((*ctx)->Switch(*as, regs).kind, EventKind::Syscall);
}

TEST_F(SystrapContextTest, HostSignalsAreReportedAndSuppressed) {
    auto as = NewAddressSpace();
    ASSERT_TRUE(as);
    MapPage(*as, kCode, kSpin, PROT_READ | PROT_EXEC);
    auto ctx = m_platform->NewContext();
    ASSERT_TRUE(ctx.ok());
    auto* c = static_cast<systrap::SystrapContext*>(ctx->get());
    pid_t pid = StubPid(*as);
    auto interrupt_soon = [c] {
        return std::thread([c] {
            ::usleep(30 * 1000);
            c->Interrupt();
        });
    };
    Registers regs = Regs(kCode);
    std::thread interrupter = interrupt_soon();
    ASSERT_EQ(c->Switch(*as, regs).kind, EventKind::Interrupted);
    interrupter.join();
    pid_t tid = c->tid();
    ASSERT_GT(tid, 0);

    ASSERT_EQ(::syscall(SYS_tgkill, pid, tid, SIGUSR1), 0);
    Event e = c->Switch(*as, regs);
    ASSERT_EQ(e.kind, EventKind::Signal);
    EXPECT_EQ(e.siginfo.si_signo, SIGUSR1);
    EXPECT_EQ(e.siginfo.si_code, SI_TKILL);

    // (A SIGSTOP from outside stops the whole stub: nothing traces it. Only the sentry's own
    // host side can signal a stub.)
    interrupter = interrupt_soon();
    EXPECT_EQ(c->Switch(*as, regs).kind, EventKind::Interrupted);
    interrupter.join();
}

TEST_F(SystrapContextTest, LeavingWithSignalsPendingDoesNotHang) {
    auto as = NewAddressSpace();
    ASSERT_TRUE(as);
    MapPage(*as, kCode, kSyscallLoop, PROT_READ | PROT_EXEC);
    pid_t pid = StubPid(*as);
    for (int round = 0; round < 2; ++round) {
        auto ctx = m_platform->NewContext();
        ASSERT_TRUE(ctx.ok());
        Registers regs = Regs(kCode);
        ASSERT_EQ((*ctx)->Switch(*as, regs).kind, EventKind::Syscall);
        // Parked in the handler with signals blocked: both stay pending, and the exit must
        // not run the handler for them again.
        if (round == 0)
            (*ctx)->Interrupt();
        else
            ASSERT_EQ(::kill(pid, SIGUSR1), 0);
        ctx->reset();
        EXPECT_TRUE(Eventually([pid] { return ThreadCount(pid) == 1u; }));
    }
}

TEST_F(SystrapContextTest, TwoContextsInOneAddressSpace) {
    auto as = NewAddressSpace();
    ASSERT_TRUE(as);
    MapPage(*as, kCode, kStoreRdiLoop, PROT_READ | PROT_EXEC);
    uint8_t* data = MapPage(*as, kData, {}, PROT_READ | PROT_WRITE);
    pid_t pid = StubPid(*as);
    std::atomic<int> failures{0};
    auto run = [&](uint64_t slot) {
        auto ctx = m_platform->NewContext();
        if (!ctx.ok()) {
            ++failures;
            return;
        }
        Registers regs = Regs(kCode);
        regs.rbx = kData + slot * 8;
        for (uint64_t i = 1; i <= 200; ++i) {
            regs.rdi = slot * 1000000 + i;
            if ((*ctx)->Switch(*as, regs).kind != EventKind::Syscall) {
                ++failures;
                return;
            }
            uint64_t stored;
            std::memcpy(&stored, data + slot * 8, sizeof(stored));
            if (stored != slot * 1000000 + i)
                ++failures;
        }
        if (ThreadCount(pid) < 2)  // the helper, at least this one
            ++failures;
    };
    std::thread a(run, 1), b(run, 2);
    a.join();
    b.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_TRUE(Eventually([pid] { return ThreadCount(pid) == 1u; }));  // both contexts and their threads go
}

TEST_F(SystrapContextTest, SwitchToASecondAddressSpace) {
    auto first = NewAddressSpace();
    auto second = NewAddressSpace();
    ASSERT_TRUE(first && second);
    MapPage(*first, kCode, kStoreRdiLoop, PROT_READ | PROT_EXEC);
    uint8_t* first_data = MapPage(*first, kData, {}, PROT_READ | PROT_WRITE);
    MapPage(*second, kCode, kStoreRdiLoop, PROT_READ | PROT_EXEC);
    uint8_t* second_data = MapPage(*second, kData, {}, PROT_READ | PROT_WRITE);
    pid_t first_pid = StubPid(*first);
    auto ctx = m_platform->NewContext();
    ASSERT_TRUE(ctx.ok());

    Registers regs = Regs(kCode);
    regs.rdi = 111;
    ASSERT_EQ((*ctx)->Switch(*first, regs).kind, EventKind::Syscall);
    EXPECT_EQ(first_data[0], 111);
    EXPECT_EQ(ThreadCount(first_pid), 2u);

    regs = Regs(kCode);
    regs.rdi = 222;
    ASSERT_EQ((*ctx)->Switch(*second, regs).kind, EventKind::Syscall);
    EXPECT_EQ(second_data[0], 222);
    EXPECT_EQ(first_data[0], 111);
    EXPECT_TRUE(Eventually([first_pid] { return ThreadCount(first_pid) == 1u; }));  // the old thread exits

    first.reset();
    EXPECT_TRUE(GoneSoon(first_pid));
    regs.rdi = 223;
    ASSERT_EQ((*ctx)->Switch(*second, regs).kind, EventKind::Syscall);
    EXPECT_EQ(second_data[0], 223);
}

TEST_F(SystrapContextTest, AddressSpaceDestroyedUnderAContext) {
    auto first = NewAddressSpace();
    auto second = NewAddressSpace();
    ASSERT_TRUE(first && second);
    MapPage(*first, kCode, kSyscallLoop, PROT_READ | PROT_EXEC);
    MapPage(*second, kCode, kSyscallLoop, PROT_READ | PROT_EXEC);
    pid_t first_pid = StubPid(*first);
    auto ctx = m_platform->NewContext();
    ASSERT_TRUE(ctx.ok());
    Registers regs = Regs(kCode);
    ASSERT_EQ((*ctx)->Switch(*first, regs).kind, EventKind::Syscall);
    first.reset();  // exec: the old address space goes before the task runs again
    regs = Regs(kCode);
    ASSERT_EQ((*ctx)->Switch(*second, regs).kind, EventKind::Syscall);
    EXPECT_TRUE(GoneSoon(first_pid));
}

TEST_F(SystrapContextTest, SlotsOfExitedThreadsAreReused) {
    auto as = NewAddressSpace();
    ASSERT_TRUE(as);
    MapPage(*as, kCode, kSyscallLoop, PROT_READ | PROT_EXEC);
    pid_t pid = StubPid(*as);
    for (int round = 0; round < 40; ++round) {
        auto ctx = m_platform->NewContext();
        ASSERT_TRUE(ctx.ok());
        Registers regs = Regs(kCode);
        ASSERT_EQ((*ctx)->Switch(*as, regs).kind, EventKind::Syscall);
        ASSERT_LE(ThreadCount(pid), 3u);  // the helper, ours, at most one still exiting
        ctx->reset();  // does not wait for the exit
        ASSERT_TRUE(Eventually([pid] { return ThreadCount(pid) == 1u; }));
    }
}

TEST_F(SystrapContextTest, RegistersTheKernelRefusesAreAFault) {
    auto as = NewAddressSpace();
    ASSERT_TRUE(as);
    MapPage(*as, kCode, kSyscall, PROT_READ | PROT_EXEC);
    auto ctx = m_platform->NewContext();
    ASSERT_TRUE(ctx.ok());
    Registers regs = Regs(kCode);
    regs.fs_base = 0xffff800000000000;  // a kernel address
    Event e = (*ctx)->Switch(*as, regs);
    ASSERT_EQ(e.kind, EventKind::Fault);
    EXPECT_EQ(e.fault.signo, SIGSEGV);
    EXPECT_EQ(e.fault.si_code, SI_KERNEL);
    regs.fs_base = 0;
    EXPECT_EQ((*ctx)->Switch(*as, regs).kind, EventKind::Syscall);
}

TEST_F(SystrapContextTest, ContextDestroyedOnTheWrongThreadDoesNotHang) {
    auto as = NewAddressSpace();
    ASSERT_TRUE(as);
    MapPage(*as, kCode, kSyscall, PROT_READ | PROT_EXEC);
    pid_t pid = StubPid(*as);
    std::unique_ptr<Context> ctx;
    std::mutex lock;
    std::condition_variable cv;
    bool switched = false, release = false;
    std::thread owner([&] {
        auto made = m_platform->NewContext();
        Registers regs = Regs(kCode);
        bool ok = made.ok() && (*made)->Switch(*as, regs).kind == EventKind::Syscall;
        std::unique_lock l(lock);
        if (ok)
            ctx = made.release_value();
        switched = true;
        cv.notify_all();
        cv.wait(l, [&] { return release; });  // the tracer stays alive throughout
    });
    {
        std::unique_lock l(lock);
        cv.wait(l, [&] { return switched; });
    }
    ASSERT_TRUE(ctx);
    ctx.reset();  // wrong thread: a warning, and the stub thread is left for the reaper
    as.reset();
    EXPECT_TRUE(GoneSoon(pid));
    {
        std::lock_guard l(lock);
        release = true;
    }
    cv.notify_all();
    owner.join();
}

TEST_F(SystrapContextTest, FpuRoundTrip) {
    auto as = NewAddressSpace();
    ASSERT_TRUE(as);
    MapPage(*as, kCode, kStoreXmm0, PROT_READ | PROT_EXEC);
    uint8_t* data = MapPage(*as, kData, {}, PROT_READ | PROT_WRITE);
    for (bool before_first_switch : {true, false}) {
        auto ctx = m_platform->NewContext();
        ASSERT_TRUE(ctx.ok());
        Registers regs = Regs(kCode);
        if (!before_first_switch) {
            ASSERT_EQ((*ctx)->Switch(*as, regs).kind, EventKind::Syscall);
        }
        auto fpu = (*ctx)->GetFpu();
        ASSERT_TRUE(fpu.ok());
        ASSERT_GE(fpu->size(), 576u);
        uint8_t pattern[16];
        for (int i = 0; i < 16; ++i)
            pattern[i] = static_cast<uint8_t>(0xa0 + i + before_first_switch);
        std::memcpy(fpu->data() + 160, pattern, 16);  // xmm0 in the FXSAVE layout
        (*fpu)[512] |= 2;                             // XSTATE_BV: SSE state present
        ASSERT_TRUE((*ctx)->SetFpu(*fpu).ok());
        regs = Regs(kCode);
        ASSERT_EQ((*ctx)->Switch(*as, regs).kind, EventKind::Syscall);
        EXPECT_EQ(std::memcmp(data, pattern, 16), 0);
        auto again = (*ctx)->GetFpu();
        ASSERT_TRUE(again.ok());
        EXPECT_EQ(std::memcmp(again->data() + 160, pattern, 16), 0);
    }
}

TEST_F(SystrapContextTest, FpuStateFollowsTheContextIntoANewAddressSpace) {
    auto first = NewAddressSpace();
    auto second = NewAddressSpace();
    ASSERT_TRUE(first && second);
    MapPage(*first, kCode, kStoreXmm0, PROT_READ | PROT_EXEC);
    MapPage(*first, kData, {}, PROT_READ | PROT_WRITE);
    MapPage(*second, kCode, kStoreXmm0, PROT_READ | PROT_EXEC);
    uint8_t* data = MapPage(*second, kData, {}, PROT_READ | PROT_WRITE);
    auto ctx = m_platform->NewContext();
    ASSERT_TRUE(ctx.ok());
    Registers regs = Regs(kCode);
    ASSERT_EQ((*ctx)->Switch(*first, regs).kind, EventKind::Syscall);
    auto fpu = (*ctx)->GetFpu();
    ASSERT_TRUE(fpu.ok());
    std::memset(fpu->data() + 160, 0x77, 16);
    (*fpu)[512] |= 2;
    ASSERT_TRUE((*ctx)->SetFpu(*fpu).ok());
    regs = Regs(kCode);
    ASSERT_EQ((*ctx)->Switch(*second, regs).kind, EventKind::Syscall);
    for (int i = 0; i < 16; ++i)
        EXPECT_EQ(data[i], 0x77);
}

}  // namespace
}  // namespace moat::platform::testing
