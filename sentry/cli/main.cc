// The `moat` command line. Every error is one line on stderr and a non-zero exit.

#include "sentry/cli/commands.h"
#include "sentry/cli/oci_commands.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {
    CLI::App app{"Moat: a user-space kernel that runs untrusted Linux programs in a sandbox", "moat"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "moat 0.1.0");

    moat::cli::DoOptions do_opts;
    CLI::App* do_cmd = app.add_subcommand("do", "Run a command in a new sandbox: moat do [flags] -- CMD ARGS...");
    do_cmd->add_option("--platform", do_opts.platform, "Execution platform: systrap (default) or ptrace")
        ->check(CLI::IsMember({"ptrace", "systrap"}));
    do_cmd->add_flag("!--no-syscall-patch", do_opts.syscall_patch,
                     "systrap: never rewrite the application's syscall instructions (every call takes a signal)");
    do_cmd->add_flag("--strace", do_opts.strace, "Print every syscall the sandbox serves, strace-style, to stderr");
    do_cmd->add_option("--debug-log", do_opts.debug_log, "Write the sentry's debug log to FILE");
    do_cmd->add_option("--cwd", do_opts.cwd, "Working directory inside the sandbox");
    do_cmd->add_option("--pids-limit", do_opts.pids_limit, "Most tasks (threads) the sandbox may hold")
        ->check(CLI::Range(size_t{1}, size_t{1} << 22));
    do_cmd->add_option("--memory-limit", do_opts.memory_limit,
                       "Most memory the sandbox may use (anonymous, tmpfs, page cache), e.g. 512M; past it, the OOM kill")
        ->transform(CLI::AsSizeValue(false));
    do_cmd->add_option("--cpus", do_opts.cpus, "Run the sandbox on this many of the host's CPUs")
        ->check(CLI::Range(1u, 4096u));
    do_cmd->add_option("--open-files", do_opts.open_files, "RLIMIT_NOFILE of the sandbox's first process (soft and hard)")
        ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20));
    do_cmd->add_option("--root", do_opts.root, "Host directory to use as the sandbox's / (read-only, under an in-memory overlay)");
    do_cmd->add_option("--network", do_opts.network,
                       "none (default): loopback only; host: inet sockets are the host's, held by the sentry")
        ->check(CLI::IsMember({"none", "host"}));
    do_cmd->add_option("--hostname", do_opts.hostname, "The sandbox's hostname (default moat; at most 64 bytes)")
        ->check([](const std::string& v) { return v.size() <= 64 ? std::string() : std::string("longer than 64 bytes"); });
    std::vector<std::string> bind_args, ro_bind_args;
    CLI::Option* bind_opt = do_cmd->add_option("--bind", bind_args,
                                               "Mount host SRC (directory or file) writable at DST: SRC:DST");
    CLI::Option* ro_bind_opt = do_cmd->add_option("--ro-bind", ro_bind_args,
                                                  "Mount host SRC (directory or file) read-only at DST: SRC:DST");
    bind_opt->allow_extra_args(false);
    ro_bind_opt->allow_extra_args(false);
    do_cmd->add_flag("--no-host-filter", do_opts.no_host_filter,
                     "Debugging: run the sentry without its host seccomp allowlist (namespaces and the rest stay)");
    do_cmd->prefix_command();

    moat::cli::SyscallsOptions sys_opts;
    CLI::App* sys_cmd = app.add_subcommand("syscalls", "List the syscall table and each call's support level");
    sys_cmd->add_flag("--host", sys_opts.host, "List the host syscalls the sentry itself may make");
    sys_cmd->add_flag("-v,--verbose", sys_opts.verbose, "With --host: why each host syscall is allowed");
    sys_cmd->add_flag("--oci", sys_opts.oci, "With --host: the list of an OCI container (its control socket too)");
    sys_cmd->add_option("--network", sys_opts.network, "With --host: the list for this network mode (none or host)")
        ->check(CLI::IsMember({"none", "host"}));

    moat::cli::InstallOptions install_opts;
    CLI::App* install_cmd = app.add_subcommand("install", "Print (or --write) docker, podman and containerd configuration for Moat");
    install_cmd->add_flag("--write", install_opts.write, "Merge the snippets into the engines' files");
    install_cmd->add_option("--name", install_opts.name, "The runtime's name in the engines")->capture_default_str();
    install_cmd->add_option("--docker-config", install_opts.docker_config)->capture_default_str();
    install_cmd->add_option("--podman-config", install_opts.podman_config)->capture_default_str();
    install_cmd->add_option("--containerd-config", install_opts.containerd_config)->capture_default_str();

    // The OCI runtime: runc's verbs and global flags (cmd_oci.cc).
    moat::cli::OciGlobal oci_global;
    moat::cli::OciArgs oci_args;
    moat::cli::RegisterOciCommands(app, oci_global, oci_args);

    // Everything after the first `--` is the command to run, never flags of ours.
    std::vector<std::string> after_dashes;
    int parse_argc = argc;
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--") {
            after_dashes.assign(argv + i + 1, argv + argc);
            parse_argc = i;
            break;
        }
    }
    try {
        app.parse(parse_argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        fmt::print(stderr, "moat: {} (see 'moat --help')\n", e.what());
        return 2;
    }

    if (do_cmd->parsed()) {
        // Binds apply in command-line order, whichever flag each one used.
        size_t next_bind = 0, next_ro_bind = 0;
        for (CLI::Option* opt : do_cmd->parse_order()) {
            if (opt == bind_opt && next_bind < bind_args.size())
                do_opts.binds.push_back({bind_args[next_bind++], false});
            else if (opt == ro_bind_opt && next_ro_bind < ro_bind_args.size())
                do_opts.binds.push_back({ro_bind_args[next_ro_bind++], true});
        }
        do_opts.command = do_cmd->remaining();
        do_opts.command.insert(do_opts.command.end(), after_dashes.begin(), after_dashes.end());
        return moat::cli::RunDo(do_opts);
    }
    if (sys_cmd->parsed())
        return moat::cli::RunSyscalls(sys_opts);
    if (install_cmd->parsed())
        return moat::cli::RunInstall(install_opts);
    if (!oci_args.verb.empty()) {
        if (oci_args.verb == "exec")
            oci_args.command.insert(oci_args.command.end(), after_dashes.begin(), after_dashes.end());
        return moat::cli::RunOci(oci_global, oci_args);
    }
    return 2;
}
