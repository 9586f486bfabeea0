// The OCI container lifecycle: create forks the container's process (the sentry to be),
// which waits on the exec FIFO until start; state, kill and delete find it through the state
// store. The process is a host process that lives exactly as long as the container, so the
// pid in --pid-file is what conmon and containerd's shim wait for.

#include "sentry/cli/commands.h"
#include "sentry/cli/oci_commands.h"
#include "sentry/cli/oci_support.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

namespace moat::cli {

namespace {

// A new terminal: the master goes to the engine, the slave becomes our stdio and controlling
// tty (the sandbox's console). process.consoleSize is its first window size, as runc sets it
// before handing the master over.
std::string SetUpTerminal(const std::string& console_socket, const std::optional<OciConsoleSize>& size) {
    int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0)
        return fmt::format("cannot make a terminal: {}", strerror(errno));
    if (size) {
        struct winsize ws = {};
        ws.ws_row = static_cast<unsigned short>(size->height);
        ws.ws_col = static_cast<unsigned short>(size->width);
        if (::ioctl(master, TIOCSWINSZ, &ws) != 0)
            return fmt::format("process.consoleSize: {}", strerror(errno));
    }
    const char* slave_name = ::ptsname(master);
    int slave = slave_name ? ::open(slave_name, O_RDWR | O_NOCTTY) : -1;
    if (slave < 0)
        return fmt::format("cannot open the terminal: {}", strerror(errno));
    if (int err = SendTerminalMaster(console_socket, master))
        return fmt::format("--console-socket {}: {}", console_socket, strerror(err));
    ::close(master);
    ::setsid();
    ::ioctl(slave, TIOCSCTTY, 0);
    for (int fd = 0; fd <= 2; ++fd)
        ::dup2(slave, fd);
    if (slave > 2)
        ::close(slave);
    return "";
}

// The network namespace config.json asks for, entered at create so that the engine's hooks
// (createRuntime: docker's libnetwork-setkey, CNI plugins) find it at /proc/PID/ns/net.
// Returns an error message, or "".
// A new namespace made here is "engine" to `moat do`: the engine may configure it before
// start (docker's libnetwork hook adds eth0), and RunDo looks then.
std::string EnterNetworkNamespace(const OciSpec& spec, DoOptions& opts) {
    switch (spec.network_namespace) {
    case OciSpec::NetworkNamespace::kShared: return "";
    case OciSpec::NetworkNamespace::kNew:
        // Unprivileged (no user namespace yet): `moat do`'s confinement makes one later,
        // and the sandbox has its own stack.
        if (::unshare(CLONE_NEWNET) == 0)
            opts.network = "engine";
        else if (errno != EPERM)
            return fmt::format("cannot make a network namespace: {}", strerror(errno));
        return "";
    case OciSpec::NetworkNamespace::kJoin: {
        int fd = ::open(spec.network_namespace_path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return fmt::format("network namespace {}: {}", spec.network_namespace_path, strerror(errno));
        int rc = ::setns(fd, CLONE_NEWNET);
        int err = errno;
        ::close(fd);
        if (rc != 0)
            return fmt::format("cannot join the network namespace {}: {}", spec.network_namespace_path, strerror(err));
        return "";
    }
    }
    return "";
}

// The container's process: waits for start, then runs the sandbox; never returns.
[[noreturn]] void ContainerProcess(const StateStore& store, const OciArgs& args, const OciSpec& spec,
                                   DoOptions opts, int ready_fd) {
    if (std::string err = EnterNetworkNamespace(spec, opts); !err.empty()) {
        (void)!::write(ready_fd, err.data(), err.size());
        ::_exit(125);
    }
    if (spec.process.terminal && !args.console_socket.empty()) {
        std::string err = SetUpTerminal(args.console_socket, spec.process.console_size);
        if (!err.empty()) {
            (void)!::write(ready_fd, err.data(), err.size());
            ::_exit(125);
        }
    }
    ::close(ready_fd);  // create may return: everything that can fail before start is done
    int fifo = ::open(store.FifoPath(args.id).c_str(), O_WRONLY | O_CLOEXEC);  // blocks until start
    if (fifo < 0)
        ::_exit(125);
    (void)!::write(fifo, "0", 1);
    ::close(fifo);
    ::_exit(RunDo(opts));
}

int WritePidFile(const std::string& path, pid_t pid) {
    if (path.empty())
        return 0;
    std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << pid;
        if (!out)
            return EIO;
    }
    return ::rename(tmp.c_str(), path.c_str()) == 0 ? 0 : errno;
}

int Create(const OciGlobal& global, const OciArgs& args, pid_t* child_out) {
    if (!ValidId(args.id))
        return OciFail(global, fmt::format("invalid container id '{}'", args.id));
    char bundle_buf[PATH_MAX];
    if (!::realpath(args.bundle.c_str(), bundle_buf))
        return OciFail(global, fmt::format("bundle {}: {}", args.bundle, strerror(errno)));
    std::string bundle = bundle_buf;
    std::string error;
    auto spec = LoadOciSpec(bundle, &error);
    if (!spec)
        return OciFail(global, error);
    auto opts = ToDoOptions(*spec, &error);
    if (!opts)
        return OciFail(global, error);
    opts->platform = args.platform;
    opts->control_socket = StateStore(global.root).Dir(args.id) + "/control.sock";
    if (spec->process.terminal && args.console_socket.empty() && !::isatty(0))
        return OciFail(global, "config.json asks for a terminal but no --console-socket was given");
    StateStore store(global.root);
    if (int err = store.Create(args.id))
        return OciFail(global, err == EEXIST ? fmt::format("container with id {} already exists", args.id)
                                             : fmt::format("state directory {}: {}", store.Dir(args.id), strerror(err)));
    ContainerState st;
    st.id = args.id;
    st.bundle = bundle;
    st.rootfs = spec->root_path;
    st.created = NowRfc3339();
    st.annotations = spec->annotations;
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) {
        store.Remove(args.id);
        return OciFail(global, fmt::format("pipe: {}", strerror(errno)));
    }
    std::fflush(stdout);
    std::fflush(stderr);
    pid_t child = ::fork();
    if (child < 0) {
        store.Remove(args.id);
        return OciFail(global, fmt::format("fork: {}", strerror(errno)));
    }
    if (child == 0) {
        ::close(ready[0]);
        ContainerProcess(store, args, *spec, *opts, ready[1]);
    }
    ::close(ready[1]);
    char msg[512];
    ssize_t n = ::read(ready[0], msg, sizeof(msg));
    ::close(ready[0]);
    if (n > 0) {
        ::waitpid(child, nullptr, 0);
        store.Remove(args.id);
        return OciFail(global, std::string(msg, static_cast<size_t>(n)));
    }
    st.pid = child;
    st.start_time = ProcessStartTime(child);
    if (int err = store.Save(st)) {
        ::kill(child, SIGKILL);
        store.Remove(args.id);
        return OciFail(global, fmt::format("cannot save the state: {}", strerror(err)));
    }
    if (int err = WritePidFile(args.pid_file, child)) {
        ::kill(child, SIGKILL);
        store.Remove(args.id);
        return OciFail(global, fmt::format("--pid-file {}: {}", args.pid_file, strerror(err)));
    }
    std::string state_json = StateJson(store, st);
    for (const char* kind : {"prestart", "createRuntime", "createContainer"}) {
        if (std::string err = RunHooks(*spec, kind, state_json); !err.empty()) {
            ::kill(child, SIGKILL);
            store.Remove(args.id);
            return OciFail(global, err);
        }
    }
    if (child_out)
        *child_out = child;
    return 0;
}

