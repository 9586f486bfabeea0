#include "sentry/cli/oci_json.h"

#include <fmt/format.h>

#include <stdexcept>

namespace moat::cli::ocijson {

using nlohmann::json;

namespace {

bool Given(const json& parent, const char* key) { return parent.contains(key) && !parent[key].is_null(); }

}  // namespace

void Invalid(const std::string& message) { throw std::runtime_error(message); }

std::optional<uint64_t> OptionalUint(const json& parent, const char* key, const std::string& what, uint64_t max) {
    if (!Given(parent, key))
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
    if (!Given(parent, key))
        return std::nullopt;
    // An unsigned value past INT64_MAX would wrap.
    if (!parent[key].is_number_integer() || (parent[key].is_number_unsigned() && parent[key].get<uint64_t>() > INT64_MAX))
        Invalid(fmt::format("{} must be an integer", what));
    return parent[key].get<int64_t>();
}

bool Bool(const json& parent, const char* key, const std::string& what) {
    if (!Given(parent, key))
        return false;
    if (!parent[key].is_boolean())
        Invalid(fmt::format("{} must be a boolean", what));
    return parent[key].get<bool>();
}

const json* Object(const json& parent, const char* key, const std::string& what) {
    if (!Given(parent, key))
        return nullptr;
    if (!parent[key].is_object())
        Invalid(fmt::format("{} must be an object", what));
    return &parent[key];
}

std::string String(const json& parent, const char* key, const std::string& what) {
    if (!Given(parent, key))
        return "";
    if (!parent[key].is_string())
        Invalid(fmt::format("{} must be a string", what));
    return parent[key].get<std::string>();
}

std::vector<std::string> StringList(const json& parent, const char* key, const std::string& what, size_t max_entries) {
    std::vector<std::string> out;
    if (!Given(parent, key))
        return out;
    const json& list = parent[key];
    if (!list.is_array())
        Invalid(fmt::format("{} must be an array of strings", what));
    if (list.size() > max_entries)
        Invalid(fmt::format("{} has more than {} entries", what, max_entries));
    out.reserve(list.size());
    for (const auto& e : list) {
        if (!e.is_string())
            Invalid(fmt::format("{} must be an array of strings", what));
        out.push_back(e.get<std::string>());
    }
    return out;
}

}  // namespace moat::cli::ocijson
