#pragma once
// The config.json fields that shape the container's view of the tree (linux.maskedPaths,
// readonlyPaths, resources.cpu), parsed for LoadOciSpec (oci_spec.cc); the process object's
// fields are oci_process.h's. Each throws std::runtime_error naming the field when it has the
// wrong type or an invalid value; LoadOciSpec turns that into its one error line.

#include "sentry/cli/oci_spec.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace moat::cli {

// linux.maskedPaths, linux.readonlyPaths and linux.resources.cpu.
void ParseLinuxRestrictions(const nlohmann::json& linux_section, OciSpec& spec);

// How many CPUs a cpuset list names ("0-1,3" is 3); nullopt when malformed.
std::optional<unsigned> CpusetCount(const std::string& list);

}  // namespace moat::cli
