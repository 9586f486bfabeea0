#include "sentry/cli/oci_spec.h"
#include "sentry/cli/oci_json.h"
#include "sentry/cli/oci_spec_fields.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace moat::cli {

namespace {

using nlohmann::json;
using ocijson::String;
using ocijson::StringList;

bool HasOption(const OciMount& m, const std::string& opt) {
    return std::find(m.options.begin(), m.options.end(), opt) != m.options.end();
}

// The mode= and size= options of a tmpfs mount ("size=65536k", "mode=755").
TmpfsArg TmpfsFrom(const OciMount& m) {
    TmpfsArg t;
    t.path = m.destination;
    t.mode = 01777;
    for (const auto& o : m.options) {
        if (o.rfind("mode=", 0) == 0) {
            t.mode = static_cast<uint32_t>(std::strtoul(o.c_str() + 5, nullptr, 8)) & 07777;
        } else if (o.rfind("size=", 0) == 0) {
            char* end = nullptr;
            uint64_t n = std::strtoull(o.c_str() + 5, &end, 10);
            switch (end && *end ? *end : 0) {
            case 'k': case 'K': n <<= 10; break;
            case 'm': case 'M': n <<= 20; break;
            case 'g': case 'G': n <<= 30; break;
            default: break;
            }
            t.size = n;
        }
    }
    return t;
}

// linux.resources.cpu as whole CPUs for --cpus: quota/period rounded up, the cpuset's size,
// the smaller of the two when both are set; 0 (all) when neither is.
unsigned CpusOf(const OciSpec& spec) {
    unsigned cpus = 0;
    if (spec.cpu_quota && *spec.cpu_quota > 0) {
        uint64_t period = spec.cpu_period && *spec.cpu_period > 0 ? *spec.cpu_period : 100000;  // the CFS default
        cpus = static_cast<unsigned>((static_cast<uint64_t>(*spec.cpu_quota) + period - 1) / period);
    }
    if (auto n = CpusetCount(spec.cpuset_cpus); n && (cpus == 0 || *n < cpus))
        cpus = *n;
    return cpus;
}

void ParseHooks(const json& h, OciSpec& spec) {
    if (!h.is_object())
        return;
    for (auto it = h.begin(); it != h.end(); ++it) {
        if (!it.value().is_array())
            throw std::runtime_error(fmt::format("hooks.{} must be an array", it.key()));
        for (const auto& e : it.value()) {
            OciHook hook;
            hook.path = String(e, "path", "hooks[].path");
            if (hook.path.empty() || hook.path[0] != '/')
                throw std::runtime_error(fmt::format("hooks.{}: path must be absolute", it.key()));
            hook.args = StringList(e, "args", "hooks[].args");
            hook.env = StringList(e, "env", "hooks[].env");
            hook.timeout = e.value("timeout", 0);
            spec.hooks[it.key()].push_back(std::move(hook));
        }
    }
}

void ParseNamespaces(const json& l, OciSpec& spec) {
    if (!l.contains("namespaces"))
        return;
    if (!l["namespaces"].is_array())
        throw std::runtime_error("linux.namespaces must be an array");
    for (const auto& ns : l["namespaces"]) {
        if (String(ns, "type", "linux.namespaces[].type") != "network")
            continue;
        spec.network_namespace_path = String(ns, "path", "linux.namespaces[].path");
        spec.network_namespace =
            spec.network_namespace_path.empty() ? OciSpec::NetworkNamespace::kNew : OciSpec::NetworkNamespace::kJoin;
    }
}

void ParseLinux(const json& l, OciSpec& spec) {
    if (!l.is_object())
        return;
    ParseLinuxRestrictions(l, spec);
    ParseNamespaces(l, spec);
    if (!l.contains("resources") || !l["resources"].is_object())
        return;
    const json& r = l["resources"];
    if (r.contains("pids") && r["pids"].is_object() && r["pids"].contains("limit") && r["pids"]["limit"].is_number())
        spec.pids_limit = r["pids"]["limit"].get<int64_t>();
    if (r.contains("memory") && r["memory"].is_object() && r["memory"].contains("limit") &&
        r["memory"]["limit"].is_number())
        spec.memory_limit = r["memory"]["limit"].get<int64_t>();
}

}  // namespace

