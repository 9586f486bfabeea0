#pragma once
// What the OCI verbs share: the one error line (stderr and, with --log, the engine's log
// file, as JSON when --log-format=json: podman shows its `msg`), signal names, hooks.

#include "sentry/cli/oci_commands.h"
#include "sentry/cli/oci_spec.h"
#include "sentry/cli/oci_state.h"

#include <string>

namespace moat::cli {

// Reports `msg` and returns 1 (the status runc exits with on an error).
int OciFail(const OciGlobal& global, const std::string& msg);
// "9", "KILL", "SIGKILL", "sigkill" → 9; 0 when unknown.
int ParseSignal(const std::string& name);
// Runs the hooks of `kind`, each with the state JSON on its stdin; the first failure's message.
std::string RunHooks(const OciSpec& spec, const std::string& kind, const std::string& state_json);
// Sends a terminal's master to the engine's --console-socket (SCM_RIGHTS); 0 or an errno.
int SendTerminalMaster(const std::string& socket_path, int master);
// Sends `sig` to the container's process, or with `all` to every host process of it.
int SignalContainer(const ContainerState& st, int sig, bool all);

int OciPs(const OciGlobal& global, const OciArgs& args);
int OciExec(const OciGlobal& global, const OciArgs& args);  // cmd_oci_exec.cc
int OciList(const OciGlobal& global, const OciArgs& args);
int OciPauseResume(const OciGlobal& global, const OciArgs& args, bool pause);
int OciEvents(const OciGlobal& global, const OciArgs& args);
int OciFeatures();
int OciSpecCommand(const OciGlobal& global, const OciArgs& args);

}  // namespace moat::cli
