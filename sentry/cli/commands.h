#pragma once
#include "sentry/kernel/credentials.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moat::cli {

// One --bind / --ro-bind argument ("SRC:DST"), in command-line order.
struct BindArg {
    std::string spec;
    bool read_only = false;
};

// A tmpfs an OCI bundle mounts (`mounts` of type tmpfs).
struct TmpfsArg {
    std::string path;
    uint32_t mode = 01777;
    uint64_t size = 0;  // bytes, 0: unlimited
};

// An initial rlimit of the init process (OCI process.rlimits).
struct RlimitArg {
    int resource = 0;
    uint64_t soft = 0, hard = 0;
};

struct DoOptions {
    std::string platform = "systrap";
    bool syscall_patch = true;    // systrap: rewrite hot syscall sites (--no-syscall-patch)
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
    std::string network = "none"; // --network: none (loopback only) or host
    std::string hostname = "moat";  // --hostname: the sandbox's nodename
    std::vector<std::string> command;
    // Set by the OCI runtime (cmd_oci.cc); `moat do` leaves them empty.
    std::optional<std::vector<std::string>> env;  // the whole environment (default: moat's own)
    std::vector<TmpfsArg> tmpfs;
    bool make_mount_points = false;  // create missing bind destinations in the root's overlay
    std::string control_socket;      // serve `moat exec` here (oci_control.h)
    // The init process's ids, groups, capability sets and no_new_privs (process.user,
    // capabilities, noNewPrivileges); unset: root with every capability.
    std::optional<kernel::Credentials> init_credentials;
    std::optional<uint32_t> umask;        // process.user.umask; unset: 022
    std::vector<RlimitArg> rlimits;       // process.rlimits, after --open-files
    std::vector<std::string> masked_paths;    // linux.maskedPaths (fs/path_restrictions.h)
    std::vector<std::string> readonly_paths;  // linux.readonlyPaths
    bool readonly_root = false;               // root.readonly: EROFS on the root mount
};

struct SyscallsOptions {
    bool host = false;
    bool verbose = false;  // with --host: each entry's reason
    bool oci = false;      // with --host: an OCI container's list (control socket)
    std::string network = "none";  // with --host: the list for this network mode
};

struct InstallOptions {
    bool write = false;
    std::string name = "moat";
    std::string docker_config = "/etc/docker/daemon.json";
    std::string podman_config = "/etc/containers/containers.conf";
    std::string containerd_config = "/etc/containerd/config.toml";
};

// `moat install`: prints (or with --write merges) the engines' runtime configuration.
int RunInstall(const InstallOptions& opts);

// `moat do`: returns the exit status to pass back (128+N for a kill by signal N).
int RunDo(const DoOptions& opts);
int RunSyscalls(const SyscallsOptions& opts);
// The exit status a sandbox's PID 1 gave, as a shell reports it (128+N for signal N).
int ExitCodeOf(int wait_status);

}  // namespace moat::cli
