#include "sentry/cli/oci_spec_fields.h"

#include <fmt/format.h>

#include <array>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

namespace moat::cli {

namespace {

using nlohmann::json;

[[noreturn]] void Invalid(const std::string& message) { throw std::runtime_error(message); }

// Field KEY of PARENT as an unsigned integer of at most MAX; nullopt when absent or null.
std::optional<uint64_t> OptionalUint(const json& parent, const char* key, const std::string& what,
                                     uint64_t max = UINT64_MAX) {
    if (!parent.contains(key) || parent[key].is_null())
        return std::nullopt;
    const json& v = parent[key];
    if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<int64_t>() < 0))
        Invalid(fmt::format("{} must be a non-negative integer", what));
    uint64_t n = v.get<uint64_t>();
    if (n > max)
        Invalid(fmt::format("{} is out of range", what));
    return n;
}

std::optional<int64_t> OptionalInt(const json& parent, const char* key, const std::string& what) {
    if (!parent.contains(key) || parent[key].is_null())
        return std::nullopt;
    if (!parent[key].is_number_integer())
        Invalid(fmt::format("{} must be an integer", what));
    return parent[key].get<int64_t>();
}

bool Bool(const json& parent, const char* key, const std::string& what) {
    if (!parent.contains(key) || parent[key].is_null())
        return false;
    if (!parent[key].is_boolean())
        Invalid(fmt::format("{} must be a boolean", what));
    return parent[key].get<bool>();
}

const json* Object(const json& parent, const char* key, const std::string& what) {
    if (!parent.contains(key) || parent[key].is_null())
        return nullptr;
    if (!parent[key].is_object())
        Invalid(fmt::format("{} must be an object", what));
    return &parent[key];
}

std::vector<std::string> StringList(const json& parent, const char* key, const std::string& what) {
    std::vector<std::string> out;
    if (!parent.contains(key) || parent[key].is_null())
        return out;
    if (!parent[key].is_array())
        Invalid(fmt::format("{} must be an array of strings", what));
    for (const auto& e : parent[key]) {
        if (!e.is_string())
            Invalid(fmt::format("{} must be an array of strings", what));
        out.push_back(e.get<std::string>());
    }
    return out;
}

constexpr std::array<std::string_view, 16> kRlimitNames = {
    "CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE",
    "MEMLOCK", "AS", "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME"};

constexpr std::array<std::string_view, 41> kCapabilityNames = {
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"};

template <size_t N>
std::optional<int> IndexOf(const std::array<std::string_view, N>& names, std::string_view prefix,
                           const std::string& name) {
    if (name.compare(0, prefix.size(), prefix) != 0)
        return std::nullopt;
    std::string_view bare = std::string_view(name).substr(prefix.size());
    for (size_t i = 0; i < N; ++i)
        if (names[i] == bare)
            return static_cast<int>(i);
    return std::nullopt;
}

// One capability list. runc warns about and skips names the kernel does not know (newer
// specs may list capabilities of newer kernels); a non-string is an error.
uint64_t CapabilityMask(const json& caps, const char* key) {
    uint64_t mask = 0;
    for (const auto& name : StringList(caps, key, fmt::format("process.capabilities.{}", key)))
        if (auto cap = CapabilityByName(name))
            mask |= uint64_t{1} << *cap;
    return mask;
}

void ParseUser(const json& user, OciSpec& spec) {
    if (!user.is_object())
        Invalid("process.user must be an object");
    spec.uid = static_cast<uint32_t>(OptionalUint(user, "uid", "process.user.uid", UINT32_MAX).value_or(0));
    spec.gid = static_cast<uint32_t>(OptionalUint(user, "gid", "process.user.gid", UINT32_MAX).value_or(0));
    if (auto umask = OptionalUint(user, "umask", "process.user.umask", UINT32_MAX))
        spec.umask = static_cast<uint32_t>(*umask) & 0777;  // umask(2) keeps the permission bits
    if (user.contains("additionalGids") && !user["additionalGids"].is_null()) {
        const json& gids = user["additionalGids"];
        if (!gids.is_array())
            Invalid("process.user.additionalGids must be an array of integers");
        for (const auto& g : gids) {
            if (!g.is_number_unsigned() || g.get<uint64_t>() > UINT32_MAX)
                Invalid("process.user.additionalGids must be an array of non-negative integers");
            spec.additional_gids.push_back(g.get<uint32_t>());
        }
    }
}

void ParseRlimits(const json& rlimits, OciSpec& spec) {
    if (!rlimits.is_array())
        Invalid("process.rlimits must be an array");
    for (const auto& r : rlimits) {
        if (!r.is_object() || !r.contains("type") || !r["type"].is_string())
            Invalid("process.rlimits[].type must be a string");
        std::string type = r["type"].get<std::string>();
        auto resource = RlimitByName(type);
        if (!resource)
            Invalid(fmt::format("process.rlimits: invalid rlimit type {}", type));
        OciRlimit lim;
        lim.resource = *resource;
        lim.hard = OptionalUint(r, "hard", fmt::format("process.rlimits[{}].hard", type)).value_or(0);
        lim.soft = OptionalUint(r, "soft", fmt::format("process.rlimits[{}].soft", type)).value_or(0);
        if (lim.soft > lim.hard)
            Invalid(fmt::format("process.rlimits: {} soft limit {} exceeds its hard limit {}", type, lim.soft, lim.hard));
        spec.rlimits.push_back(lim);
    }
}

void ParseConsoleSize(const json& size, OciSpec& spec) {
    if (!size.is_object())
        Invalid("process.consoleSize must be an object");
    OciConsoleSize s;
    s.height = static_cast<unsigned>(OptionalUint(size, "height", "process.consoleSize.height", 65535).value_or(0));
    s.width = static_cast<unsigned>(OptionalUint(size, "width", "process.consoleSize.width", 65535).value_or(0));
    spec.console_size = s;
}

}  // namespace

