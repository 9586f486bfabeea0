// Syscall patching on the systrap platform: hot `mov $nr,%eax; syscall` sites become jumps
// into the stub's fast path, and everything a trapped call could do still works through it.

#include "platform/systrap/stub_layout.h"
#include "platform/systrap/systrap_context.h"
#include "platform/systrap/systrap_test_fixture.h"

#include <sys/syscall.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace moat::platform::testing {
namespace {

// 1: mov $39,%eax; syscall; mov %rax,(%rbx); jmp 1b
const std::vector<uint8_t> kGetpidLoop = {0xb8, 0x27, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x89, 0x03, 0xeb, 0xf4};
// 1: mov $39,%eax; syscall; movdqu %xmm0,(%rbx); jmp 1b
const std::vector<uint8_t> kGetpidStoreXmm0 = {0xb8, 0x27, 0x00, 0x00, 0x00, 0x0f, 0x05,
                                               0xf3, 0x0f, 0x7f, 0x03, 0xeb, 0xf3};
constexpr uint64_t kSite = kCode;
constexpr uint64_t kAfterSite = kCode + 7;

class SyscallPatchTest : public SystrapTest {
protected:
    // What the memory manager does for the patcher, on the fixture's pages.
    class Writer final : public CodeWriter {
    public:
        Writer(SyscallPatchTest& t, AddressSpace& as) : m_t(t), m_as(as) {}
        Result<void> WriteCode(uint64_t addr, const void* src, size_t len) override {
            auto& table = *m_t.m_tables[&m_as];
            std::lock_guard lock(table.lock);
            auto it = table.pages.find(addr & ~(kPage - 1));
            if (it == table.pages.end() || (addr & (kPage - 1)) + len > kPage)
                return Errno(EFAULT);
            std::memcpy(m_t.m_memory.bytes() + it->second + (addr & (kPage - 1)), src, len);
            ++writes;
            return {};
        }
        Result<void> MapPlatformArea(uint64_t addr, uint64_t len, std::string_view) override {
            for (uint64_t a = addr; a < addr + len; a += kPage)
                m_t.MapPage(m_as, a, {}, PROT_READ | PROT_EXEC);
            return {};
        }
        int writes = 0;

    private:
        SyscallPatchTest& m_t;
        AddressSpace& m_as;
    };

    void SetUpSpace(const std::vector<uint8_t>& code) {
        m_as = NewAddressSpace();
        ASSERT_TRUE(m_as);
        m_code = MapPage(*m_as, kCode, code, PROT_READ | PROT_EXEC);
        m_data = MapPage(*m_as, kData, {}, PROT_READ | PROT_WRITE);
        m_writer = std::make_shared<Writer>(*this, *m_as);
        m_as->SetCodeWriter(m_writer);
        auto ctx = m_platform->NewContext();
        ASSERT_TRUE(ctx.ok());
        m_ctx = ctx.release_value();
    }

    systrap::SyscallPatcher& patcher() { return static_cast<systrap::SystrapAddressSpace&>(*m_as).patcher(); }

    // Runs until the next system call; answers it with `result`.
    Event Step(Registers& regs) { return m_ctx->Switch(*m_as, regs); }

