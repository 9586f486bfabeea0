#pragma once
// A runtime-spec `process` object — config.json's, `moat exec --process`'s file, or the exec
// request the sentry reads from its control socket — and the one translation of it into what
// the kernel starts (kernel::InitProcess). PID 1 and every exec'd process are set up by the
// same two functions: ParseOciProcess and InitProcessOf.

#include "sentry/kernel/kernel.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moat::cli {

// process.rlimits[]: type RLIMIT_* as Linux's resource number.
struct OciRlimit {
    int resource = 0;
    uint64_t soft = 0, hard = 0;
};

// process.capabilities: each set as a bit mask of CAP_* numbers (a missing list is empty).
struct OciCapabilities {
    uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
};

// process.consoleSize.
struct OciConsoleSize {
    unsigned height = 0, width = 0;
};

struct OciProcess {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string cwd = "/";
    bool terminal = false;
    uint32_t uid = 0, gid = 0;                    // process.user
    std::vector<uint32_t> additional_gids;        // process.user.additionalGids
    std::optional<uint32_t> umask;                // process.user.umask
    std::vector<OciRlimit> rlimits;               // process.rlimits
    std::optional<OciCapabilities> capabilities;  // absent: the process keeps every capability
    bool no_new_privileges = false;
    std::optional<OciConsoleSize> console_size;
};

// Where a process object comes from, which decides how much of it is taken on trust.
enum class OciSource {
    // config.json or an exec --process file: the owner's own files, read as runc reads them
    // (a capability name this kernel does not know is skipped: newer specs list newer ones).
    kBundle,
    // The control socket's request: every capability name known, lists bounded, no rlimit
    // type twice. The sentry reads it from a client it does not trust to be well-formed.
    kUntrusted,
};

// Bounds on an untrusted request's lists (a request is at most 256 KiB anyway).
inline constexpr size_t kMaxExecStrings = 16384;  // args, env
inline constexpr size_t kMaxExecGroups = 65536;   // Linux's NGROUPS_MAX

// The process object P. Throws std::runtime_error naming the field that is wrong: a wrong
// type, an id of 2^32-1 ((uid_t)-1 names no user), an env entry that is not NAME=VALUE, a
// NUL byte in a string, a relative cwd, an unknown rlimit type, soft above hard.
OciProcess ParseOciProcess(const nlohmann::json& p, OciSource source);

// P as a runtime-spec process object, capability and rlimit names spelled out: what
// `moat exec` sends. ParseOciProcess reads it back to P.
nlohmann::json OciProcessJson(const OciProcess& p);

// What the kernel starts for P (path left for the caller to resolve in the sandbox): argv,
// the environment with duplicates dropped (the last value wins, as runc's prepareEnv does; a
// PATH lookup then sees the one PATH), cwd, the credentials as runc leaves them before its
// execve, the umask and the rlimits.
kernel::InitProcess InitProcessOf(const OciProcess& p);

// The Linux number of RLIMIT_NAME / CAP_NAME, or nullopt; and back.
std::optional<int> RlimitByName(const std::string& name);
std::optional<int> CapabilityByName(const std::string& name);
std::string RlimitName(int resource);
std::string CapabilityName(int cap);

}  // namespace moat::cli
