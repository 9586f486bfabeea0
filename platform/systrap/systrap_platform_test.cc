#include "platform/systrap/systrap_test_fixture.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace moat::platform::testing {
namespace {


using SystrapPlatformTest = SystrapTest;

TEST_F(SystrapPlatformTest, Basics) {
    EXPECT_EQ(m_platform->name(), "systrap");
    EXPECT_EQ(m_platform->max_user_address(), 0x7ffff0000000u);
    EXPECT_FALSE(CreateSystrapPlatform(-1).ok());
}

TEST_F(SystrapPlatformTest, StubHoldsOnlyItsCodeItsSharedRegionAndOurMappings) {
    auto as = NewAddressSpace();
    ASSERT_TRUE(as);
    MapPage(*as, kCode, kSyscall, PROT_READ | PROT_EXEC);
    std::ifstream maps("/proc/" + std::to_string(StubPid(*as)) + "/maps");
    std::vector<std::string> lines;
    for (std::string line; std::getline(maps, line);)
        lines.push_back(line);
    ASSERT_EQ(lines.size(), 5u);
    EXPECT_EQ(lines[0].substr(0, 18), "00400000-00401000 ") << lines[0];
    EXPECT_EQ(lines[1].substr(0, 30), "7ffff0000000-7ffff0002000 r-xp") << lines[1];
    EXPECT_EQ(lines[2].substr(0, 30), "7ffff0010000-7ffff0011000 r--s") << lines[2];
    EXPECT_EQ(lines[3].substr(0, 18), "7ffff0011000-7ffff") << lines[3];
    EXPECT_EQ(lines[3].substr(26, 4), "rw-s") << lines[3];
    EXPECT_NE(lines[4].find("[vsyscall]"), std::string::npos) << lines[4];
}

TEST_F(SystrapPlatformTest, SyscallEvent) {
    auto as = NewAddressSpace();
    ASSERT_TRUE(as);
    // syscall; mov %rax,%rbx; mov %rbx,0x500000; syscall
    MapPage(*as, kCode, {0x0f, 0x05, 0x48, 0x89, 0xc3, 0x48, 0x89, 0x1c, 0x25, 0x00, 0x00, 0x50, 0x00, 0x0f, 0x05},
            PROT_READ | PROT_EXEC);
    uint8_t* data = MapPage(*as, kData, {}, PROT_READ | PROT_WRITE);
    auto ctx = m_platform->NewContext();
    ASSERT_TRUE(ctx.ok());
    Registers regs = Regs(kCode);
    regs.rax = 39;
    regs.rdi = 1, regs.rsi = 2, regs.rdx = 3, regs.r10 = 4, regs.r8 = 5, regs.r9 = 6;
    Event e = (*ctx)->Switch(*as, regs);
    ASSERT_EQ(e.kind, EventKind::Syscall);
    EXPECT_EQ(regs.orig_rax, 39u);
    EXPECT_EQ(regs.rdi, 1u);
    EXPECT_EQ(regs.rsi, 2u);
    EXPECT_EQ(regs.rdx, 3u);
    EXPECT_EQ(regs.r10, 4u);
    EXPECT_EQ(regs.r8, 5u);
    EXPECT_EQ(regs.r9, 6u);
    EXPECT_EQ(regs.rip, kCode + 2);
    regs.rax = 1234;
    e = (*ctx)->Switch(*as, regs);
    ASSERT_EQ(e.kind, EventKind::Syscall);
    EXPECT_EQ(regs.rbx, 1234u);
    EXPECT_EQ(regs.rip, kCode + 15);
    uint64_t stored;
    std::memcpy(&stored, data, sizeof(stored));
    EXPECT_EQ(stored, 1234u);
}

TEST_F(SystrapPlatformTest, FaultsOnUnmappedMemoryCarryAddressAndAccess) {
    auto as = NewAddressSpace();
    ASSERT_TRUE(as);
    MapPage(*as, kCode, kStoreEax, PROT_READ | PROT_EXEC);
    MapPage(*as, kCode + kPage, kLoadEax, PROT_READ | PROT_EXEC);
    MapPage(*as, kCode + 2 * kPage, kJumpRbx, PROT_READ | PROT_EXEC);
    auto ctx = m_platform->NewContext();
    ASSERT_TRUE(ctx.ok());
    struct Case {
        uint64_t rip;
        int access;
        uint64_t fault_rip;
    } cases[] = {{kCode, kAccessWrite, kCode}, {kCode + kPage, kAccessRead, kCode + kPage},
                 {kCode + 2 * kPage, kAccessExec, 0x700000}};
    for (const Case& c : cases) {
        Registers regs = Regs(c.rip);
        regs.rbx = 0x700000;
        Event e = (*ctx)->Switch(*as, regs);
        ASSERT_EQ(e.kind, EventKind::Fault) << std::hex << c.rip;
        EXPECT_EQ(e.fault.signo, SIGSEGV);
        EXPECT_EQ(e.fault.si_code, SEGV_MAPERR);
        EXPECT_EQ(e.fault.addr, 0x700000u);
        EXPECT_EQ(e.fault.access, c.access) << std::hex << c.rip;
        EXPECT_EQ(regs.rip, c.fault_rip);
    }
}

TEST_F(SystrapPlatformTest, ProtectAndUnmap) {
    auto as = NewAddressSpace();
    ASSERT_TRUE(as);
    MapPage(*as, kCode, kStoreEax, PROT_READ | PROT_EXEC);
    MapPage(*as, kCode + kPage, kLoadEax, PROT_READ | PROT_EXEC);
    uint8_t* data = MapPage(*as, kData, {}, PROT_READ);
    auto ctx = m_platform->NewContext();
    ASSERT_TRUE(ctx.ok());

    Registers regs = Regs(kCode);
    regs.rax = 0x5a5a;
    Event e = (*ctx)->Switch(*as, regs);
    ASSERT_EQ(e.kind, EventKind::Fault);
    EXPECT_EQ(e.fault.signo, SIGSEGV);
    EXPECT_EQ(e.fault.si_code, SEGV_ACCERR);
    EXPECT_EQ(e.fault.addr, kData);
    EXPECT_EQ(e.fault.access, kAccessWrite);

    ASSERT_TRUE(as->Protect(kData, kPage, PROT_READ | PROT_WRITE).ok());
    e = (*ctx)->Switch(*as, regs);  // retries the faulting store
    ASSERT_EQ(e.kind, EventKind::Syscall);
    EXPECT_EQ(data[0], 0x5a);

    ASSERT_TRUE(as->Unmap(kData, kPage).ok());
    regs = Regs(kCode + kPage);
    e = (*ctx)->Switch(*as, regs);
    ASSERT_EQ(e.kind, EventKind::Fault);
    EXPECT_EQ(e.fault.si_code, SEGV_MAPERR);
    EXPECT_EQ(e.fault.addr, kData);
    EXPECT_EQ(e.fault.access, kAccessRead);
}

TEST_F(SystrapPlatformTest, BadRequestsFail) {
    auto as = NewAddressSpace();
    ASSERT_TRUE(as);
    EXPECT_EQ(as->Map(kCode, kPage, 1, PROT_READ).error(), EINVAL);  // the stub's mmap says so
    EXPECT_EQ(as->Map(0x7ffff0000000, kPage, 0, PROT_READ).error(), EINVAL);
    EXPECT_EQ(as->Unmap(0x7ffffefff000, 2 * kPage).error(), EINVAL);
    EXPECT_EQ(as->Protect(kCode + 1, kPage, PROT_READ).error(), EINVAL);
    EXPECT_EQ(as->Map(kCode, kPage, 2 * kMemorySize, PROT_READ).ok(), true);  // past EOF is fine
}

TEST_F(SystrapPlatformTest, SynchronousTraps) {
    auto as = NewAddressSpace();
    ASSERT_TRUE(as);
    MapPage(*as, kCode, {0x0f, 0x0b}, PROT_READ | PROT_EXEC);                          // ud2
    MapPage(*as, kCode + kPage, {0xcc}, PROT_READ | PROT_EXEC);                        // int3
    MapPage(*as, kCode + 2 * kPage, {0x31, 0xc9, 0xf7, 0xf1}, PROT_READ | PROT_EXEC);  // xor %ecx,%ecx; div %ecx
    auto ctx = m_platform->NewContext();
    ASSERT_TRUE(ctx.ok());

    Registers regs = Regs(kCode);
    Event e = (*ctx)->Switch(*as, regs);
    ASSERT_EQ(e.kind, EventKind::Fault);
    EXPECT_EQ(e.fault.signo, SIGILL);
    EXPECT_EQ(e.fault.si_code, ILL_ILLOPN);
    EXPECT_EQ(regs.rip, kCode);

    regs = Regs(kCode + kPage);
    e = (*ctx)->Switch(*as, regs);
    ASSERT_EQ(e.kind, EventKind::Fault);
    EXPECT_EQ(e.fault.signo, SIGTRAP);
    EXPECT_EQ(regs.rip, kCode + kPage + 1);

    regs = Regs(kCode + 2 * kPage);
    e = (*ctx)->Switch(*as, regs);
    ASSERT_EQ(e.kind, EventKind::Fault);
    EXPECT_EQ(e.fault.signo, SIGFPE);
    EXPECT_EQ(e.fault.si_code, FPE_INTDIV);
    EXPECT_EQ(regs.rip, kCode + 2 * kPage + 2);
}

TEST_F(SystrapPlatformTest, DestroyingTheAddressSpaceKillsTheStub) {
    auto as = NewAddressSpace();
    ASSERT_TRUE(as);
    pid_t pid = StubPid(*as);
    MapPage(*as, kCode, kSyscall, PROT_READ | PROT_EXEC);
    {
        auto ctx = m_platform->NewContext();
        ASSERT_TRUE(ctx.ok());
        Registers regs = Regs(kCode);
        ASSERT_EQ((*ctx)->Switch(*as, regs).kind, EventKind::Syscall);
    }
    ASSERT_EQ(::kill(pid, 0), 0);
    as.reset();  // kills without waiting; the monitor reaps it soon after
    EXPECT_TRUE(GoneSoon(pid));
}

TEST_F(SystrapPlatformTest, StubKilledFromOutsideIsDied) {
    auto as = NewAddressSpace();
    ASSERT_TRUE(as);
    MapPage(*as, kCode, kSpin, PROT_READ | PROT_EXEC);
    auto ctx = m_platform->NewContext();
    ASSERT_TRUE(ctx.ok());
    pid_t pid = StubPid(*as);
    std::thread killer([pid] {
        ::usleep(50 * 1000);
        ::kill(pid, SIGKILL);
    });
    Registers regs = Regs(kCode);
    EXPECT_EQ((*ctx)->Switch(*as, regs).kind, EventKind::Died);
    killer.join();
    EXPECT_FALSE(as->Map(kData, kPage, 0, PROT_READ).ok());
    EXPECT_EQ((*ctx)->Switch(*as, regs).kind, EventKind::Died);
    ctx->reset();
    as.reset();
    EXPECT_TRUE(GoneSoon(pid));
}

}  // namespace
}  // namespace moat::platform::testing
