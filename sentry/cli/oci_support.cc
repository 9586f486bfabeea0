#include "sentry/cli/oci_support.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <thread>

namespace moat::cli {

using nlohmann::json;

int OciFail(const OciGlobal& global, const std::string& msg) {
    fmt::print(stderr, "moat: {}\n", msg);
    if (!global.log.empty()) {
        std::ofstream out(global.log, std::ios::app);
        if (global.log_format == "json")
            out << json{{"level", "error"}, {"msg", msg}, {"time", NowRfc3339()}}.dump() << "\n";
        else
            out << fmt::format("time=\"{}\" level=error msg=\"{}\"\n", NowRfc3339(), msg);
    }
    return 1;
}

int ParseSignal(const std::string& name) {
    if (name.empty())
        return 0;
    if (std::isdigit(static_cast<unsigned char>(name[0]))) {
        char* end = nullptr;
        long n = std::strtol(name.c_str(), &end, 10);
        return (*end == 0 && n > 0 && n < NSIG) ? static_cast<int>(n) : 0;
    }
    std::string upper;
    for (char c : name)
        upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper.rfind("SIG", 0) == 0)
        upper = upper.substr(3);
    for (int sig = 1; sig < NSIG; ++sig) {
        const char* abbrev = sigabbrev_np(sig);
        if (abbrev && upper == abbrev)
            return sig;
    }
    return 0;
}

namespace {

// Runs one hook: path argv (args[0] is argv[0]) env, the state on stdin; its exit status.
std::string RunHook(const OciHook& hook, const std::string& state_json) {
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0)
        return fmt::format("hook {}: pipe: {}", hook.path, strerror(errno));
    pid_t pid = ::fork();
    if (pid < 0)
        return fmt::format("hook {}: fork: {}", hook.path, strerror(errno));
    if (pid == 0) {
        ::dup2(in[0], 0);
        std::vector<std::string> args = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
        std::vector<char*> argv, envp;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        std::vector<std::string> env = hook.env;
        for (auto& e : env)
            envp.push_back(e.data());
        envp.push_back(nullptr);
        ::execve(hook.path.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(in[0]);
    (void)!::write(in[1], state_json.data(), state_json.size());
    ::close(in[1]);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(hook.timeout > 0 ? hook.timeout : 3600);
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return fmt::format("hook {} timed out after {} s", hook.path, hook.timeout);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fmt::format("hook {} failed (status {})", hook.path, status);
    return "";
}

}  // namespace

std::string RunHooks(const OciSpec& spec, const std::string& kind, const std::string& state_json) {
    auto it = spec.hooks.find(kind);
    if (it == spec.hooks.end())
        return "";
    for (const auto& hook : it->second)
        if (std::string err = RunHook(hook, state_json); !err.empty())
            return fmt::format("{} hook: {}", kind, err);
    return "";
}

// Sends the terminal's master to the engine over --console-socket (SCM_RIGHTS).
int SendTerminalMaster(const std::string& socket_path, int master) {
    int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return errno;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof(addr.sun_path)) {
        ::close(sock);
        return ENAMETOOLONG;
    }
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size());
    if (::connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        int err = errno;
        ::close(sock);
        return err;
    }
    char name[] = "/dev/ptmx";
    iovec iov{name, sizeof(name) - 1};  // runc sends the name without its NUL
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &master, sizeof(int));
    int err = ::sendmsg(sock, &msg, 0) < 0 ? errno : 0;
    ::close(sock);
    return err;
}

int SignalContainer(const ContainerState& st, int sig, bool all) {
    if (!all)
        return ::kill(st.pid, sig) == 0 ? 0 : errno;
    int first_error = 0;
    for (pid_t pid : ProcessTree(st.pid))
        if (::kill(pid, sig) != 0 && !first_error && errno != ESRCH)
            first_error = errno;
    return first_error;
}

