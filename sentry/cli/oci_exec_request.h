#pragma once
// `moat exec`'s request, both ends. The client (cmd_oci_exec.cc) makes the process as runc's
// exec does and sends it as a runtime-spec process object (OciProcessJson); the sentry
// (oci_control.cc) reads it back with ParseExecRequest, which takes nothing on trust, and
// starts it with InitProcessOf, as PID 1 was started.

#include "sentry/cli/oci_commands.h"
#include "sentry/cli/oci_process.h"

#include <optional>
#include <string>
#include <string_view>

namespace moat::cli {

// The largest request the sentry reads (one SOCK_SEQPACKET message).
inline constexpr size_t kMaxExecRequest = 256 * 1024;
// Arrays and objects within arrays and objects: a process object needs 3.
inline constexpr int kMaxExecRequestDepth = 8;

// runc's getProcess. With --process the file is the whole process (its env the whole
// environment: podman passes the container's there); otherwise the container's own process
// (config.json's, BASE) with the command line's args, --cwd, --env (appended; the last value
// of a name wins), --user UID[:GID], --additional-gids (appended), --cap (added to the
// bounding, effective and permitted sets, and to ambient when inheritable is given),
// --no-new-privs and --tty. nullopt with *error set when something is invalid.
std::optional<OciProcess> ExecProcessFromFile(const std::string& path, std::string* error);
std::optional<OciProcess> ExecProcessFromFlags(const OciArgs& args, OciProcess base, std::string* error);

// The sentry's reading of a request: at most kMaxExecRequest bytes of JSON nested at most
// kMaxExecRequestDepth deep, a process object (OciSource::kUntrusted) with a command. nullopt
// with *error set otherwise; never throws.
std::optional<OciProcess> ParseExecRequest(std::string_view request, std::string* error);

}  // namespace moat::cli
