// `moat exec`: another process in a running container, through its control socket. The
// process's stdio are ours (or a new terminal's slave with --tty), passed to the sentry with
// SCM_RIGHTS. --detach with --pid-file (conmon's way): a child of ours waits for the process
// and exits with its status, and its host pid goes to the pid file.

#include "sentry/cli/commands.h"
#include "sentry/cli/oci_control.h"
#include "sentry/cli/oci_exec_request.h"
#include "sentry/cli/oci_spec.h"
#include "sentry/cli/oci_state.h"
#include "sentry/cli/oci_support.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

namespace moat::cli {

namespace {

// The process to start, as runc's exec makes it (oci_exec_request.h): --process's file, or
// the container's config.json process under the command line's flags.
std::optional<OciProcess> ExecProcess(const OciArgs& args, const ContainerState& st, std::string* error) {
    if (!args.process_file.empty()) {
        auto p = ExecProcessFromFile(args.process_file, error);
        if (p && args.tty)
            p->terminal = true;
        return p;
    }
    auto spec = LoadOciSpec(st.bundle, error);
    if (!spec)
        return std::nullopt;
    return ExecProcessFromFlags(args, spec->process, error);
}

}  // namespace

int OciExec(const OciGlobal& global, const OciArgs& args) {
    StateStore store(global.root);
    auto st = store.Load(args.id);
    if (!st)
        return OciFail(global, fmt::format("container {} does not exist", args.id));
    if (std::string status = LiveStatus(store, *st); status != "running")
        return OciFail(global, fmt::format("cannot exec in a container that is {}", status));
    std::string error;
    auto process = ExecProcess(args, *st, &error);
    if (!process)
        return OciFail(global, error);
    const bool tty = process->terminal;
    const std::string request = OciProcessJson(*process).dump();
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
        int status = ExecThroughControl(control, request, stdio, nullptr, &err);
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
