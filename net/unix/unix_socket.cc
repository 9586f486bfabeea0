#include "net/unix/unix_socket.h"

#include "fs/fs_context.h"
#include "fs/task_fs.h"
#include "fs/vfs.h"
#include "fs/vfs/permissions.h"
#include "sentry/kernel/task.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>

namespace moat::net {

namespace {

constexpr size_t kSunPathOffset = offsetof(sockaddr_un, sun_path);

SockAddr UnnamedAddr() {
    SockAddr a(kSunPathOffset, '\0');
    a[0] = static_cast<char>(AF_UNIX);
    return a;
}

bool IsAbstract(const SockAddr& addr) { return addr[kSunPathOffset] == '\0'; }

// The path of a filesystem address: sun_path up to its first NUL (Linux terminates it at
// addr_len).
std::string PathOf(const SockAddr& addr) {
    std::string rest = addr.substr(kSunPathOffset);
    return rest.substr(0, strnlen(rest.data(), rest.size()));
}

// Which endpoint a path names, resolved with the current task's identity.
struct ResolvedPath {
    UnixPathKey key;
    fs::VfsPath path;
};

Result<ResolvedPath> ResolveSocketPath(kernel::Task& task, const std::string& path, bool for_connect) {
    auto at = TRY(fs::WalkStartOf(task, AT_FDCWD, path));
    fs::FsCaller caller = fs::CallerOf(task);
    fs::VfsPath p = TRY(task.fs_context().vfs().Resolve(caller, at.root, at.start, path,
                                                        for_connect ? static_cast<unsigned>(fs::kWalkFollow) : 0u));
    fs::InodeAttr attr = TRY(p.inode().Stat());
    if (for_connect) {
        // Linux's unix_find_bsd: write permission (a read-only mount does not matter to a
        // socket), then the type.
        TRY(fs::CheckPermission(caller.creds, attr, fs::kMayWrite));
        if (!S_ISSOCK(attr.mode))
            return Error(ECONNREFUSED);
    }
    return ResolvedPath{{attr.dev, attr.ino}, std::move(p)};
}

}  // namespace

Ucred CurrentCreds() {
    kernel::Task* task = kernel::Task::Current();
    if (!task)
        return Ucred{0, 0, 0};
    return Ucred{task->pid(), task->creds().euid, task->creds().egid};
}

Result<void> ValidateUnixAddr(const SockAddr& addr) {
    if (addr.size() <= kSunPathOffset || addr.size() > sizeof(sockaddr_un))
        return Error(EINVAL);
    sa_family_t family;
    memcpy(&family, addr.data(), sizeof(family));
    if (family != AF_UNIX)
        return Error(EINVAL);
    return {};
}

std::shared_ptr<UnixSocket> UnixSocket::Create(std::shared_ptr<UnixSpace> space, int type, uint64_t ino,
                                               bool nonblock) {
    auto ep = std::make_shared<UnixEndpoint>(type, ino);
    return std::make_shared<UnixSocket>(std::move(space), std::move(ep), nonblock);
}

std::pair<std::shared_ptr<UnixSocket>, std::shared_ptr<UnixSocket>> UnixSocket::CreatePair(
    std::shared_ptr<UnixSpace> space, int type, uint64_t ino_a, uint64_t ino_b, bool nonblock) {
    auto a = Create(space, type, ino_a, nonblock);
    auto b = Create(space, type, ino_b, nonblock);
    Ucred creds = CurrentCreds();
    std::lock_guard lock(space->lock());
    a->m_ep->peer = b->m_ep;
    b->m_ep->peer = a->m_ep;
    a->m_ep->state = b->m_ep->state = UnixEndpoint::State::kConnected;
    a->m_ep->peercred = b->m_ep->peercred = creds;
    return {a, b};
}

UnixSocket::UnixSocket(std::shared_ptr<UnixSpace> space, std::shared_ptr<UnixEndpoint> ep, bool nonblock)
    : Socket(O_RDWR | (nonblock ? O_NONBLOCK : 0)), m_space(std::move(space)), m_ep(std::move(ep)) {
    std::lock_guard lock(m_space->lock());
    m_space->Register(m_ep);
}

UnixSocket::~UnixSocket() {
    UnixGarbage garbage;
    std::lock_guard lock(m_space->lock());
    m_space->Release(m_ep, garbage);
    // `garbage` is destroyed after the lock (declared first).
}

Result<void> UnixSocket::Wait(std::unique_lock<std::mutex>& lock, kernel::WaitQueue& queue, bool nonblock,
                              std::optional<std::chrono::steady_clock::time_point> deadline,
                              const std::function<bool()>& ready) {
    if (nonblock)
        return Error(EAGAIN);
    kernel::Task* task = kernel::Task::Current();
    if (!task)
        return Error(EAGAIN);
    lock.unlock();
    auto r = task->Block(queue, [&] {
        std::lock_guard g(m_space->lock());
        return ready();
    }, deadline);
    lock.lock();
    if (!r.ok()) {
        if (r.error() == ETIMEDOUT)
            return Error(EAGAIN);
        // sock_intr_errno: a socket with a timeout is not restarted.
        if (r.error() == ERESTARTSYS && deadline)
            return Error(EINTR);
        return r;
    }
    return {};
}

Result<void> UnixSocket::Bind(const SockAddr& addr) {
    if (addr.size() == kSunPathOffset && addr[0] == static_cast<char>(AF_UNIX) && addr[1] == 0) {
        std::lock_guard lock(m_space->lock());
        if (!m_ep->addr.empty())
            return Error(EINVAL);
        return m_space->Autobind(m_ep);
    }
    TRY(ValidateUnixAddr(addr));
    if (IsAbstract(addr)) {
        std::lock_guard lock(m_space->lock());
        if (!m_ep->addr.empty())
            return Error(EINVAL);
        return m_space->BindAbstract(m_ep, addr);
    }
    kernel::Task* task = kernel::Task::Current();
    if (!task)
        return Error(EINVAL);
    // As unix_bind_bsd: the node first (EADDRINUSE wins), then "already bound" (EINVAL, and
    // the new node goes again).
    std::string path = PathOf(addr);
    auto at = TRY(fs::WalkStartOf(*task, AT_FDCWD, path));
    uint32_t mode = S_IFSOCK | (0777 & ~task->fs_context().umask());
    auto made = task->fs_context().vfs().Mknod(fs::CallerOf(*task), at.root, at.start, path, mode, 0);
    if (!made.ok())
        return Error(made.error() == EEXIST ? EADDRINUSE : made.error());
    auto resolved = TRY(ResolveSocketPath(*task, path, false));
    std::unique_lock lock(m_space->lock());
    if (!m_ep->addr.empty()) {
        lock.unlock();
        (void)task->fs_context().vfs().Unlink(fs::CallerOf(*task), at.root, at.start, path);
        return Error(EINVAL);
    }
    m_ep->addr = addr.substr(0, kSunPathOffset) + path + '\0';
    m_space->BindPath(m_ep, resolved.key, std::move(resolved.path));
    return {};
}

Result<void> UnixSocket::Listen(int backlog) {
    if (m_ep->type == SOCK_DGRAM)
        return Error(EOPNOTSUPP);
    std::lock_guard lock(m_space->lock());
    if (m_ep->addr.empty())
        return Error(EINVAL);
    if (m_ep->state != UnixEndpoint::State::kUnconnected && m_ep->state != UnixEndpoint::State::kListening)
        return Error(EINVAL);
    // A negative backlog is a large unsigned one: capped at somaxconn.
    unsigned b = static_cast<unsigned>(backlog);
    m_ep->max_backlog = static_cast<int>(std::min<unsigned>(b, UnixSpace::kSomaxconn));
    if (m_ep->state == UnixEndpoint::State::kUnconnected)
        m_ep->owncred = m_ep->peercred = CurrentCreds();
    m_ep->state = UnixEndpoint::State::kListening;
    m_ep->Notify();  // connectors waiting for room
    return {};
}

Result<std::shared_ptr<fs::File>> UnixSocket::Accept(bool nonblock, SockAddr* peer) {
    if (m_ep->type == SOCK_DGRAM)
        return Error(EOPNOTSUPP);
    std::unique_lock lock(m_space->lock());
    if (m_ep->state != UnixEndpoint::State::kListening)
        return Error(EINVAL);
    auto deadline = m_ep->rcvtimeo ? std::optional(std::chrono::steady_clock::now() + *m_ep->rcvtimeo) : std::nullopt;
    while (m_ep->backlog.empty()) {
        TRY(Wait(lock, m_ep->waiters, nonblocking(0), deadline, [&] {
            return !m_ep->backlog.empty() || m_ep->state != UnixEndpoint::State::kListening;
        }));
        if (m_ep->state != UnixEndpoint::State::kListening)
            return Error(EINVAL);
    }
    auto ep = std::move(m_ep->backlog.front());
    m_ep->backlog.pop_front();
    // Connectors blocked on a full backlog may go on.
    m_ep->Notify();
    if (peer)
        *peer = ep->peer && !ep->peer->addr.empty() ? ep->peer->addr : UnnamedAddr();
    lock.unlock();
    return std::shared_ptr<fs::File>(std::make_shared<UnixSocket>(m_space, std::move(ep), nonblock));
}

Result<std::shared_ptr<UnixEndpoint>> UnixSocket::FindPeer(const SockAddr& addr) {
    TRY(ValidateUnixAddr(addr));
    std::shared_ptr<UnixEndpoint> other;
    if (IsAbstract(addr)) {
        std::lock_guard lock(m_space->lock());
        other = m_space->FindAbstract(addr);
    } else {
        kernel::Task* task = kernel::Task::Current();
        if (!task)
            return Error(ECONNREFUSED);
        auto resolved = TRY(ResolveSocketPath(*task, PathOf(addr), true));
        std::lock_guard lock(m_space->lock());
        other = m_space->FindPath(resolved.key);
    }
    if (!other)
        return Error(ECONNREFUSED);
    // A path names one socket (EPROTOTYPE for the wrong type); abstract names are looked up
    // per type, so another type's name is not found.
    if (other->type != m_ep->type)
        return Error(IsAbstract(addr) ? ECONNREFUSED : EPROTOTYPE);
    return other;
}

Result<void> UnixSocket::Connect(const SockAddr& addr) {
    return m_ep->type == SOCK_DGRAM ? ConnectDgram(addr) : ConnectStream(addr);
}

Result<void> UnixSocket::ConnectDgram(const SockAddr& addr) {
    if (addr.size() < sizeof(sa_family_t))
        return Error(EINVAL);
    if (addr[0] == AF_UNSPEC && addr[1] == 0) {
        // Dissolves the association.
        UnixGarbage garbage;
        std::lock_guard lock(m_space->lock());
        if (m_ep->peer)
            garbage.endpoints.push_back(std::move(m_ep->peer));
        m_ep->state = UnixEndpoint::State::kUnconnected;
        return {};
    }
    auto other = TRY(FindPeer(addr));
    UnixGarbage garbage;
    std::lock_guard lock(m_space->lock());
    if (other->dead)
        return Error(ECONNREFUSED);
    if (m_ep->passcred && m_ep->addr.empty())
        TRY(m_space->Autobind(m_ep));
    if (m_ep->peer)
        garbage.endpoints.push_back(std::move(m_ep->peer));
    m_ep->peer = other;
    m_ep->state = UnixEndpoint::State::kConnected;
    m_ep->peercred = CurrentCreds();
    return {};
}

Result<void> UnixSocket::ConnectStream(const SockAddr& addr) {
    TRY(ValidateUnixAddr(addr));
    {
        std::lock_guard lock(m_space->lock());
        if (m_ep->state == UnixEndpoint::State::kConnected)
            return Error(EISCONN);
        if (m_ep->state != UnixEndpoint::State::kUnconnected)
            return Error(EINVAL);
    }
    auto other = TRY(FindPeer(addr));
    Ucred creds = CurrentCreds();
    std::unique_lock lock(m_space->lock());
    auto deadline = m_ep->sndtimeo ? std::optional(std::chrono::steady_clock::now() + *m_ep->sndtimeo) : std::nullopt;
    for (;;) {
        if (m_ep->state == UnixEndpoint::State::kConnected)
            return Error(EISCONN);
        if (m_ep->state != UnixEndpoint::State::kUnconnected)
            return Error(EINVAL);
        if (other->dead || other->state != UnixEndpoint::State::kListening)
            return Error(ECONNREFUSED);
        // unix_recvq_full: more pending than the backlog.
        if (other->backlog.size() <= static_cast<size_t>(other->max_backlog))
            break;
        TRY(Wait(lock, other->waiters, nonblocking(0), deadline, [&] {
            return other->dead || other->state != UnixEndpoint::State::kListening ||
                   other->backlog.size() <= static_cast<size_t>(other->max_backlog);
        }));
    }
    if (m_ep->passcred && m_ep->addr.empty())
        TRY(m_space->Autobind(m_ep));
    auto server = std::make_shared<UnixEndpoint>(m_ep->type, m_space->NextIno());
    server->state = UnixEndpoint::State::kConnected;
    server->addr = other->addr;
    server->peer = m_ep;
    server->peercred = creds;
    server->passcred = other->passcred;
    server->sndbuf = other->sndbuf;
    server->rcvbuf = other->rcvbuf;
    m_ep->peer = server;
    m_ep->peercred = other->owncred;
    m_ep->state = UnixEndpoint::State::kConnected;
    other->backlog.push_back(std::move(server));
    other->Notify(POLLIN | POLLRDNORM);
    return {};
}

Result<void> UnixSocket::Shutdown(int how) {
    int mode = how + 1;  // SHUT_RD → kRcvShutdown, SHUT_WR → kSendShutdown
    std::lock_guard lock(m_space->lock());
    m_ep->shutdown |= mode;
    m_ep->Notify();
    auto peer = m_ep->peer;
    if (peer && m_ep->connection_based()) {
        int peer_mode = 0;
        if (mode & kRcvShutdown)
            peer_mode |= kSendShutdown;
        if (mode & kSendShutdown)
            peer_mode |= kRcvShutdown;
        peer->shutdown |= peer_mode;
        peer->Notify();
    }
    return {};
}

Result<SockAddr> UnixSocket::GetName() {
    std::lock_guard lock(m_space->lock());
    return m_ep->addr.empty() ? UnnamedAddr() : m_ep->addr;
}

Result<SockAddr> UnixSocket::GetPeerName() {
    std::lock_guard lock(m_space->lock());
    if (!m_ep->peer || (m_ep->connection_based() && m_ep->state != UnixEndpoint::State::kConnected))
        return Error(ENOTCONN);
    return m_ep->peer->addr.empty() ? UnnamedAddr() : m_ep->peer->addr;
}

Result<fs::InodeAttr> UnixSocket::Stat() {
    return SocketInodeAttr(m_ep->ino);
}

uint32_t UnixSocket::Readiness(uint32_t) {
    std::lock_guard lock(m_space->lock());
    const UnixEndpoint& ep = *m_ep;
    uint32_t mask = 0;
    if (ep.error)
        mask |= POLLERR;
    if (ep.shutdown == kShutdownMask)
        mask |= POLLHUP;
    if (ep.shutdown & kRcvShutdown)
        mask |= POLLRDHUP | POLLIN | POLLRDNORM;
    if (!ep.queue.empty() || !ep.backlog.empty())
        mask |= POLLIN | POLLRDNORM;
    if (ep.connection_based() && ep.state == UnixEndpoint::State::kUnconnected)
        mask |= POLLHUP;
    bool writable = ep.writable();
    // A datagram socket whose (not mutually connected) peer's queue is full waits for it.
    if (writable && ep.type == SOCK_DGRAM && ep.peer && ep.peer->peer != m_ep &&
        ep.peer->queue.size() > UnixSpace::kMaxDgramQueue)
        writable = false;
    if (writable)
        mask |= POLLOUT | POLLWRNORM | POLLWRBAND;
    return mask;
}

Result<int64_t> UnixSocket::BytesReadable() {
    std::lock_guard lock(m_space->lock());
    if (m_ep->state == UnixEndpoint::State::kListening)
        return Error(EINVAL);
    if (m_ep->type == SOCK_STREAM) {
        int64_t total = 0;
        for (auto& msg : m_ep->queue)
            total += static_cast<int64_t>(msg.unread());
        return total;
    }
    return m_ep->queue.empty() ? 0 : static_cast<int64_t>(m_ep->queue.front().data.size());
}

}  // namespace moat::net
