#include "sentry/cli/oci_control.h"

#include "fs/exec.h"
#include "fs/fd_table.h"
#include "fs/fs_context.h"
#include "platform/base/log.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/thread_group.h"

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
constexpr size_t kMaxRequest = 256 * 1024;

bool FillAddress(const std::string& path, sockaddr_un& addr) {
    addr = {};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof(addr.sun_path))
        return false;
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    return true;
}

void SendLine(int fd, const json& j) {
    std::string s = j.dump();
    (void)!::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
}

std::string EnvValue(const std::vector<std::string>& env, const std::string& name) {
    for (const auto& e : env)
        if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=')
            return e.substr(name.size() + 1);
    return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::Start(kernel::Kernel& kernel, const std::string& path) {
    sockaddr_un addr;
    if (!FillAddress(path, addr))
        return Errno(ENAMETOOLONG);
    UniqueFd listen(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!listen)
        return HostErrno();
    ::unlink(path.c_str());
    if (::bind(listen.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::chmod(path.c_str(), 0600) != 0 ||
        ::listen(listen.get(), 16) != 0)
        return HostErrno();
    UniqueFd stop(::eventfd(0, EFD_CLOEXEC));
    if (!stop)
        return HostErrno();
    std::unique_ptr<ControlServer> server(new ControlServer(kernel, path, std::move(listen), std::move(stop)));
    server->m_acceptor = std::thread([s = server.get()] { s->AcceptLoop(); });
    return server;
}

ControlServer::ControlServer(kernel::Kernel& kernel, std::string path, UniqueFd listen, UniqueFd stop)
    : m_kernel(kernel), m_path(std::move(path)), m_listen(std::move(listen)), m_stop(std::move(stop)) {}

ControlServer::~ControlServer() {
    uint64_t one = 1;
    (void)!::write(m_stop.get(), &one, sizeof(one));
    if (m_acceptor.joinable())
        m_acceptor.join();
    ::unlink(m_path.c_str());
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
        UniqueFd conn(::accept4(m_listen.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn)
            continue;
        std::lock_guard lock(m_lock);
        m_sessions.emplace_back([this, c = std::move(conn)]() mutable { Serve(std::move(c)); });
    }
}

void ControlServer::Serve(UniqueFd conn) {
    std::vector<char> buf(kMaxRequest);
    iovec iov{buf.data(), buf.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(3 * sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = ::recvmsg(conn.get(), &msg, MSG_CMSG_CLOEXEC);
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
    kernel::InitProcess proc;
    try {
        json req = json::parse(std::string(buf.data(), static_cast<size_t>(n)));
        proc.argv = req.at("args").get<std::vector<std::string>>();
        proc.envp = req.value("env", std::vector<std::string>{});
        proc.cwd = req.value("cwd", std::string("/"));
    } catch (const std::exception& e) {
        return SendLine(conn.get(), {{"error", fmt::format("bad exec request: {}", e.what())}});
    }
    if (proc.argv.empty())
        return SendLine(conn.get(), {{"error", "exec: no command"}});
    auto ctx = fs::FsContext::Create(m_kernel.vfs(), proc.cwd);
    if (!ctx.ok())
        return SendLine(conn.get(), {{"error", fmt::format("exec: cwd {}: {}", proc.cwd, strerror(ctx.error()))}});
    auto path = fs::ResolveInPath(m_kernel.vfs(), *ctx.value(), proc.argv[0], EnvValue(proc.envp, "PATH"));
    if (!path.ok())
        return SendLine(conn.get(), {{"error", fmt::format("exec: {}: {}", proc.argv[0], strerror(path.error()))}});
    proc.path = *path;
    const int stdio[3] = {received[0].get(), received[1].get(), received[2].get()};
    auto tg = m_kernel.Spawn(proc, fs::FdTable::CreateWithHostStdio(stdio));
    received.clear();  // the sandbox's files hold their own dups
    if (!tg.ok())
        return SendLine(conn.get(), {{"error", fmt::format("exec: {}: {}", proc.argv[0], strerror(tg.error()))}});
    SendLine(conn.get(), {{"pid", (*tg)->pid()}});
    int status = m_kernel.WaitSpawned(*tg);
    SendLine(conn.get(), {{"status", status}});
}

int ExecThroughControl(const std::string& path, const std::string& request_json, const int (&stdio)[3],
                       pid_t* inner_pid, std::string* error) {
    sockaddr_un addr;
    if (!FillAddress(path, addr)) {
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
