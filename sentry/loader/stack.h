#pragma once
// The initial stack: the "[stack]" VMA and what execve leaves on it, byte for byte as
// Linux's fs/exec.c (copy_strings, setup_arg_pages) and fs/binfmt_elf.c (create_elf_tables)
// lay it out. From the top of the VMA down:
//
//   8 zero bytes | filename (AT_EXECFN) | envp strings | argv strings
//   | random 0..8 KiB gap, 16-aligned | "x86_64" (AT_PLATFORM) | 16 random bytes (AT_RANDOM)
//   | padding | auxv (AT_NULL last) | NULL | envp[] | NULL | argv[] | argc  <- rsp, 16-aligned

#include "platform/base/result.h"
#include "sentry/loader/layout_random.h"
#include "sentry/mm/memory_manager.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace moat::loader {

// Linux fs/exec.c limits.
inline constexpr uint64_t kMaxArgStrlen = 32 * 4096;      // MAX_ARG_STRLEN, with the NUL
inline constexpr uint64_t kMaxArgStrings = 0x7fffffff;    // MAX_ARG_STRINGS
inline constexpr uint64_t kArgMax = 32 * 4096;            // ARG_MAX, the floor of the limit
inline constexpr uint64_t kStackLim = 8ull << 20;         // _STK_LIM
inline constexpr uint64_t kStackExpand = 128 * 1024;      // setup_arg_pages' stack_expand
// Linux STACK_RND_MASK on x86-64: 22 bits of pages (16 GiB) of stack-top randomisation.
inline constexpr uint64_t kStackRandomRange = 16ull << 30;

// E2BIG unless the strings (argv, envp and the filename, with their NULs) and the pointer
// arrays fit what Linux allows for this stack rlimit: min(6 MiB, rlimit / 4), at least
// ARG_MAX; each string at most MAX_ARG_STRLEN. Returns the bytes of strings.
Result<uint64_t> CheckArgLimits(const std::string& filename, const std::vector<std::string>& argv,
                                const std::vector<std::string>& envp, uint64_t stack_rlimit);

// Maps the "[stack]" VMA (anonymous, MAP_GROWSDOWN, RW, +X for an exec stack) below a
// randomised top under mm.max_address(), big enough for `strings_size` bytes of strings plus
// everything create_elf_tables adds, and 128 KiB more. The top stays high enough above
// mm.mmap_base() for the stack to grow to `stack_rlimit`. Returns the top.
Result<uint64_t> MapStack(mm::MemoryManager& mm, uint64_t strings_size, size_t argc, size_t envc,
                          bool exec_stack, uint64_t stack_rlimit, LayoutRandom& random);

// The auxv entries that come from the image and the credentials (the stack itself supplies
// AT_RANDOM, AT_EXECFN and AT_PLATFORM).
struct AuxvInputs {
    uint64_t sysinfo_ehdr = 0;  // the vDSO; 0 = none, AT_SYSINFO_EHDR omitted
    uint64_t phdr = 0, phnum = 0;
    uint64_t base = 0;          // interpreter load address, 0 for static programs
    uint64_t entry = 0;         // the main program's entry
    uint64_t uid = 0, euid = 0, gid = 0, egid = 0;
    uint64_t secure = 0;
};

struct StackResult {
    uint64_t sp = 0;  // points at argc
    uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
    uint64_t execfn = 0, random = 0, platform = 0;
    std::vector<uint64_t> auxv;  // (type, value) pairs, AT_NULL last
};

// Writes the strings, AT_RANDOM bytes, pointers and auxv below `top` (in a VMA made by
// MapStack) with one CopyOut.
Result<StackResult> WriteStack(mm::MemoryManager& mm, uint64_t top, const std::string& filename,
                               const std::vector<std::string>& argv, const std::vector<std::string>& envp,
                               const AuxvInputs& in, LayoutRandom& random);

// The host-derived auxv values (AT_HWCAP from CPUID 1 EDX, AT_HWCAP2, AT_MINSIGSTKSZ).
struct HostAuxv {
    uint64_t hwcap = 0, hwcap2 = 0, minsigstksz = 0;
};
const HostAuxv& HostAuxvValues();

}  // namespace moat::loader