std::optional<int> RlimitByName(const std::string& name) { return IndexOf(kRlimitNames, "RLIMIT_", name); }

std::optional<int> CapabilityByName(const std::string& name) { return IndexOf(kCapabilityNames, "CAP_", name); }

std::optional<unsigned> CpusetCount(const std::string& list) {
    if (list.empty())
        return std::nullopt;
    unsigned count = 0;
    size_t pos = 0;
    while (pos <= list.size()) {
        size_t comma = list.find(',', pos);
        std::string item = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        char* end = nullptr;
        unsigned long first = std::strtoul(item.c_str(), &end, 10);
        if (end == item.c_str())
            return std::nullopt;
        unsigned long last = first;
        if (*end == '-') {
            const char* second = end + 1;
            last = std::strtoul(second, &end, 10);
            if (end == second || last < first)
                return std::nullopt;
        }
        if (*end != '\0' || last - first > 4096)
            return std::nullopt;
        count += static_cast<unsigned>(last - first + 1);
        if (comma == std::string::npos)
            break;
        pos = comma + 1;
    }
    return count;
}

void ParseProcessIdentity(const json& p, OciSpec& spec) {
    if (const json* user = Object(p, "user", "process.user"))
        ParseUser(*user, spec);
    if (p.contains("rlimits") && !p["rlimits"].is_null())
        ParseRlimits(p["rlimits"], spec);
    if (const json* caps = Object(p, "capabilities", "process.capabilities")) {
        OciCapabilities c;
        c.bounding = CapabilityMask(*caps, "bounding");
        c.effective = CapabilityMask(*caps, "effective");
        c.inheritable = CapabilityMask(*caps, "inheritable");
        c.permitted = CapabilityMask(*caps, "permitted");
        c.ambient = CapabilityMask(*caps, "ambient");
        spec.capabilities = c;
    }
    spec.no_new_privileges = Bool(p, "noNewPrivileges", "process.noNewPrivileges");
    if (const json* size = Object(p, "consoleSize", "process.consoleSize"))
        ParseConsoleSize(*size, spec);
}

void ParseLinuxRestrictions(const json& l, OciSpec& spec) {
    spec.masked_paths = StringList(l, "maskedPaths", "linux.maskedPaths");
    spec.readonly_paths = StringList(l, "readonlyPaths", "linux.readonlyPaths");
    for (const auto* paths : {&spec.masked_paths, &spec.readonly_paths})
        for (const auto& path : *paths)
            if (path.empty() || path[0] != '/')
                Invalid(fmt::format("linux.{}: '{}' must be an absolute path",
                                    paths == &spec.masked_paths ? "maskedPaths" : "readonlyPaths", path));
    const json* resources = Object(l, "resources", "linux.resources");
    const json* cpu = resources ? Object(*resources, "cpu", "linux.resources.cpu") : nullptr;
    if (!cpu)
        return;
    spec.cpu_quota = OptionalInt(*cpu, "quota", "linux.resources.cpu.quota");
    spec.cpu_period = OptionalUint(*cpu, "period", "linux.resources.cpu.period");
    if (cpu->contains("cpus") && !(*cpu)["cpus"].is_null()) {
        if (!(*cpu)["cpus"].is_string())
            Invalid("linux.resources.cpu.cpus must be a string");
        spec.cpuset_cpus = (*cpu)["cpus"].get<std::string>();
        if (!spec.cpuset_cpus.empty() && !CpusetCount(spec.cpuset_cpus))
            Invalid(fmt::format("linux.resources.cpu.cpus: invalid CPU list '{}'", spec.cpuset_cpus));
    }
}

}  // namespace moat::cli
