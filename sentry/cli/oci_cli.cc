// The OCI verbs' command line, as runc spells it (flags engines pass that Moat has no use
// for are accepted and ignored: --no-pivot, --no-new-keyring, --preserve-fds…).

#include "sentry/cli/oci_commands.h"

#include <CLI/CLI.hpp>

namespace moat::cli {

namespace {

CLI::App* Verb(CLI::App& app, OciArgs& args, const std::string& name, const std::string& help) {
    CLI::App* cmd = app.add_subcommand(name, help);
    cmd->callback([&args, name] { args.verb = name; });
    return cmd;
}

void IdArg(CLI::App* cmd, OciArgs& args) { cmd->add_option("id", args.id, "The container's id")->required(); }

void IgnoredCreateFlags(CLI::App* cmd, OciArgs& args) {
    cmd->add_flag("--no-pivot,--no-new-keyring")->description("Accepted for runc compatibility");
    cmd->add_option("--preserve-fds,--notify-socket", args.rest, "Accepted for runc compatibility");
}

}  // namespace

void RegisterOciCommands(CLI::App& app, OciGlobal& global, OciArgs& args) {
    app.add_option("--root", global.root, "OCI runtime state directory")->capture_default_str();
    app.add_option("--log", global.log, "Also write errors to this file");
    app.add_option("--log-format", global.log_format, "text or json")->check(CLI::IsMember({"text", "json"}));
    app.add_flag("--debug", global.debug, "Debug logging");
    app.add_flag("--systemd-cgroup", global.systemd_cgroup, "Accepted for runc compatibility");

    for (const char* name : {"create", "run"}) {
        CLI::App* cmd = Verb(app, args, name, std::string(name) == "create" ? "Create a container from a bundle"
                                                                             : "Create and start a container");
        cmd->add_option("-b,--bundle", args.bundle, "The bundle directory (config.json and the root)");
        cmd->add_option("--pid-file", args.pid_file, "Write the container process's host pid here");
        cmd->add_option("--console-socket", args.console_socket, "Unix socket that receives the terminal's master");
        cmd->add_option("--platform", args.platform, "systrap (default) or ptrace")
            ->check(CLI::IsMember({"systrap", "ptrace"}));
        if (std::string(name) == "run")
            cmd->add_flag("-d,--detach", args.detach, "Do not wait for the container");
        IgnoredCreateFlags(cmd, args);
        IdArg(cmd, args);
    }
    IdArg(Verb(app, args, "start", "Start a created container"), args);
    IdArg(Verb(app, args, "state", "Print a container's state as JSON"), args);
    CLI::App* kill = Verb(app, args, "kill", "Send a signal to a container's process");
    kill->add_flag("-a,--all", args.all, "Signal every process of the container");
    IdArg(kill, args);
    kill->add_option("signal", args.signal, "Number or name (15, TERM, SIGTERM)");
    CLI::App* del = Verb(app, args, "delete", "Delete a container's state (and kill it with --force)");
    del->add_flag("-f,--force", args.force, "Kill a running container; an unknown id is no error");
    IdArg(del, args);
    CLI::App* ps = Verb(app, args, "ps", "List a container's host processes");
    ps->add_option("-f,--format", args.format, "table or json")->check(CLI::IsMember({"table", "json"}));
    IdArg(ps, args);
    ps->add_option("ps-args", args.rest, "Ignored");
    CLI::App* list = Verb(app, args, "list", "List containers");
    list->add_option("-f,--format", args.format, "table or json")->check(CLI::IsMember({"table", "json"}));
    list->add_flag("-q,--quiet", args.quiet, "Ids only");
    IdArg(Verb(app, args, "pause", "Stop every process of a container"), args);
    IdArg(Verb(app, args, "resume", "Continue a paused container"), args);
    CLI::App* events = Verb(app, args, "events", "Print a container's statistics");
    events->add_flag("--stats", args.stats, "Print once and exit");
    events->add_option("--interval", args.interval, "Between updates (5s)");
    IdArg(events, args);
    Verb(app, args, "features", "What this runtime supports, as JSON");
    CLI::App* exec = Verb(app, args, "exec", "Run another process in a running container");
    exec->add_option("-p,--process", args.process_file, "A JSON runtime-spec process object");
    exec->add_option("--pid-file", args.pid_file, "Write a host pid that lives as long as the process");
    exec->add_option("--console-socket", args.console_socket, "Unix socket that receives the terminal's master");
    exec->add_flag("-t,--tty", args.tty, "Give the process a new terminal");
    exec->add_flag("-d,--detach", args.detach, "Do not wait for the process");
    exec->add_option("--cwd", args.cwd, "Working directory");
    exec->add_option("-e,--env", args.env, "NAME=VALUE (repeatable)")->allow_extra_args(false);
    exec->add_option("-u,--user", args.user, "UID[:GID] (numeric) instead of the container's user");
    exec->add_option("-g,--additional-gids", args.additional_gids, "Another supplementary group (repeatable)")
        ->allow_extra_args(false);
    exec->add_option("-c,--cap", args.caps, "Add a capability, CAP_NAME (repeatable)")->allow_extra_args(false);
    exec->add_flag("--no-new-privs", args.no_new_privs, "Set no_new_privs for the process");
    exec->add_option("--preserve-fds,--apparmor,--process-label", args.rest, "Accepted for runc compatibility")
        ->allow_extra_args(false);
    IdArg(exec, args);
    exec->prefix_command();  // everything after the id is the command, flags included
    exec->callback([&args, exec] {
        args.verb = "exec";
        args.command = exec->remaining();
    });
    CLI::App* spec = Verb(app, args, "spec", "Write a default config.json");
    spec->add_option("-b,--bundle", args.bundle, "Where to write it");
    spec->add_flag("--rootless")->description("Accepted for runc compatibility");
}

}  // namespace moat::cli
