#include "sentry/cli/oci_process.h"

#include "sentry/cli/oci_json.h"

#include <fmt/format.h>

#include <array>
#include <set>
#include <string_view>

namespace moat::cli {

namespace {

using nlohmann::json;
using ocijson::Invalid;

// (uid_t)-1 tells setresuid(2) "leave unchanged": no process can have it.
constexpr uint64_t kMaxId = UINT32_MAX - 1;

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
static_assert(kCapabilityNames.size() == kernel::kLastCapability + 1);

constexpr const char* kCapabilitySets[] = {"bounding", "effective", "inheritable", "permitted", "ambient"};

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

uint64_t& CapabilitySet(OciCapabilities& c, std::string_view set) {
    if (set == "bounding")
        return c.bounding;
    if (set == "effective")
        return c.effective;
    if (set == "inheritable")
        return c.inheritable;
    if (set == "permitted")
        return c.permitted;
    return c.ambient;
}

// execve(2) would cut a string at its first NUL: the process would not get what was asked.
void NoNul(const std::string& s, const std::string& what) {
    if (s.find('\0') != std::string::npos)
        Invalid(fmt::format("{} contains a NUL byte", what));
}

std::vector<std::string> Strings(const json& p, const char* key, OciSource source) {
    std::string what = fmt::format("process.{}", key);
    auto list = ocijson::StringList(p, key, what, source == OciSource::kUntrusted ? kMaxExecStrings : SIZE_MAX);
    for (const auto& s : list)
        NoNul(s, what);
    return list;
}

// runc's prepareEnv refuses these when it starts the process; so does Moat, earlier.
void CheckEnv(const std::vector<std::string>& env) {
    for (const auto& e : env) {
        size_t eq = e.find('=');
        if (eq == std::string::npos)
            Invalid(fmt::format("process.env: '{}' is not NAME=VALUE", e.substr(0, 64)));
        if (eq == 0)
            Invalid("process.env: an entry has an empty name");
    }
}

void ParseUser(const json& user, OciProcess& out, OciSource source) {
    out.uid = static_cast<uint32_t>(ocijson::OptionalUint(user, "uid", "process.user.uid", kMaxId).value_or(0));
    out.gid = static_cast<uint32_t>(ocijson::OptionalUint(user, "gid", "process.user.gid", kMaxId).value_or(0));
    if (auto umask = ocijson::OptionalUint(user, "umask", "process.user.umask", UINT32_MAX))
        out.umask = static_cast<uint32_t>(*umask) & 0777;  // umask(2) keeps the permission bits
    if (!user.contains("additionalGids") || user["additionalGids"].is_null())
        return;
    const json& gids = user["additionalGids"];
    if (!gids.is_array())
        Invalid("process.user.additionalGids must be an array of integers");
    if (source == OciSource::kUntrusted && gids.size() > kMaxExecGroups)
        Invalid(fmt::format("process.user.additionalGids has more than {} entries", kMaxExecGroups));
    for (const auto& g : gids) {
        if (!g.is_number_unsigned() || g.get<uint64_t>() > kMaxId)
            Invalid("process.user.additionalGids must be an array of ids below 4294967295");
        out.additional_gids.push_back(g.get<uint32_t>());
    }
}

void ParseRlimits(const json& rlimits, OciProcess& out, OciSource source) {
    if (!rlimits.is_array())
        Invalid("process.rlimits must be an array");
    std::set<int> seen;
    for (const auto& r : rlimits) {
        if (!r.is_object() || !r.contains("type") || !r["type"].is_string())
            Invalid("process.rlimits[].type must be a string");
        std::string type = r["type"].get<std::string>();
        auto resource = RlimitByName(type);
        if (!resource)
            Invalid(fmt::format("process.rlimits: invalid rlimit type {}", type));
        if (!seen.insert(*resource).second && source == OciSource::kUntrusted)
            Invalid(fmt::format("process.rlimits: {} is given twice", type));
        OciRlimit lim;
        lim.resource = *resource;
        lim.hard = ocijson::OptionalUint(r, "hard", fmt::format("process.rlimits[{}].hard", type)).value_or(0);
        lim.soft = ocijson::OptionalUint(r, "soft", fmt::format("process.rlimits[{}].soft", type)).value_or(0);
        if (lim.soft > lim.hard)
            Invalid(fmt::format("process.rlimits: {} soft limit {} exceeds its hard limit {}", type, lim.soft, lim.hard));
        out.rlimits.push_back(lim);
    }
}

// runc warns about and skips names the kernel does not know (newer specs may list
// capabilities of newer kernels); an untrusted request must name known ones only.
OciCapabilities ParseCapabilities(const json& caps, OciSource source) {
    OciCapabilities c;
    for (const char* set : kCapabilitySets) {
        std::string what = fmt::format("process.capabilities.{}", set);
        for (const auto& name : ocijson::StringList(caps, set, what, source == OciSource::kUntrusted ? 64 : SIZE_MAX)) {
            if (auto cap = CapabilityByName(name))
                CapabilitySet(c, set) |= uint64_t{1} << *cap;
            else if (source == OciSource::kUntrusted)
                Invalid(fmt::format("{}: unknown capability {}", what, name.substr(0, 64)));
        }
    }
    return c;
}

void ParseConsoleSize(const json& size, OciProcess& out) {
    OciConsoleSize s;
    s.height = static_cast<unsigned>(ocijson::OptionalUint(size, "height", "process.consoleSize.height", 65535).value_or(0));
    s.width = static_cast<unsigned>(ocijson::OptionalUint(size, "width", "process.consoleSize.width", 65535).value_or(0));
    out.console_size = s;
}

json CapabilityNames(uint64_t mask) {
    json names = json::array();
    for (int cap = 0; cap <= kernel::kLastCapability; ++cap)
        if (mask & (uint64_t{1} << cap))
            names.push_back(CapabilityName(cap));
    return names;
}

// runc's order: the last occurrence of each name, in the order of those occurrences.
std::vector<std::string> WithoutDuplicates(const std::vector<std::string>& env) {
    std::vector<std::string> out;
    std::set<std::string_view> seen;
    for (auto it = env.rbegin(); it != env.rend(); ++it)
        if (seen.insert(std::string_view(*it).substr(0, it->find('='))).second)
            out.push_back(*it);
    return {out.rbegin(), out.rend()};
}

}  // namespace

std::optional<int> RlimitByName(const std::string& name) { return IndexOf(kRlimitNames, "RLIMIT_", name); }

std::optional<int> CapabilityByName(const std::string& name) { return IndexOf(kCapabilityNames, "CAP_", name); }

std::string RlimitName(int resource) {
    return resource >= 0 && static_cast<size_t>(resource) < kRlimitNames.size()
               ? fmt::format("RLIMIT_{}", kRlimitNames[resource])
               : "";
}

std::string CapabilityName(int cap) {
    return cap >= 0 && static_cast<size_t>(cap) < kCapabilityNames.size() ? fmt::format("CAP_{}", kCapabilityNames[cap])
                                                                          : "";
}

OciProcess ParseOciProcess(const json& p, OciSource source) {
    if (!p.is_object())
        Invalid("process must be an object");
    OciProcess out;
    out.args = Strings(p, "args", source);
    out.env = Strings(p, "env", source);
    CheckEnv(out.env);
    std::string cwd = ocijson::String(p, "cwd", "process.cwd");
    NoNul(cwd, "process.cwd");
    out.cwd = cwd.empty() ? std::string("/") : std::move(cwd);
    if (out.cwd[0] != '/')
        Invalid("process.cwd must be an absolute path");
    out.terminal = ocijson::Bool(p, "terminal", "process.terminal");
    if (const json* user = ocijson::Object(p, "user", "process.user"))
        ParseUser(*user, out, source);
    if (p.contains("rlimits") && !p["rlimits"].is_null())
        ParseRlimits(p["rlimits"], out, source);
    if (const json* caps = ocijson::Object(p, "capabilities", "process.capabilities"))
        out.capabilities = ParseCapabilities(*caps, source);
    out.no_new_privileges = ocijson::Bool(p, "noNewPrivileges", "process.noNewPrivileges");
    if (const json* size = ocijson::Object(p, "consoleSize", "process.consoleSize"))
        ParseConsoleSize(*size, out);
    return out;
}

json OciProcessJson(const OciProcess& p) {
    json user = {{"uid", p.uid}, {"gid", p.gid}};
    if (!p.additional_gids.empty())
        user["additionalGids"] = p.additional_gids;
    if (p.umask)
        user["umask"] = *p.umask;
    json j = {{"args", p.args}, {"env", p.env}, {"cwd", p.cwd}, {"terminal", p.terminal},
              {"user", user}, {"noNewPrivileges", p.no_new_privileges}};
    if (!p.rlimits.empty()) {
        json rlimits = json::array();
        for (const auto& r : p.rlimits)
            rlimits.push_back({{"type", RlimitName(r.resource)}, {"soft", r.soft}, {"hard", r.hard}});
        j["rlimits"] = rlimits;
    }
    if (p.capabilities) {
        OciCapabilities c = *p.capabilities;
        json caps = json::object();
        for (const char* set : kCapabilitySets)
            caps[set] = CapabilityNames(CapabilitySet(c, set));
        j["capabilities"] = caps;
    }
    if (p.console_size)
        j["consoleSize"] = {{"height", p.console_size->height}, {"width", p.console_size->width}};
    return j;
}

kernel::InitProcess InitProcessOf(const OciProcess& p) {
    kernel::InitProcess proc;
    proc.argv = p.args;
    proc.envp = WithoutDuplicates(p.env);
    proc.cwd = p.cwd;
    // The ids, the groups and the five sets as runc leaves them just before its execve (the
    // sentry's exec then transforms the sets as Linux's does).
    kernel::Credentials c;
    c.ruid = c.euid = c.suid = c.fsuid = p.uid;
    c.rgid = c.egid = c.sgid = c.fsgid = p.gid;
    c.groups.assign(p.additional_gids.begin(), p.additional_gids.end());
    if (p.capabilities) {
        c.caps.bounding = p.capabilities->bounding;
        c.caps.effective = p.capabilities->effective;
        c.caps.inheritable = p.capabilities->inheritable;
        c.caps.permitted = p.capabilities->permitted;
        // Linux keeps ambient within permitted and inheritable (PR_CAP_AMBIENT_RAISE).
        c.caps.ambient = p.capabilities->ambient & c.caps.permitted & c.caps.inheritable;
    } else if (p.uid != 0) {
        // runc's setuid without capabilities listed: Linux drops them on leaving uid 0.
        c.caps.permitted = c.caps.effective = 0;
    }
    c.no_new_privs = p.no_new_privileges;
    proc.credentials = c;
    proc.umask = p.umask;
    for (const auto& r : p.rlimits)
        proc.rlimits.push_back(kernel::ResourceLimit{r.resource, r.soft, r.hard});
    return proc;
}

}  // namespace moat::cli