int OciPs(const OciGlobal& global, const OciArgs& args) {
    StateStore store(global.root);
    auto st = store.Load(args.id);
    if (!st)
        return OciFail(global, fmt::format("container {} does not exist", args.id));
    std::vector<pid_t> pids;
    if (LiveStatus(store, *st) != "stopped")
        pids = ProcessTree(st->pid);
    if (args.format == "json") {
        fmt::print("{}\n", json(pids).dump());
        return 0;
    }
    fmt::print("PID\n");
    for (pid_t pid : pids)
        fmt::print("{}\n", pid);
    return 0;
}

int OciList(const OciGlobal& global, const OciArgs& args) {
    StateStore store(global.root);
    json all = json::array();
    std::vector<std::string> rows;
    for (const auto& id : store.Ids()) {
        auto st = store.Load(id);
        if (!st)
            continue;
        std::string status = LiveStatus(store, *st);
        if (args.quiet) {
            rows.push_back(id);
            continue;
        }
        all.push_back(json::parse(StateJson(store, *st)));
        rows.push_back(fmt::format("{:<12} {:<8} {:<10} {:<40} {:<30} {}", id, status == "stopped" ? 0 : st->pid,
                                   status, st->bundle, st->created, "root"));
    }
    if (args.format == "json" && !args.quiet) {
        fmt::print("{}\n", all.dump());
        return 0;
    }
    if (!args.quiet)
        fmt::print("{:<12} {:<8} {:<10} {:<40} {:<30} {}\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
    for (const auto& r : rows)
        fmt::print("{}\n", r);
    return 0;
}

int OciPauseResume(const OciGlobal& global, const OciArgs& args, bool pause) {
    StateStore store(global.root);
    auto st = store.Load(args.id);
    if (!st)
        return OciFail(global, fmt::format("container {} does not exist", args.id));
    std::string status = LiveStatus(store, *st);
    if (pause && status != "running")
        return OciFail(global, fmt::format("container {} is not running", args.id));
    if (!pause && status != "paused")
        return OciFail(global, fmt::format("container {} is not paused", args.id));
    if (int err = SignalContainer(*st, pause ? SIGSTOP : SIGCONT, true))
        return OciFail(global, fmt::format("{} {}: {}", pause ? "pause" : "resume", args.id, strerror(err)));
    st->paused = pause;
    store.Save(*st);
    return 0;
}

int OciEvents(const OciGlobal& global, const OciArgs& args) {
    StateStore store(global.root);
    auto st = store.Load(args.id);
    if (!st)
        return OciFail(global, fmt::format("container {} does not exist", args.id));
    int interval_s = std::max(1, std::atoi(args.interval.c_str()));
    for (;;) {
        if (LiveStatus(store, *st) == "stopped")
            return args.stats ? OciFail(global, fmt::format("container {} is not running", args.id)) : 0;
        std::vector<pid_t> pids = ProcessTree(st->pid);
        json data = {{"pids", {{"current", pids.size()}}}};
        fmt::print("{}\n", json{{"type", "stats"}, {"id", args.id}, {"data", data}}.dump());
        std::fflush(stdout);
        if (args.stats)
            return 0;
        std::this_thread::sleep_for(std::chrono::seconds(interval_s));
    }
}

int OciFeatures() {
    json f = {{"ociVersionMin", "1.0.0"},
              {"ociVersionMax", "1.1.0"},
              {"hooks", {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
              {"mountOptions", {"ro", "rw", "bind", "rbind", "nosuid", "nodev", "noexec", "mode", "size"}},
              {"linux",
               {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"}},
                {"capabilities", json::array()},
                {"cgroup", {{"v1", false}, {"v2", false}, {"systemd", false}}},
                {"seccomp", {{"enabled", false}}}}},
              {"annotations", {{"io.github.moat.sandbox", "user-space kernel"}}}};
    fmt::print("{}\n", f.dump(2));
    return 0;
}

int OciSpecCommand(const OciGlobal& global, const OciArgs& args) {
    std::string path = args.bundle + "/config.json";
    struct stat sb;
    if (::stat(path.c_str(), &sb) == 0)
        return OciFail(global, fmt::format("File {} exists. Remove it first", path));
    std::ofstream out(path);
    out << DefaultSpecJson();
    if (!out)
        return OciFail(global, fmt::format("cannot write {}", path));
    return 0;
}

}  // namespace moat::cli
