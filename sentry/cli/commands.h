#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace moat::cli {

// One --bind / --ro-bind argument ("SRC:DST"), in command-line order.
struct BindArg {
    std::string spec;
    bool read_only = false;
};

struct DoOptions {
    std::string platform = "ptrace";
    bool strace = false;
    std::string debug_log;
    std::string cwd;
    size_t pids_limit = 4096;
    uint64_t memory_limit = 0;    // --memory-limit: bytes of app memory (anonymous, tmpfs, page cache); 0 = 64 GiB
    unsigned cpus = 0;            // --cpus: host CPUs the sandbox runs on; 0 = all
    uint64_t open_files = 0;      // --open-files: the init process's RLIMIT_NOFILE; 0 = the host's
    std::string root = "/";       // --root: the host directory that becomes the sandbox's "/"
    std::vector<BindArg> binds;   // --bind / --ro-bind, mounted in this order
    bool no_host_filter = false;  // --no-host-filter: debugging, the sentry without its seccomp filter
    std::vector<std::string> command;
};

struct SyscallsOptions {
    bool host = false;
    bool verbose = false;  // with --host: each entry's reason
};

// `moat do`: returns the exit status to pass back (128+N for a kill by signal N).
int RunDo(const DoOptions& opts);
int RunSyscalls(const SyscallsOptions& opts);

}  // namespace moat::cli
