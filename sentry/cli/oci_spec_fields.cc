#include "sentry/cli/oci_spec_fields.h"

#include "sentry/cli/oci_json.h"

#include <fmt/format.h>

#include <cstdlib>

namespace moat::cli {

using nlohmann::json;
using ocijson::Invalid;
using ocijson::Object;
using ocijson::OptionalInt;
using ocijson::OptionalUint;
using ocijson::StringList;

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