int Start(const OciGlobal& global, const OciArgs& args) {
    StateStore store(global.root);
    auto st = store.Load(args.id);
    if (!st)
        return OciFail(global, fmt::format("container {} does not exist", args.id));
    std::string status = LiveStatus(store, *st);
    if (status != "created")
        return OciFail(global, fmt::format("cannot start a container in the {} state", status));
    int fifo = ::open(store.FifoPath(args.id).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fifo < 0)
        return OciFail(global, fmt::format("cannot start {}: {}", args.id, strerror(errno)));
    bool started = false;
    for (int i = 0; i < 600 && !started; ++i) {
        pollfd p{fifo, POLLIN, 0};
        if (::poll(&p, 1, 50) > 0 && (p.revents & POLLIN)) {
            char c;
            started = ::read(fifo, &c, 1) == 1;
        }
        if (!started && !ProcessAlive(st->pid, st->start_time))
            break;
    }
    ::close(fifo);
    ::unlink(store.FifoPath(args.id).c_str());
    if (!started)
        return OciFail(global, fmt::format("container {} did not start (its process is gone)", args.id));
    std::string error;
    if (auto spec = LoadOciSpec(st->bundle, &error))
        if (std::string err = RunHooks(*spec, "poststart", StateJson(store, *st)); !err.empty())
            fmt::print(stderr, "moat: {}\n", err);  // poststart failures are warnings (runtime-spec)
    return 0;
}

