// `moat exec`: another process in a running container, through its control socket. The
// process's stdio are ours (or a new terminal's slave with --tty), passed to the sentry with
// SCM_RIGHTS. --detach with --pid-file (conmon's way): a child of ours waits for the process
// and exits with its status, and its host pid goes to the pid file.

#include "sentry/cli/commands.h"
#include "sentry/cli/oci_control.h"
#include "sentry/cli/oci_support.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

namespace moat::cli {

namespace {

using nlohmann::json;

// The request: --process's object, else the command line; -e and --cwd on top.
bool BuildRequest(const OciArgs& args, json* req, bool* tty, std::string* error) {
    json process = json::object();
    if (!args.process_file.empty()) {
        std::ifstream in(args.process_file);
        try {
            process = json::parse(in);
        } catch (const std::exception& e) {
            *error = fmt::format("--process {}: {}", args.process_file, e.what());
            return false;
        }
    }
    std::vector<std::string> argv = args.command;
    argv.insert(argv.end(), args.rest.begin(), args.rest.end());
    if (argv.empty() && process.contains("args") && process["args"].is_array())
        argv = process["args"].get<std::vector<std::string>>();
    if (argv.empty()) {
        *error = "exec: no command given";
        return false;
    }
    std::vector<std::string> env;
    if (process.contains("env") && process["env"].is_array())
        env = process["env"].get<std::vector<std::string>>();
    else
        env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
    env.insert(env.end(), args.env.begin(), args.env.end());
    std::string cwd = args.cwd.empty() ? process.value("cwd", std::string("/")) : args.cwd;
    *tty = args.tty || process.value("terminal", false);
    *req = {{"args", argv}, {"env", env}, {"cwd", cwd}};
    return true;
}

}  // namespace

int OciExec(const OciGlobal& global, const OciArgs& args) {
    StateStore store(global.root);
    auto st = store.Load(args.id);
    if (!st)
        return OciFail(global, fmt::format("container {} does not exist", args.id));
    if (std::string status = LiveStatus(store, *st); status != "running")
        return OciFail(global, fmt::format("cannot exec in a container that is {}", status));
    json req;
    bool tty = false;
    std::string error;
    if (!BuildRequest(args, &req, &tty, &error))
        return OciFail(global, error);
    int stdio[3] = {0, 1, 2};
    int slave = -1;
    if (tty) {
        if (args.console_socket.empty())
            return OciFail(global, "exec --tty needs --console-socket");
        int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        const char* name = master >= 0 && ::grantpt(master) == 0 && ::unlockpt(master) == 0 ? ::ptsname(master) : nullptr;
        slave = name ? ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
        if (slave < 0)
            return OciFail(global, fmt::format("cannot make a terminal: {}", strerror(errno)));
        if (int err = SendTerminalMaster(args.console_socket, master))
            return OciFail(global, fmt::format("--console-socket {}: {}", args.console_socket, strerror(err)));
        ::close(master);
        stdio[0] = stdio[1] = stdio[2] = slave;
    }
    const std::string control = store.Dir(args.id) + "/control.sock";
    auto run = [&]() -> int {
        std::string err;
        int status = ExecThroughControl(control, req.dump(), stdio, nullptr, &err);
        if (status < 0)
            return OciFail(global, err);
        return ExitCodeOf(status);
    };
    if (!args.detach) {
        if (!args.pid_file.empty())
            std::ofstream(args.pid_file) << ::getpid();
        return run();
    }
    std::fflush(stdout);
    std::fflush(stderr);
    pid_t child = ::fork();
    if (child < 0)
        return OciFail(global, fmt::format("fork: {}", strerror(errno)));
    if (child == 0)
        ::_exit(run());
    if (!args.pid_file.empty()) {
        std::string tmp = args.pid_file + ".tmp";
        std::ofstream(tmp) << child;
        ::rename(tmp.c_str(), args.pid_file.c_str());
    }
    return 0;
}

}  // namespace moat::cli
