#pragma once
// The config.json fields that shape the container's process and its view of the tree
// (process.user, rlimits, capabilities, consoleSize; linux.maskedPaths, readonlyPaths,
// resources.cpu), parsed for LoadOciSpec (oci_spec.cc). Each throws std::runtime_error naming
// the field when it has the wrong type or an invalid value; LoadOciSpec turns that into its
// one error line.

#include "sentry/cli/oci_spec.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace moat::cli {

// process.user (uid, gid, additionalGids, umask), process.rlimits, process.capabilities,
// process.noNewPrivileges and process.consoleSize.
void ParseProcessIdentity(const nlohmann::json& process, OciSpec& spec);

// linux.maskedPaths, linux.readonlyPaths and linux.resources.cpu.
void ParseLinuxRestrictions(const nlohmann::json& linux_section, OciSpec& spec);

// The Linux number of RLIMIT_NAME, or nullopt.
std::optional<int> RlimitByName(const std::string& name);
// The number of CAP_NAME, or nullopt.
std::optional<int> CapabilityByName(const std::string& name);
// How many CPUs a cpuset list names ("0-1,3" is 3); nullopt when malformed.
std::optional<unsigned> CpusetCount(const std::string& list);

}  // namespace moat::cli
