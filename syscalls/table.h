#pragma once
// The Linux x86-64 syscall table: number → name, handler, support level. `moat syscalls`
// prints it; the dispatcher serves from it; --strace names calls from it.

#include "syscalls/syscall.h"

#include <cstdint>
#include <span>
#include <string_view>

namespace moat::syscalls {

enum class Support : uint8_t { Full, Partial, Unimplemented };

struct SyscallEntry {
    uint32_t nr;
    const char* name;
    Handler handler;    // null: unimplemented (ENOSYS, counted)
    Support support;
    const char* note;   // for partial and deliberately-refused calls
};

// Every known number, in number order.
std::span<const SyscallEntry> Table();
// The entry for `nr`, or null for a number Linux x86-64 does not have.
const SyscallEntry* Lookup(uint64_t nr);
std::string_view SupportName(Support s);

// Serves the syscall the task stopped at (installed as the kernel's dispatcher).
void Dispatch(kernel::Task& task);

}  // namespace moat::syscalls
