#pragma once
// `moat` as an OCI runtime with runc's command line: the verbs engines call (create, start,
// state, kill, delete, run, ps, list, pause, resume, events, features, spec) and the global
// flags they pass (--root, --log, --log-format, --systemd-cgroup, --debug). cmd_oci.cc.

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace moat::cli {

struct OciGlobal {
    std::string root = "/run/moat";
    std::string log;
    std::string log_format = "text";
    bool debug = false;
    bool systemd_cgroup = false;
};

struct OciArgs {
    std::string verb;
    std::string id;
    std::string bundle = ".";
    std::string pid_file;
    std::string console_socket;
    std::string signal = "SIGTERM";
    std::string format = "table";
    std::string interval = "5s";
    bool force = false;
    bool all = false;
    bool quiet = false;
    bool detach = false;
    bool stats = false;
    std::string platform = "systrap";
    std::vector<std::string> rest;  // ps options, ignored flags
    // exec
    std::string process_file;          // --process: a runtime-spec `process` object
    std::vector<std::string> command;  // or the command after the id
    std::vector<std::string> env;      // -e NAME=VALUE
    std::string cwd;
    std::string user;                     // --user UID[:GID]
    std::vector<int64_t> additional_gids;  // --additional-gids (repeatable)
    std::vector<std::string> caps;         // --cap CAP_NAME (repeatable)
    bool no_new_privs = false;
    bool tty = false;
};

// Adds the OCI verbs to `app`; the chosen one's name lands in args.verb.
void RegisterOciCommands(CLI::App& app, OciGlobal& global, OciArgs& args);
// Runs args.verb; the process's exit status.
int RunOci(const OciGlobal& global, const OciArgs& args);

}  // namespace moat::cli
