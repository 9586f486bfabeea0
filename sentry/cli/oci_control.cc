#include "sentry/cli/oci_control.h"

#include "sentry/cli/oci_exec_request.h"

#include "fs/dev/devfs.h"
#include "fs/exec.h"
#include "fs/fd_table.h"
#include "fs/fs_context.h"
#include "platform/base/log.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/thread_group.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace moat::cli {

namespace {

using nlohmann::json;

// A socket address for `path`. Engines' state roots are deep (docker's is
// /run/docker/runtime-runc/moby/<64 hex digits>/), past sun_path's 108 bytes: then the
// directory is opened and named through /proc/self/fd, which `dir` keeps open meanwhile.
bool FillAddress(const std::string& path, sockaddr_un& addr, UniqueFd& dir) {
    addr = {};
    addr.sun_family = AF_UNIX;
    std::string name = path;
    if (name.size() >= sizeof(addr.sun_path)) {
        size_t slash = path.rfind('/');
        if (slash == std::string::npos)
            return false;
        dir = UniqueFd(::open(path.substr(0, slash).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!dir)
            return false;
        name = fmt::format("/proc/self/fd/{}/{}", dir.get(), path.substr(slash + 1));
        if (name.size() >= sizeof(addr.sun_path))
            return false;
    }
    std::memcpy(addr.sun_path, name.c_str(), name.size());
    return true;
}

// write(2), not send(2): one call fewer on the host filter. SIGPIPE is ignored in the sentry.
// Replacing bad UTF-8 (an error may quote a cut-off request string) keeps dump from throwing.
void SendLine(int fd, const json& j) {
    std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
    (void)!::write(fd, s.data(), s.size());
}

std::string EnvValue(const std::vector<std::string>& env, const std::string& name) {
    for (const auto& e : env)
        if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=')
            return e.substr(name.size() + 1);
    return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::Bind(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos)
        return Errno(EINVAL);
    // The state directory stays reachable through `dir` once the sentry's root is gone.
    UniqueFd dir(::open(path.substr(0, slash).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir)
        return HostErrno();
    std::string name = path.substr(slash + 1);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string bound = fmt::format("/proc/self/fd/{}/{}", dir.get(), name);
    if (bound.size() >= sizeof(addr.sun_path))
        return Errno(ENAMETOOLONG);
    std::memcpy(addr.sun_path, bound.c_str(), bound.size());
    UniqueFd listen(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!listen)
        return HostErrno();
    ::unlinkat(dir.get(), name.c_str(), 0);
    if (::bind(listen.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::chmod(bound.c_str(), 0600) != 0 || ::listen(listen.get(), 16) != 0)
        return HostErrno();
    UniqueFd stop(::eventfd(0, EFD_CLOEXEC));
    if (!stop)
        return HostErrno();
    return std::unique_ptr<ControlServer>(new ControlServer(std::move(dir), std::move(name), std::move(listen), std::move(stop)));
}

ControlServer::ControlServer(UniqueFd dir, std::string name, UniqueFd listen, UniqueFd stop)
    : m_dir(std::move(dir)), m_name(std::move(name)), m_listen(std::move(listen)), m_stop(std::move(stop)) {}

void ControlServer::Serve(kernel::Kernel& kernel) {
    m_kernel = &kernel;
    m_acceptor = std::thread([this] { AcceptLoop(); });
}

ControlServer::~ControlServer() {
    uint64_t one = 1;
    (void)!::write(m_stop.get(), &one, sizeof(one));
    if (m_acceptor.joinable())
        m_acceptor.join();
    ::unlinkat(m_dir.get(), m_name.c_str(), 0);
    std::vector<std::thread> sessions;
    {
        std::lock_guard lock(m_lock);
        sessions.swap(m_sessions);
    }
    for (auto& t : sessions)
        t.join();  // every sandbox process is gone by now (PID 1's exit killed them)
}

void ControlServer::AcceptLoop() {
    for (;;) {
        pollfd fds[2] = {{m_listen.get(), POLLIN, 0}, {m_stop.get(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (fds[1].revents)
            return;
        UniqueFd conn(::accept4(m_listen.get(), nullptr, nullptr, kAcceptFlags));
        if (!conn)
            continue;
        std::lock_guard lock(m_lock);
        m_sessions.emplace_back([this, c = std::move(conn)]() mutable { ServeSession(std::move(c)); });
    }
}

void ControlServer::ServeSession(UniqueFd conn) {
    // A session's thread must not take the sentry down: out of memory is an answer too.
    try {
        ServeRequest(conn);
    } catch (const std::exception& e) {
        SendLine(conn.get(), {{"error", fmt::format("exec: {}", e.what())}});
    }
}

void ControlServer::ServeRequest(const UniqueFd& conn) {
    // One byte more than the largest request: a longer one shows as MSG_TRUNC.
    std::vector<char> buf(kMaxExecRequest + 1);
    iovec iov{buf.data(), buf.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(3 * sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = ::recvmsg(conn.get(), &msg, kRecvFlags);
    std::vector<UniqueFd> received;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            received.emplace_back(fd);
        }
    }
    if (n <= 0 || received.size() != 3 || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
        return SendLine(conn.get(), {{"error", "bad exec request"}});
    // The request is hostile until ParseExecRequest has checked every field; then the process
    // is set up by the code that set up PID 1 (InitProcessOf).
    std::string error;
    auto process = ParseExecRequest(std::string_view(buf.data(), static_cast<size_t>(n)), &error);
    if (!process)
        return SendLine(conn.get(), {{"error", error}});
    kernel::InitProcess proc = InitProcessOf(*process);
    auto ctx = fs::FsContext::Create(m_kernel->vfs(), proc.cwd);
    if (!ctx.ok())
        return SendLine(conn.get(), {{"error", fmt::format("exec: cwd {}: {}", proc.cwd, strerror(ctx.error()))}});
    auto path = fs::ResolveInPath(m_kernel->vfs(), *ctx.value(), proc.argv[0], EnvValue(proc.envp, "PATH"));
    if (!path.ok())
        return SendLine(conn.get(), {{"error", fmt::format("exec: {}: {}", proc.argv[0], strerror(path.error()))}});
    proc.path = *path;
    const int stdio[3] = {received[0].get(), received[1].get(), received[2].get()};
    // An exec --tty terminal is named /dev/console too: tty(1) and ttyname(3) work in it.
    auto console = fs::FindConsoleNode(m_kernel->vfs());
    auto tg = m_kernel->Spawn(proc, fs::FdTable::CreateWithHostStdio(stdio, console ? &*console : nullptr));
    received.clear();  // the sandbox's files hold their own dups
    if (!tg.ok())
        return SendLine(conn.get(), {{"error", fmt::format("exec: {}: {}", proc.argv[0], strerror(tg.error()))}});
    SendLine(conn.get(), {{"pid", (*tg)->pid()}});
    int status = m_kernel->WaitSpawned(*tg);
    SendLine(conn.get(), {{"status", status}});
}

int ExecThroughControl(const std::string& path, const std::string& request_json, const int (&stdio)[3],
                       pid_t* inner_pid, std::string* error) {
    sockaddr_un addr;
    UniqueFd dir;
    if (!FillAddress(path, addr, dir)) {
        *error = "control socket path too long";
        return -1;
    }
    UniqueFd sock;
    // Right after `start` the sentry may still be building the sandbox: the socket comes
    // with it.
    for (int attempt = 0;; ++attempt) {
        sock = UniqueFd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
        if (sock && ::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0)
            break;
        if (!sock || (errno != ENOENT && errno != ECONNREFUSED) || attempt >= 500) {
            *error = fmt::format("cannot reach the container ({}): {}", path, strerror(errno));
            return -1;
        }
        ::usleep(10000);
    }
    iovec iov{const_cast<char*>(request_json.data()), request_json.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(3 * sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(3 * sizeof(int));
    std::memcpy(CMSG_DATA(c), stdio, 3 * sizeof(int));
    if (::sendmsg(sock.get(), &msg, MSG_NOSIGNAL) < 0) {
        *error = fmt::format("exec request: {}", strerror(errno));
        return -1;
    }
    for (;;) {
        char buf[4096];
        ssize_t n = ::recv(sock.get(), buf, sizeof(buf), 0);
        if (n <= 0) {
            *error = "the container went away";
            return -1;
        }
        try {
            json j = json::parse(std::string(buf, static_cast<size_t>(n)));
            if (j.contains("error")) {
                *error = j["error"].get<std::string>();
                return -1;
            }
            if (j.contains("pid") && inner_pid)
                *inner_pid = j["pid"].get<pid_t>();
            if (j.contains("status"))
                return j["status"].get<int>();
        } catch (const std::exception&) {
            *error = "bad answer from the container";
            return -1;
        }
    }
}

}  // namespace moat::cli