    std::shared_ptr<AddressSpace> m_as;
    std::shared_ptr<Writer> m_writer;
    std::unique_ptr<Context> m_ctx;
    uint8_t* m_code = nullptr;
    uint8_t* m_data = nullptr;
};

TEST_F(SyscallPatchTest, HotSiteIsPatchedAndServedThroughTheFastPath) {
    SetUpSpace(kGetpidLoop);
    Registers regs = Regs(kCode);
    regs.r8 = 8, regs.r9 = 9, regs.r10 = 10, regs.r12 = 12, regs.r13 = 13, regs.r14 = 14, regs.r15 = 15;
    regs.rdi = 0x1d1, regs.rsi = 0x151, regs.rdx = 0xd, regs.rbp = 0xb9;
    for (uint64_t i = 0; i < 50; ++i) {
        Event e = Step(regs);
        ASSERT_EQ(e.kind, EventKind::Syscall) << i;
        EXPECT_EQ(regs.orig_rax, uint64_t{SYS_getpid});
        EXPECT_EQ(regs.rip, kAfterSite);
        EXPECT_EQ(regs.rcx, kAfterSite);  // as a syscall instruction leaves it
        EXPECT_EQ(regs.r8, 8u);
        EXPECT_EQ(regs.r10, 10u);
        EXPECT_EQ(regs.r15, 15u);
        EXPECT_EQ(regs.rdi, 0x1d1u);
        EXPECT_EQ(regs.rsi, 0x151u);
        EXPECT_EQ(regs.rdx, 0xdu);
        EXPECT_EQ(regs.rbp, 0xb9u);
        EXPECT_EQ(regs.rbx, kData);
        if (i > 0) {
            uint64_t stored;
            std::memcpy(&stored, m_data, sizeof(stored));
            EXPECT_EQ(stored, 1000 + i - 1) << "the result of the previous call";
        }
        regs.rax = 1000 + i;
    }
    EXPECT_EQ(patcher().patched(), 1u);
    EXPECT_EQ(m_code[0], 0xff);
    EXPECT_EQ(m_code[1], 0x24);
    EXPECT_EQ(m_code[2], 0x25);
    EXPECT_EQ(m_code[5], 0x06);  // the third byte of every entry address: an invalid opcode
}

TEST_F(SyscallPatchTest, RestartedCallsRunThePatchedSiteAgain) {
    SetUpSpace(kGetpidLoop);
    Registers regs = Regs(kCode);
    for (int i = 0; i < 5; ++i)
        ASSERT_EQ(Step(regs).kind, EventKind::Syscall);
    ASSERT_EQ(patcher().patched(), 1u);
    // The sentry restarts a call as Linux does: rip back by 2 (onto the 0x06), rax = nr.
    regs.rip -= 2;
    regs.rax = SYS_getpid;
    ASSERT_EQ(Step(regs).kind, EventKind::Syscall);
    EXPECT_EQ(regs.orig_rax, uint64_t{SYS_getpid});
    EXPECT_EQ(regs.rip, kAfterSite);
    // restart_syscall keeps its own number.
    regs.rip -= 2;
    regs.rax = SYS_restart_syscall;
    ASSERT_EQ(Step(regs).kind, EventKind::Syscall);
    EXPECT_EQ(regs.orig_rax, uint64_t{SYS_restart_syscall});
    EXPECT_EQ(regs.rip, kAfterSite);
}

TEST_F(SyscallPatchTest, AGsBaseOfItsOwnFallsBackToTheSignalPath) {
    SetUpSpace(kGetpidLoop);
    Registers regs = Regs(kCode);
    for (int i = 0; i < 5; ++i)
        ASSERT_EQ(Step(regs).kind, EventKind::Syscall);
    ASSERT_EQ(patcher().patched(), 1u);
    regs.gs_base = kData + 0x800;  // zeros: the fast path's %gs check fails
    for (int i = 0; i < 5; ++i) {
        ASSERT_EQ(Step(regs).kind, EventKind::Syscall);
        EXPECT_EQ(regs.orig_rax, uint64_t{SYS_getpid});
        EXPECT_EQ(regs.rip, kAfterSite);
        EXPECT_EQ(regs.gs_base, kData + 0x800);
    }
    regs.gs_base = 0;
    ASSERT_EQ(Step(regs).kind, EventKind::Syscall);
    EXPECT_EQ(regs.rip, kAfterSite);
}

TEST_F(SyscallPatchTest, FpuStateOfAThreadInTheFastPath) {
    SetUpSpace(kGetpidStoreXmm0);
    Registers regs = Regs(kCode);
    for (int i = 0; i < 5; ++i)
        ASSERT_EQ(Step(regs).kind, EventKind::Syscall);
    ASSERT_EQ(patcher().patched(), 1u);
    auto fpu = m_ctx->GetFpu();
    ASSERT_TRUE(fpu.ok()) << fpu.error();
    for (int i = 0; i < 16; ++i)
        (*fpu)[160 + i] = static_cast<uint8_t>(0xa0 + i);  // xmm0
    ASSERT_TRUE(m_ctx->SetFpu(*fpu).ok());
    ASSERT_EQ(Step(regs).kind, EventKind::Syscall);
    for (int i = 0; i < 16; ++i)
        EXPECT_EQ(m_data[i], 0xa0 + i);
    ASSERT_EQ(Step(regs).kind, EventKind::Syscall);  // and the fast path still works
    auto again = m_ctx->GetFpu();
    ASSERT_TRUE(again.ok());
    EXPECT_EQ((*again)[160], 0xa0);
}

TEST_F(SyscallPatchTest, InterruptsDuringTheFastPathAreNeverLost) {
    SetUpSpace(kGetpidLoop);
    Registers regs = Regs(kCode);
    for (int i = 0; i < 5; ++i)
        ASSERT_EQ(Step(regs).kind, EventKind::Syscall);
    ASSERT_EQ(patcher().patched(), 1u);
    Context* c = m_ctx.get();
    std::atomic<bool> stop{false};
    std::thread interrupter([&] {
        while (!stop.load()) {
            c->Interrupt();
            ::usleep(20);
        }
    });
    struct Joiner {
        std::atomic<bool>& stop;
        std::thread& t;
        ~Joiner() {
            stop = true;
            t.join();
        }
    } joiner{stop, interrupter};
    // Enough round trips that interrupts land everywhere in the fast path (at least 3000, and
    // until 50 interrupts came, or 5 s).
    int interrupted = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (int i = 0; i < 3000 || (interrupted < 50 && std::chrono::steady_clock::now() < deadline); ++i) {
        Event e = Step(regs);
        ASSERT_TRUE(e.kind == EventKind::Syscall || e.kind == EventKind::Interrupted) << static_cast<int>(e.kind);
        interrupted += e.kind == EventKind::Interrupted;
        if (e.kind == EventKind::Syscall)
            ASSERT_EQ(regs.rip, kAfterSite);
        else
            ASSERT_TRUE(regs.rip >= kCode && regs.rip < kCode + kGetpidLoop.size()) << std::hex << regs.rip;
    }
    stop = true;
    EXPECT_GE(interrupted, 50);
    // One more interrupt, at a random point of the loop, ends a Switch.
    c->Interrupt();
    for (int i = 0; i < 3; ++i) {
        Event e = Step(regs);
        if (e.kind == EventKind::Interrupted)
            return;
    }
    ADD_FAILURE() << "the last interrupt was lost";
}

TEST_F(SyscallPatchTest, NoPatchWithoutAWriterOrWhenTurnedOff) {
    auto as = NewAddressSpace();  // no SetCodeWriter: like the ptrace platform's memory
    ASSERT_TRUE(as);
    uint8_t* code = MapPage(*as, kCode, kGetpidLoop, PROT_READ | PROT_EXEC);
    MapPage(*as, kData, {}, PROT_READ | PROT_WRITE);
    auto ctx = m_platform->NewContext();
    ASSERT_TRUE(ctx.ok());
    Registers regs = Regs(kCode);
    for (int i = 0; i < 10; ++i)
        ASSERT_EQ((*ctx)->Switch(*as, regs).kind, EventKind::Syscall);
    EXPECT_EQ(code[0], 0xb8);

    systrap::SyscallPatcher off([](uint64_t, void*, size_t) -> size_t { return 0; }, false);
    off.OnTrappedSyscall(kAfterSite, SYS_getpid);
    off.OnTrappedSyscall(kAfterSite, SYS_getpid);
    EXPECT_EQ(off.patched(), 0u);
}

TEST_F(SyscallPatchTest, OnlyTheExactSequenceIsPatched) {
    // mov $39,%eax; syscall, but the trapped number differs (the app jumped to the syscall
    // with another eax): not patched.
    SetUpSpace(kGetpidLoop);
    patcher().OnTrappedSyscall(kAfterSite, SYS_getppid);
    patcher().OnTrappedSyscall(kAfterSite, SYS_getppid);
    EXPECT_EQ(patcher().patched(), 0u);
    EXPECT_EQ(m_code[0], 0xb8);
    EXPECT_FALSE(patcher().ReadEntry(SYSTRAP_TABLE_BASE).has_value());   // the header
    EXPECT_FALSE(patcher().ReadEntry(SYSTRAP_TABLE_BASE + 65).has_value());  // unaligned
    EXPECT_FALSE(patcher().PatchedSiteAt(kCode + 5).has_value());
}

}  // namespace
}  // namespace moat::platform::testing
