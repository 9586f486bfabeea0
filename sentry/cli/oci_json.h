#pragma once
// Typed reads of runtime-spec JSON fields, shared by config.json (oci_spec.cc) and the exec
// request (oci_exec_request.cc). Each throws std::runtime_error naming the field (WHAT) when it
// has the wrong type or is out of range; a missing or null field is "not given".

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moat::cli::ocijson {

[[noreturn]] void Invalid(const std::string& message);

// PARENT[KEY] as an unsigned integer of at most MAX.
std::optional<uint64_t> OptionalUint(const nlohmann::json& parent, const char* key, const std::string& what,
                                     uint64_t max = UINT64_MAX);
std::optional<int64_t> OptionalInt(const nlohmann::json& parent, const char* key, const std::string& what);
// false when not given.
bool Bool(const nlohmann::json& parent, const char* key, const std::string& what);
// nullptr when not given.
const nlohmann::json* Object(const nlohmann::json& parent, const char* key, const std::string& what);
// "" when not given.
std::string String(const nlohmann::json& parent, const char* key, const std::string& what);
// Empty when not given; at most MAX_ENTRIES entries.
std::vector<std::string> StringList(const nlohmann::json& parent, const char* key, const std::string& what,
                                    size_t max_entries = SIZE_MAX);

}  // namespace moat::cli::ocijson
