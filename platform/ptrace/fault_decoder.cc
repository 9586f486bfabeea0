#include "platform/ptrace/fault_decoder.h"

#include <capstone/capstone.h>

#include <optional>
#include <string_view>

namespace moat::platform {

namespace {

constexpr size_t kMaxInstructionLength = 15;

// One Capstone handle per host thread: faults are handled on the context's own thread, and
// opening a handle allocates.
class Disassembler {
public:
    Disassembler() {
        if (cs_open(CS_ARCH_X86, CS_MODE_64, &m_handle) != CS_ERR_OK) {
            m_handle = 0;
            return;
        }
        cs_option(m_handle, CS_OPT_DETAIL, CS_OPT_ON);
    }
    ~Disassembler() {
        if (m_handle)
            cs_close(&m_handle);
    }
    csh handle() const { return m_handle; }

private:
    csh m_handle = 0;
};

std::optional<uint64_t> RegisterValue(x86_reg reg, const Registers& r, uint64_t next_rip) {
    switch (reg) {
    case X86_REG_INVALID: return 0;
    case X86_REG_RAX: return r.rax;
    case X86_REG_RBX: return r.rbx;
    case X86_REG_RCX: return r.rcx;
    case X86_REG_RDX: return r.rdx;
    case X86_REG_RSI: return r.rsi;
    case X86_REG_RDI: return r.rdi;
    case X86_REG_RBP: return r.rbp;
    case X86_REG_RSP: return r.rsp;
    case X86_REG_R8: return r.r8;
    case X86_REG_R9: return r.r9;
    case X86_REG_R10: return r.r10;
    case X86_REG_R11: return r.r11;
    case X86_REG_R12: return r.r12;
    case X86_REG_R13: return r.r13;
    case X86_REG_R14: return r.r14;
    case X86_REG_R15: return r.r15;
    case X86_REG_RIP: return next_rip;
    // 32-bit addressing (addr32 prefix): the effective address is truncated below.
    case X86_REG_EAX: return r.rax & 0xffffffff;
    case X86_REG_EBX: return r.rbx & 0xffffffff;
    case X86_REG_ECX: return r.rcx & 0xffffffff;
    case X86_REG_EDX: return r.rdx & 0xffffffff;
    case X86_REG_ESI: return r.rsi & 0xffffffff;
    case X86_REG_EDI: return r.rdi & 0xffffffff;
    case X86_REG_EBP: return r.rbp & 0xffffffff;
    case X86_REG_ESP: return r.rsp & 0xffffffff;
    case X86_REG_R8D: return r.r8 & 0xffffffff;
    case X86_REG_R9D: return r.r9 & 0xffffffff;
    case X86_REG_R10D: return r.r10 & 0xffffffff;
    case X86_REG_R11D: return r.r11 & 0xffffffff;
    case X86_REG_R12D: return r.r12 & 0xffffffff;
    case X86_REG_R13D: return r.r13 & 0xffffffff;
    case X86_REG_R14D: return r.r14 & 0xffffffff;
    case X86_REG_R15D: return r.r15 & 0xffffffff;
    case X86_REG_EIP: return next_rip & 0xffffffff;
    default: return std::nullopt;  // vector index (VSIB) and anything unexpected
    }
}

bool Is32BitAddressing(x86_reg base, x86_reg index) {
    auto is32 = [](x86_reg r) {
        return (r >= X86_REG_EAX && r <= X86_REG_ESP) || (r >= X86_REG_R8D && r <= X86_REG_R15D) ||
               r == X86_REG_EIP;
    };
    return is32(base) || is32(index);
}

std::optional<uint64_t> EffectiveAddress(const x86_op_mem& mem, const Registers& r, uint64_t next_rip) {
    auto base = RegisterValue(static_cast<x86_reg>(mem.base), r, next_rip);
    auto index = RegisterValue(static_cast<x86_reg>(mem.index), r, next_rip);
    if (!base || !index)
        return std::nullopt;
    uint64_t ea = *base + *index * static_cast<uint64_t>(mem.scale) + static_cast<uint64_t>(mem.disp);
    if (Is32BitAddressing(static_cast<x86_reg>(mem.base), static_cast<x86_reg>(mem.index)))
        ea &= 0xffffffff;
    if (mem.segment == X86_REG_FS)
        ea += r.fs_base;
    else if (mem.segment == X86_REG_GS)
        ea += r.gs_base;
    return ea;
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Capstone 4's operand access flags miss many stores (VEX/AVX moves, movnti, movbe, x87
// stores, cmpxchg), so writes are also inferred from the instruction's shape.
// The instructions that only read their memory operands, whatever Capstone 4 says (it marks
// `test byte ptr [mem], 7` as READ|WRITE, for one).
bool NeverWritesOperand(std::string_view m) {
    return m == "test" || m == "bt" || m == "push" || m == "nop" || m == "lea" || m == "ptest" ||
           m == "vptest" || StartsWith(m, "cmp") || StartsWith(m, "prefetch") || StartsWith(m, "clflush") ||
           StartsWith(m, "comis") || StartsWith(m, "ucomis") || StartsWith(m, "vcomis") || StartsWith(m, "vucomis");
}

bool OperandWritten(const cs_insn& insn, int index) {
    const cs_x86& x86 = insn.detail->x86;
    std::string_view m = insn.mnemonic;
    if (size_t space = m.rfind(' '); space != std::string_view::npos)
        m.remove_prefix(space + 1);  // Capstone keeps prefixes in the mnemonic: "lock cmpxchg"
    if (NeverWritesOperand(m) && !StartsWith(m, "cmpxchg"))
        return false;
    if (x86.operands[index].access & CS_AC_WRITE)
        return true;
    if (StartsWith(m, "cmpxchg") || StartsWith(m, "fst") || StartsWith(m, "fist") || StartsWith(m, "fnst") ||
        StartsWith(m, "fbstp") || StartsWith(m, "fsave") || StartsWith(m, "fnsave") || StartsWith(m, "stmxcsr") ||
        StartsWith(m, "vstmxcsr") || StartsWith(m, "fxsave") || StartsWith(m, "xsave"))
        return true;
    // In Intel operand order the destination comes first: a memory destination of a
    // two-or-more-operand instruction is written, except by the pure comparisons.
    if (index == 0 && x86.op_count >= 2 && !StartsWith(m, "cmp") && !StartsWith(m, "test") && m != "bt")
        return true;
    return false;
}

bool IsImplicitStackWrite(unsigned id) {
    switch (id) {
    case X86_INS_PUSH: case X86_INS_PUSHF: case X86_INS_PUSHFD: case X86_INS_PUSHFQ:
    case X86_INS_CALL: case X86_INS_LCALL: case X86_INS_ENTER:
        return true;
    default:
        return false;
    }
}

bool IsImplicitStackRead(unsigned id) {
    switch (id) {
    case X86_INS_POP: case X86_INS_POPF: case X86_INS_POPFD: case X86_INS_POPFQ:
    case X86_INS_RET: case X86_INS_RETF: case X86_INS_RETFQ: case X86_INS_LEAVE:
    case X86_INS_IRET: case X86_INS_IRETD: case X86_INS_IRETQ:
        return true;
    default:
        return false;
    }
}

int Classify(const cs_insn& insn, const Registers& regs, uint64_t fault_addr) {
    const cs_x86& x86 = insn.detail->x86;
    uint64_t next_rip = regs.rip + insn.size;
    bool any_write = false;
    if (insn.id != X86_INS_LEA && insn.id != X86_INS_NOP) {  // their operands are not accessed
        for (int i = 0; i < x86.op_count; ++i) {
            const cs_x86_op& op = x86.operands[i];
            if (op.type != X86_OP_MEM)
                continue;
            bool written = OperandWritten(insn, i);
            any_write |= written;
            auto ea = EffectiveAddress(op.mem, regs, next_rip);
            uint64_t size = op.size ? op.size : 1;
            if (ea && fault_addr >= *ea && fault_addr - *ea < size)
                return written ? kAccessWrite : kAccessRead;
        }
    }
    // No explicit operand covers the address: the stack, or an operand Capstone sized short.
    if (IsImplicitStackWrite(insn.id))
        return kAccessWrite;
    if (IsImplicitStackRead(insn.id))
        return kAccessRead;
    return any_write ? kAccessWrite : kAccessRead;
}

}  // namespace

int DecodeFaultAccess(std::span<const uint8_t> code, const Registers& regs, uint64_t fault_addr) {
    if (fault_addr == regs.rip)
        return kAccessExec;
    thread_local Disassembler disassembler;
    if (!disassembler.handle() || code.empty())
        return 0;
    size_t len = code.size() < kMaxInstructionLength ? code.size() : kMaxInstructionLength;
    cs_insn* insn = nullptr;
    size_t count = cs_disasm(disassembler.handle(), code.data(), len, regs.rip, 1, &insn);
    if (count == 0) {
        // Cut short by an unreadable page: the fetch itself faulted on the missing bytes.
        if (code.size() < kMaxInstructionLength && fault_addr > regs.rip &&
            fault_addr - regs.rip < kMaxInstructionLength && fault_addr >= regs.rip + code.size())
            return kAccessExec;
        return 0;
    }
    int access = 0;
    if (fault_addr > regs.rip && fault_addr - regs.rip < insn->size)
        access = kAccessExec;
    else
        access = Classify(*insn, regs, fault_addr);
    cs_free(insn, count);
    return access;
}

}  // namespace moat::platform
