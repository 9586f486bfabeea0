#pragma once
#include <string>
#include <vector>

namespace moat::cli {

// One --bind / --ro-bind argument ("SRC:DST"), in command-line order.
struct BindArg {
    std::string spec;
    bool read_only = false;
};

struct DoOptions {
    std::string platform = "systrap";
    bool syscall_patch = true;    // systrap: rewrite hot syscall sites (--no-syscall-patch)
    bool strace = false;
    std::string debug_log;
    std::string cwd;
    size_t pids_limit = 4096;
    std::string root = "/";       // --root: the host directory that becomes the sandbox's "/"
    std::vector<BindArg> binds;   // --bind / --ro-bind, mounted in this order
    std::string network = "none"; // --network: none (loopback only) or host
    std::string hostname = "moat";  // --hostname: the sandbox's nodename
    std::vector<std::string> command;
};

struct SyscallsOptions {
    bool host = false;
};

// `moat do`: returns the exit status to pass back (128+N for a kill by signal N).
int RunDo(const DoOptions& opts);
int RunSyscalls(const SyscallsOptions& opts);

}  // namespace moat::cli
