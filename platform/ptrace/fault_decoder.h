#pragma once
// Decodes the access type of a fault from the faulting instruction (Capstone).
//
// ptrace reports SIGSEGV/SIGBUS with an address but without the page-fault error code, so
// the access type is recovered from the instruction: which of its memory operands (their
// effective addresses computed from the registers) covers the faulting address, and whether
// the instruction writes it; implicit stack pushes and string stores count as writes.

#include "platform/platform.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace moat::platform {

// `code` holds the bytes at regs.rip (up to 15; fewer when the reader came up short).
// Returns kAccessExec when the fault is on the instruction's own bytes, kAccessWrite or
// kAccessRead for a data access, and 0 when the instruction cannot be decoded.
int DecodeFaultAccess(std::span<const uint8_t> code, const Registers& regs, uint64_t fault_addr);

}  // namespace moat::platform
