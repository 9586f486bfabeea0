#pragma once
// The parts of an OCI bundle's config.json (runtime-spec 1.0/1.1) that Moat acts on, and the
// translation into what `moat do` runs (DoOptions). Unknown fields are ignored, as runc does;
// a field of the wrong type is an error naming it.

#include "sentry/cli/commands.h"
#include "sentry/cli/oci_process.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace moat::cli {

struct OciMount {
    std::string destination;
    std::string type;
    std::string source;
    std::vector<std::string> options;
};

struct OciHook {
    std::string path;
    std::vector<std::string> args;
    std::vector<std::string> env;
    int timeout = 0;  // seconds, 0: none
};

struct OciSpec {
    std::string oci_version;
    OciProcess process;
    std::string root_path;  // absolute (resolved against the bundle)
    bool root_readonly = false;
    std::string hostname;
    std::vector<OciMount> mounts;
    std::map<std::string, std::string> annotations;
    // createRuntime, createContainer, startContainer, poststart, poststop (and prestart).
    std::map<std::string, std::vector<OciHook>> hooks;
    std::vector<std::string> masked_paths;    // linux.maskedPaths
    std::vector<std::string> readonly_paths;  // linux.readonlyPaths
    // linux.namespaces' network entry: absent (runc shares the runtime's network namespace:
    // host sockets there), present without a path (a new one: the sandbox's own stack,
    // loopback only) or with one (the engine's, e.g. podman's netavark or CNI: the sentry
    // joins it and serves the sandbox's sockets as host sockets in it).
    enum class NetworkNamespace { kShared, kNew, kJoin };
    NetworkNamespace network_namespace = NetworkNamespace::kShared;
    std::string network_namespace_path;
    std::optional<int64_t> pids_limit;
    std::optional<int64_t> memory_limit;
    // linux.resources.cpu: quota/period (CFS bandwidth) and the cpuset ("0-1,3").
    std::optional<int64_t> cpu_quota;
    std::optional<uint64_t> cpu_period;
    std::string cpuset_cpus;
};

// Reads BUNDLE/config.json. On failure *error says what is wrong (one line).
std::optional<OciSpec> LoadOciSpec(const std::string& bundle, std::string* error);

// What `moat do` would be told to run this container; *error when a mount cannot be served.
std::optional<DoOptions> ToDoOptions(const OciSpec& spec, std::string* error);

// `moat spec`: runc's default config.json (busybox `sh`, a terminal, the usual mounts).
std::string DefaultSpecJson();

}  // namespace moat::cli
