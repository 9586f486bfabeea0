#include "sentry/cli/oci_exec_request.h"

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace moat::cli {

namespace {

using nlohmann::json;

// The deepest nesting of arrays and objects in TEXT stays within MAX: checked before parsing
// so that no parser or destructor recursion depends on what a client sent.
bool NestingWithin(std::string_view text, int max) {
    int depth = 0;
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return false;
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return true;
}

// A uid or gid of --user: decimal, below 2^32-1.
std::optional<uint32_t> ParseId(std::string_view s) {
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || n >= UINT32_MAX)
        return std::nullopt;
    return static_cast<uint32_t>(n);
}

// --cap NAME: CAP_CHOWN or CHOWN, any case.
std::optional<int> CapabilityFromFlag(std::string name) {
    for (char& c : name)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (name.rfind("CAP_", 0) != 0)
        name = "CAP_" + name;
    return CapabilityByName(name);
}

// Every check ParseOciProcess makes (env entries, ids, NUL bytes…), on what the flags made.
std::optional<OciProcess> Checked(const OciProcess& p, std::string* error) {
    try {
        return ParseOciProcess(OciProcessJson(p), OciSource::kBundle);
    } catch (const std::exception& e) {
        *error = fmt::format("exec: {}", e.what());
        return std::nullopt;
    }
}

}  // namespace

std::optional<OciProcess> ExecProcessFromFile(const std::string& path, std::string* error) {
    std::ifstream in(path);
    if (!in) {
        *error = fmt::format("--process {}: {}", path, strerror(errno));
        return std::nullopt;
    }
    try {
        OciProcess p = ParseOciProcess(json::parse(in), OciSource::kBundle);
        if (p.args.empty())
            throw std::runtime_error("process.args is empty");
        return p;
    } catch (const std::exception& e) {
        *error = fmt::format("--process {}: {}", path, e.what());
        return std::nullopt;
    }
}

std::optional<OciProcess> ExecProcessFromFlags(const OciArgs& args, OciProcess p, std::string* error) {
    p.args = args.command;
    if (p.args.empty()) {
        *error = "exec: no command given";
        return std::nullopt;
    }
    if (!args.cwd.empty())
        p.cwd = args.cwd;
    p.env.insert(p.env.end(), args.env.begin(), args.env.end());
    p.terminal = args.tty;
    if (args.no_new_privs)
        p.no_new_privileges = true;
    if (!args.user.empty()) {
        std::string_view user = args.user;
        size_t colon = user.find(':');
        auto uid = ParseId(user.substr(0, colon));
        auto gid = colon == std::string_view::npos ? std::optional<uint32_t>(p.gid) : ParseId(user.substr(colon + 1));
        if (!uid || !gid) {
            *error = fmt::format("exec --user {}: want UID[:GID], numbers below 4294967295", args.user);
            return std::nullopt;
        }
        p.uid = *uid;
        p.gid = *gid;
    }
    for (int64_t gid : args.additional_gids) {
        if (gid < 0 || gid >= int64_t{UINT32_MAX}) {
            *error = fmt::format("exec --additional-gids {}: out of range", gid);
            return std::nullopt;
        }
        p.additional_gids.push_back(static_cast<uint32_t>(gid));
    }
    for (const auto& name : args.caps) {
        auto cap = CapabilityFromFlag(name);
        if (!cap) {
            *error = fmt::format("exec --cap {}: unknown capability", name);
            return std::nullopt;
        }
        // No capabilities listed is every capability: one more changes nothing.
        if (!p.capabilities)
            continue;
        uint64_t bit = uint64_t{1} << *cap;
        p.capabilities->bounding |= bit;
        p.capabilities->effective |= bit;
        p.capabilities->permitted |= bit;
        // Ambient needs inheritable, which --cap does not add (runc's rule).
        if (p.capabilities->inheritable)
            p.capabilities->ambient |= bit;
    }
    return Checked(p, error);
}

std::optional<OciProcess> ParseExecRequest(std::string_view request, std::string* error) {
    if (request.size() > kMaxExecRequest) {
        *error = "bad exec request: too large";
        return std::nullopt;
    }
    if (!NestingWithin(request, kMaxExecRequestDepth)) {
        *error = "bad exec request: nested too deep";
        return std::nullopt;
    }
    try {
        json j = json::parse(request, nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded())
            throw std::runtime_error("not JSON");
        OciProcess p = ParseOciProcess(j, OciSource::kUntrusted);
        if (p.args.empty() || p.args[0].empty())
            throw std::runtime_error("no command");
        return p;
    } catch (const std::exception& e) {
        *error = fmt::format("bad exec request: {}", e.what());
        return std::nullopt;
    }
}

}  // namespace moat::cli
