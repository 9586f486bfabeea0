#include "platform/ptrace/fault_decoder.h"

#include <gtest/gtest.h>

#include <vector>

namespace moat::platform {
namespace {

constexpr uint64_t kRip = 0x401000;
constexpr uint64_t kData = 0x500000;
constexpr uint64_t kStack = 0x7ff000;

Registers TestRegs() {
    Registers r{};
    r.rip = kRip;
    r.rbx = kData;
    r.rdi = kData + 0x100;
    r.rsi = kData + 0x200;
    r.rsp = kStack;
    r.fs_base = 0x600000;
    return r;
}

int Decode(std::vector<uint8_t> code, uint64_t fault_addr, Registers regs = TestRegs()) {
    return DecodeFaultAccess(code, regs, fault_addr);
}

TEST(PtraceFaultDecoder, MovToMemoryIsWrite) {
    EXPECT_EQ(Decode({0x89, 0x03}, kData), kAccessWrite);                          // mov %eax,(%rbx)
    EXPECT_EQ(Decode({0x48, 0x89, 0x43, 0x10}, kData + 0x10), kAccessWrite);       // mov %rax,0x10(%rbx)
    EXPECT_EQ(Decode({0x48, 0x89, 0x43, 0x10}, kData + 0x1000), kAccessWrite);     // unmatched: any write
}

TEST(PtraceFaultDecoder, MovFromMemoryIsRead) {
    EXPECT_EQ(Decode({0x8b, 0x03}, kData), kAccessRead);  // mov (%rbx),%eax
    // mov %fs:0x8,%rax reads fs_base + 8.
    EXPECT_EQ(Decode({0x64, 0x48, 0x8b, 0x04, 0x25, 0x08, 0, 0, 0}, 0x600008), kAccessRead);
    // mov 0x10(%rip),%rax: rip-relative to the next instruction.
    EXPECT_EQ(Decode({0x48, 0x8b, 0x05, 0x10, 0, 0, 0}, kRip + 7 + 0x10), kAccessRead);
}

TEST(PtraceFaultDecoder, PushAndCallWriteTheStack) {
    EXPECT_EQ(Decode({0x50}, kStack - 8), kAccessWrite);                    // push %rax
    EXPECT_EQ(Decode({0xe8, 0, 0, 0, 0}, kStack - 8), kAccessWrite);        // call .+5
    EXPECT_EQ(Decode({0xff, 0x33}, kData), kAccessRead);                    // push (%rbx): the source
    EXPECT_EQ(Decode({0xff, 0x33}, kStack - 8), kAccessWrite);              // push (%rbx): the stack
    EXPECT_EQ(Decode({0x8f, 0x03}, kStack), kAccessRead);                   // pop (%rbx): the stack
    EXPECT_EQ(Decode({0xc3}, kStack), kAccessRead);                         // ret
}

TEST(PtraceFaultDecoder, StringStoresAreWrites) {
    EXPECT_EQ(Decode({0xf3, 0xaa}, kData + 0x100), kAccessWrite);           // rep stosb
    EXPECT_EQ(Decode({0xf3, 0xa4}, kData + 0x100), kAccessWrite);           // rep movsb: dest
    EXPECT_EQ(Decode({0xf3, 0xa4}, kData + 0x200), kAccessRead);            // rep movsb: source
    EXPECT_EQ(Decode({0xf3, 0xa6}, kData + 0x100), kAccessRead);            // repe cmpsb
}

TEST(PtraceFaultDecoder, ReadModifyWriteIsWrite) {
    EXPECT_EQ(Decode({0x0f, 0xb1, 0x0b}, kData), kAccessWrite);             // cmpxchg %ecx,(%rbx)
    EXPECT_EQ(Decode({0xf0, 0x0f, 0xb1, 0x0b}, kData), kAccessWrite);       // lock cmpxchg
    EXPECT_EQ(Decode({0xf0, 0x48, 0x0f, 0xc7, 0x0b}, kData), kAccessWrite);  // lock cmpxchg16b (%rbx)
    EXPECT_EQ(Decode({0x01, 0x03}, kData), kAccessWrite);                   // add %eax,(%rbx)
    EXPECT_EQ(Decode({0x39, 0x03}, kData), kAccessRead);                    // cmp %eax,(%rbx)
}

TEST(PtraceFaultDecoder, VectorAndX87StoresAreWrites) {
    EXPECT_EQ(Decode({0xc5, 0xfe, 0x7f, 0x03}, kData), kAccessWrite);       // vmovdqu %ymm0,(%rbx)
    EXPECT_EQ(Decode({0x0f, 0xc3, 0x03}, kData), kAccessWrite);             // movnti %eax,(%rbx)
    EXPECT_EQ(Decode({0xdd, 0x1b}, kData), kAccessWrite);                   // fstpl (%rbx)
    EXPECT_EQ(Decode({0xc5, 0xfe, 0x6f, 0x03}, kData), kAccessRead);        // vmovdqu (%rbx),%ymm0
}

TEST(PtraceFaultDecoder, FetchIsExec) {
    EXPECT_EQ(Decode({0x90}, kRip), kAccessExec);
    EXPECT_EQ(Decode({}, kRip), kAccessExec);
    // An instruction running off the end of its page: the bytes after it are missing.
    EXPECT_EQ(Decode({0x48, 0x8b}, kRip + 2), kAccessExec);
    EXPECT_EQ(Decode({0x48, 0x8b, 0x04, 0x25, 0, 0, 0x50, 0}, kRip + 4), kAccessExec);
}

TEST(PtraceFaultDecoder, NonMemoryInstructionDefaultsToRead) {
    EXPECT_EQ(Decode({0x01, 0xc3}, kData), kAccessRead);  // add %eax,%ebx
}

TEST(PtraceFaultDecoder, UndecodableIsUnknown) {
    EXPECT_EQ(Decode({0x0f, 0x0f}, kData), 0);  // 3DNow! escape cut short
    EXPECT_EQ(Decode({0x06}, kData), 0);        // push %es: invalid in 64-bit mode
}

}  // namespace
}  // namespace moat::platform

namespace moat::platform {
namespace {
// Regression: Capstone 4 marks the memory operand of `test` as written, which made python3's
// first read of its .rodata a SIGSEGV.
TEST(PtraceFaultDecoder, ComparisonsOnlyRead) {
    EXPECT_EQ(Decode({0xf6, 0x03, 0x07}, kData), kAccessRead);        // testb $7,(%rbx)
    EXPECT_EQ(Decode({0x83, 0x3b, 0x05}, kData), kAccessRead);        // cmpl $5,(%rbx)
    EXPECT_EQ(Decode({0x0f, 0xa3, 0x03}, kData), kAccessRead);        // bt %eax,(%rbx)
    EXPECT_EQ(Decode({0xf0, 0x0f, 0xb1, 0x0b}, kData), kAccessWrite);  // lock cmpxchg %ecx,(%rbx)
}
}  // namespace
}  // namespace moat::platform