std::optional<OciSpec> LoadOciSpec(const std::string& bundle, std::string* error) {
    std::string path = bundle + "/config.json";
    std::ifstream in(path);
    if (!in) {
        *error = fmt::format("cannot read {}: {}", path, strerror(errno));
        return std::nullopt;
    }
    OciSpec spec;
    try {
        json j = json::parse(in);
        if (!j.is_object())
            throw std::runtime_error("the top level must be an object");
        spec.oci_version = String(j, "ociVersion", "ociVersion");
        if (!j.contains("process"))
            throw std::runtime_error("process is missing");
        spec.process = ParseOciProcess(j["process"], OciSource::kBundle);
        if (!j.contains("root") || !j["root"].is_object())
            throw std::runtime_error("root is missing");
        std::string root = String(j["root"], "path", "root.path");
        if (root.empty())
            throw std::runtime_error("root.path is missing");
        spec.root_readonly = j["root"].value("readonly", false);
        if (root[0] != '/')
            root = bundle + "/" + root;
        char resolved[PATH_MAX];
        if (!realpath(root.c_str(), resolved))
            throw std::runtime_error(fmt::format("root.path {}: {}", root, strerror(errno)));
        spec.root_path = resolved;
        spec.hostname = String(j, "hostname", "hostname");
        if (j.contains("mounts") && j["mounts"].is_array()) {
            for (const auto& m : j["mounts"]) {
                OciMount mount;
                mount.destination = String(m, "destination", "mounts[].destination");
                mount.type = String(m, "type", "mounts[].type");
                mount.source = String(m, "source", "mounts[].source");
                mount.options = StringList(m, "options", "mounts[].options");
                if (mount.destination.empty() || mount.destination[0] != '/')
                    throw std::runtime_error(fmt::format("mount destination '{}' must be absolute", mount.destination));
                spec.mounts.push_back(std::move(mount));
            }
        }
        if (j.contains("annotations") && j["annotations"].is_object())
            for (auto it = j["annotations"].begin(); it != j["annotations"].end(); ++it)
                if (it.value().is_string())
                    spec.annotations[it.key()] = it.value().get<std::string>();
        if (j.contains("hooks"))
            ParseHooks(j["hooks"], spec);
        if (j.contains("linux"))
            ParseLinux(j["linux"], spec);
    } catch (const std::exception& e) {
        *error = fmt::format("{}: {}", path, e.what());
        return std::nullopt;
    }
    if (spec.process.args.empty()) {
        *error = fmt::format("{}: process.args is empty", path);
        return std::nullopt;
    }
    return spec;
}

std::optional<DoOptions> ToDoOptions(const OciSpec& spec, std::string* error) {
    DoOptions opts;
    opts.root = spec.root_path;
    // PID 1 is set up as every exec'd process is (oci_control.cc): from InitProcessOf.
    kernel::InitProcess init = InitProcessOf(spec.process);
    opts.command = init.argv;
    opts.env = init.envp;
    opts.cwd = init.cwd;
    opts.hostname = spec.hostname;
    opts.make_mount_points = true;
    // A new network namespace is the sandbox's own stack; otherwise host sockets in the one
    // the sentry is in by then (the runtime's, or the engine's it joined: cmd_oci.cc).
    opts.network = spec.network_namespace == OciSpec::NetworkNamespace::kNew ? "none" : "host";
    if (spec.pids_limit && *spec.pids_limit > 0)
        opts.pids_limit = static_cast<size_t>(*spec.pids_limit);
    if (spec.memory_limit && *spec.memory_limit > 0)
        opts.memory_limit = static_cast<uint64_t>(*spec.memory_limit);
    opts.cpus = CpusOf(spec);
    opts.init_credentials = init.credentials;
    opts.umask = init.umask;
    // The sandbox's initial limits: an exec'd process without rlimits of its own starts with
    // them too, as in runc (its exec takes the container's rlimits by default).
    for (const auto& r : init.rlimits)
        opts.rlimits.push_back(RlimitArg{r.resource, r.soft, r.hard});
    opts.masked_paths = spec.masked_paths;
    opts.readonly_paths = spec.readonly_paths;
    opts.readonly_root = spec.root_readonly;
    for (const auto& m : spec.mounts) {
        const bool bind = m.type == "bind" || HasOption(m, "bind") || HasOption(m, "rbind");
        if (bind) {
            if (m.source.empty() || m.source[0] != '/') {
                *error = fmt::format("mount {}: bind source '{}' must be absolute", m.destination, m.source);
                return std::nullopt;
            }
            opts.binds.push_back(BindArg{m.source + ":" + m.destination, HasOption(m, "ro")});
        } else if (m.type == "tmpfs") {
            // Moat's own /dev (with /dev/shm) is in place already.
            if (m.destination != "/dev" && m.destination != "/dev/shm")
                opts.tmpfs.push_back(TmpfsFrom(m));
        }
        // proc, sysfs, devpts, mqueue, cgroup: the sentry serves /proc, /dev and /sys itself.
    }
    return opts;
}

std::string DefaultSpecJson() {
    json spec = {
        {"ociVersion", "1.0.2"},
        {"process",
         {{"terminal", true},
          {"user", {{"uid", 0}, {"gid", 0}}},
          {"args", {"sh"}},
          {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
          {"cwd", "/"},
          {"noNewPrivileges", true}}},
        {"root", {{"path", "rootfs"}, {"readonly", true}}},
        {"hostname", "moat"},
        {"mounts",
         {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
          {{"destination", "/dev"},
           {"type", "tmpfs"},
           {"source", "tmpfs"},
           {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
          {{"destination", "/dev/pts"},
           {"type", "devpts"},
           {"source", "devpts"},
           {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}},
          {{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"}, {"options", {"nosuid", "noexec", "nodev", "ro"}}}}},
        {"linux",
         {{"namespaces", {{{"type", "pid"}}, {{"type", "network"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}}},
          {"maskedPaths", {"/proc/kcore", "/proc/keys", "/sys/firmware"}},
          {"readonlyPaths", {"/proc/bus", "/proc/sys", "/proc/sysrq-trigger"}}}}};
    return spec.dump(4) + "\n";
}

}  // namespace moat::cli