int State(const OciGlobal& global, const OciArgs& args) {
    StateStore store(global.root);
    auto st = store.Load(args.id);
    if (!st)
        return OciFail(global, fmt::format("container {} does not exist", args.id));
    fmt::print("{}", StateJson(store, *st));
    return 0;
}

int Kill(const OciGlobal& global, const OciArgs& args) {
    StateStore store(global.root);
    auto st = store.Load(args.id);
    if (!st)
        return OciFail(global, fmt::format("container {} does not exist", args.id));
    int sig = ParseSignal(args.signal);
    if (sig == 0)
        return OciFail(global, fmt::format("invalid signal '{}'", args.signal));
    if (LiveStatus(store, *st) == "stopped")
        return OciFail(global, "container not running");
    if (int err = SignalContainer(*st, sig, args.all))
        return OciFail(global, fmt::format("kill {}: {}", args.id, strerror(err)));
    return 0;
}

int Delete(const OciGlobal& global, const OciArgs& args) {
    StateStore store(global.root);
    auto st = store.Load(args.id);
    if (!st) {
        if (args.force) {
            store.Remove(args.id);  // a half-made directory, if any
            return 0;
        }
        return OciFail(global, fmt::format("container {} does not exist", args.id));
    }
    std::string status = LiveStatus(store, *st);
    if (status != "stopped") {
        if (!args.force && status != "created")
            return OciFail(global, fmt::format("cannot delete container {} that is not stopped: {}", args.id, status));
        SignalContainer(*st, SIGKILL, true);
        for (int i = 0; i < 200 && ProcessAlive(st->pid, st->start_time); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::string state_json = StateJson(store, *st);
    store.Remove(args.id);
    std::string error;
    if (auto spec = LoadOciSpec(st->bundle, &error))
        if (std::string err = RunHooks(*spec, "poststop", state_json); !err.empty())
            fmt::print(stderr, "moat: {}\n", err);
    return 0;
}

int Run(const OciGlobal& global, const OciArgs& args) {
    pid_t child = 0;
    if (int rc = Create(global, args, &child))
        return rc;
    if (int rc = Start(global, args)) {
        OciArgs del = args;
        del.force = true;
        Delete(global, del);
        return rc;
    }
    if (args.detach)
        return 0;
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    OciArgs del = args;
    del.force = true;
    Delete(global, del);
    return ExitCodeOf(status);
}

}  // namespace

int RunOci(const OciGlobal& global, const OciArgs& args) {
    const std::string& v = args.verb;
    if (v == "create")
        return Create(global, args, nullptr);
    if (v == "start")
        return Start(global, args);
    if (v == "run")
        return Run(global, args);
    if (v == "state")
        return State(global, args);
    if (v == "kill")
        return Kill(global, args);
    if (v == "delete")
        return Delete(global, args);
    if (v == "ps")
        return OciPs(global, args);
    if (v == "exec")
        return OciExec(global, args);
    if (v == "list")
        return OciList(global, args);
    if (v == "pause" || v == "resume")
        return OciPauseResume(global, args, v == "pause");
    if (v == "events")
        return OciEvents(global, args);
    if (v == "features")
        return OciFeatures();
    if (v == "spec")
        return OciSpecCommand(global, args);
    return OciFail(global, fmt::format("unknown command '{}'", v));
}

}  // namespace moat::cli
