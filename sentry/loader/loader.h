#pragma once
// The program loader: builds a fresh process image in an empty MemoryManager — ELF (static,
// static-PIE, dynamic with PT_INTERP), `#!` scripts (nested up to 4 levels like Linux),
// the stack with argv/envp/auxv, and the vDSO.

#include "platform/base/result.h"
#include "sentry/loader/exec_file.h"
#include "sentry/mm/memory_manager.h"

#include <cstdint>
#include <string>
#include <vector>

namespace moat::loader {

class Vdso;

struct LoadRequest {
    std::string filename;            // the path as execve got it (AT_EXECFN, `#!` argv)
    std::vector<std::string> argv;
    std::vector<std::string> envp;
    ExecOpener open;                 // how to open the executable and interpreters
    Vdso* vdso = nullptr;            // mapped when non-null; AT_SYSINFO_EHDR
    uint64_t stack_size_limit = 8ull << 20;  // RLIMIT_STACK
    uint64_t random_seed = 0;        // for the layout; 0 = draw from the host's getrandom
    // Credentials after exec, for AT_UID/AT_EUID/AT_GID/AT_EGID/AT_SECURE.
    uint32_t uid = 0, euid = 0, gid = 0, egid = 0;
    bool secure = false;
};

struct LoadResult {
    uint64_t entry = 0;          // initial rip (the interpreter's entry for dynamic programs)
    uint64_t stack_pointer = 0;  // initial rsp, pointing at argc
    std::string exe_path;        // resolved path of the main executable
};

// Loads into `mm`, which must be empty. Errors are execve's: ENOEXEC, EACCES, ENOENT,
// E2BIG (argument strings beyond the stack limit / 4), ELOOP (`#!` nesting), ENOMEM.
Result<LoadResult> LoadProgram(mm::MemoryManager& mm, const LoadRequest& req);

}  // namespace moat::loader
