#include "net/inet/inet_socket.h"

#include "net/unix/unix_socket.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"

#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/stat.h>

namespace moat::net {

namespace {

// tcp_wmem[1] / tcp_rmem[1], and net.core.wmem_default / rmem_default for UDP.
constexpr int kTcpSndbuf = 16384;
constexpr int kTcpRcvbuf = 131072;
constexpr int kUdpBuf = 212992;
// ip_unprivileged_port_start.
constexpr uint16_t kUnprivilegedPortStart = 1024;

// CAP_NET_BIND_SERVICE of the calling task (the sentry itself, with no task, may).
bool MayBindPrivilegedPort() {
    kernel::Task* task = kernel::Task::Current();
    return !task || task->creds().HasCapability(CAP_NET_BIND_SERVICE);
}

}  // namespace

std::shared_ptr<InetSocket> InetSocket::Create(std::shared_ptr<InetSpace> space, int family, int type, uint64_t ino,
                                               bool nonblock) {
    auto ep = std::make_shared<InetEndpoint>(family, type, ino);
    ep->sndbuf = type == SOCK_STREAM ? kTcpSndbuf : kUdpBuf;
    ep->rcvbuf = type == SOCK_STREAM ? kTcpRcvbuf : kUdpBuf;
    ep->uid = CurrentCreds().uid;
    ep->local.ip = family == AF_INET ? Any4Mapped() : IpBytes{};
    {
        std::lock_guard lock(space->lock());
        space->Register(ep);
    }
    return std::make_shared<InetSocket>(std::move(space), std::move(ep), nonblock);
}

InetSocket::InetSocket(std::shared_ptr<InetSpace> space, std::shared_ptr<InetEndpoint> ep, bool nonblock)
    : Socket(O_RDWR | (nonblock ? O_NONBLOCK : 0)), m_space(std::move(space)), m_ep(std::move(ep)) {}

InetSocket::~InetSocket() {
    InetGarbage garbage;
    std::lock_guard lock(m_space->lock());
    Release(garbage);
}

void InetSocket::Release(InetGarbage& garbage) {
    if (m_ep->tcp()) {
        ReleaseStream(garbage);
    } else {
        garbage.datagrams = std::move(m_ep->dq);
        m_ep->dq.clear();
        m_ep->rmem = 0;
    }
    m_ep->dead = true;
    m_ep->state = InetEndpoint::State::kClosed;
    m_space->Unregister(*m_ep);
    m_ep->Notify();
}

Result<void> InetSocket::Wait(std::unique_lock<std::mutex>& lock, bool nonblock,
                              std::optional<std::chrono::steady_clock::time_point> deadline,
                              const std::function<bool()>& ready) {
    if (nonblock)
        return Error(EAGAIN);
    kernel::Task* task = kernel::Task::Current();
    if (!task)
        return Error(EAGAIN);
    lock.unlock();
    auto r = task->Block(m_ep->waiters, [&] {
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

InetAddr InetSocket::AnyAddr() const {
    InetAddr a;
    a.ip = m_ep->family == AF_INET ? Any4Mapped() : IpBytes{};
    return a;
}

Result<void> InetSocket::Autobind(const InetAddr& src) {
    if (m_ep->bound)
        return {};
    InetAddr a = src;
    a.port = 0;
    return m_space->Bind(m_ep, a);
}

Result<InetAddr> InetSocket::Destination(const SockAddr& addr) {
    InetAddr dst = TRY(ParseInetAddr(m_ep->family, addr, !m_ep->tcp()));
    if (m_ep->family == AF_INET6) {
        InetAddr bound = m_ep->local;
        // An IPV6_V6ONLY socket, or one bound to a v6 address, cannot reach IPv4; one bound
        // to a mapped address cannot reach IPv6.
        if (dst.mapped() && (m_ep->v6only || (!bound.any() && !bound.mapped())))
            return Error(ENETUNREACH);
        if (!dst.mapped() && !dst.any6() && !bound.any() && bound.mapped())
            return Error(ENETUNREACH);
    }
    return RouteLoopback(dst);
}

InetAddr InetSocket::SourceFor(const InetAddr& dst) const {
    if (m_ep->bound && !m_ep->local.any())
        return m_ep->local;
    InetAddr src = dst.mapped() ? InetAddr::FromV4(kLoopback4, 0) : InetAddr{Loopback6(), 0};
    src.port = m_ep->bound ? m_ep->local.port : 0;
    return src;
}

Result<void> InetSocket::Bind(const SockAddr& addr) {
    InetAddr a = TRY(ParseInetAddr(m_ep->family, addr, m_ep->family == AF_INET));
    if (m_ep->family == AF_INET && addr.size() >= 2 && addr[0] == AF_UNSPEC && addr[1] == 0 && !a.any())
        return Error(EAFNOSUPPORT);  // AF_UNSPEC only with INADDR_ANY (inet_bind)
    std::lock_guard lock(m_space->lock());
    if (m_ep->family == AF_INET6 && a.mapped() && m_ep->v6only)
        return Error(EINVAL);
    if (!a.any() && !a.loopback())
        return Error(EADDRNOTAVAIL);
    if (a.port != 0 && a.port < kUnprivilegedPortStart && !MayBindPrivilegedPort())
        return Error(EACCES);
    if (m_ep->bound || m_ep->state != InetEndpoint::State::kClosed)
        return Error(EINVAL);
    TRY(m_space->Bind(m_ep, a));
    m_ep->addr_locked = !a.any();
    m_ep->port_locked = a.port != 0;
    return {};
}

Result<void> InetSocket::Listen(int backlog) {
    if (!m_ep->tcp())
        return Error(EOPNOTSUPP);
    std::lock_guard lock(m_space->lock());
    if (m_ep->sock_state != InetEndpoint::SockState::kUnconnected ||
        (m_ep->state != InetEndpoint::State::kClosed && m_ep->state != InetEndpoint::State::kListen))
        return Error(EINVAL);
    if (m_ep->state == InetEndpoint::State::kClosed) {
        if (!m_ep->bound)
            TRY(Autobind(AnyAddr()));
        else
            TRY(m_space->CheckListen(*m_ep));
        m_ep->shutdown = 0;
        m_ep->error = 0;
    }
    // A negative backlog is a large unsigned one: capped at somaxconn.
    m_ep->max_backlog = static_cast<int>(std::min<unsigned>(static_cast<unsigned>(backlog), InetSpace::kSomaxconn));
    m_ep->state = InetEndpoint::State::kListen;
    // A larger backlog takes connectors that were waiting.
    while (!m_ep->syn_queue.empty() && m_ep->backlog.size() <= static_cast<size_t>(m_ep->max_backlog)) {
        auto c = m_ep->syn_queue.front().lock();
        m_ep->syn_queue.pop_front();
        if (c && !c->dead && c->state == InetEndpoint::State::kSynSent)
            EstablishStream(*m_space, m_ep, c);
    }
    return {};
}

Result<std::shared_ptr<fs::File>> InetSocket::Accept(bool nonblock, SockAddr* peer) {
    if (!m_ep->tcp())
        return Error(EOPNOTSUPP);
    std::unique_lock lock(m_space->lock());
    if (m_ep->state != InetEndpoint::State::kListen)
        return Error(EINVAL);
    auto deadline = m_ep->rcvtimeo ? std::optional(std::chrono::steady_clock::now() + *m_ep->rcvtimeo) : std::nullopt;
    while (m_ep->backlog.empty()) {
        TRY(Wait(lock, nonblocking(0), deadline, [&] {
            return !m_ep->backlog.empty() || m_ep->state != InetEndpoint::State::kListen;
        }));
        if (m_ep->state != InetEndpoint::State::kListen)
            return Error(EINVAL);
    }
    auto child = std::move(m_ep->backlog.front());
    m_ep->backlog.pop_front();
    // Room for one connector that waited for it.
    while (!m_ep->syn_queue.empty()) {
        auto c = m_ep->syn_queue.front().lock();
        m_ep->syn_queue.pop_front();
        if (c && !c->dead && c->state == InetEndpoint::State::kSynSent) {
            EstablishStream(*m_space, m_ep, c);
            break;
        }
    }
    child->sock_state = InetEndpoint::SockState::kConnected;
    if (peer)
        *peer = FormatInetAddr(m_ep->family, child->remote);
    lock.unlock();
    return std::shared_ptr<fs::File>(std::make_shared<InetSocket>(m_space, std::move(child), nonblock));
}

Result<void> InetSocket::Connect(const SockAddr& addr) {
    return m_ep->tcp() ? ConnectStream(addr) : ConnectDgram(addr);
}

Result<size_t> InetSocket::SendMsg(SendRequest& req) {
    return m_ep->tcp() ? SendStream(req) : SendDgram(req);
}

Result<RecvResult> InetSocket::RecvMsg(fs::IoDst& dst, int flags) {
    return m_ep->tcp() ? RecvStream(dst, flags) : RecvDgram(dst, flags);
}

Result<size_t> InetSocket::Read(fs::IoDst& dst) { return (TRY(RecvMsg(dst, 0))).bytes; }

Result<size_t> InetSocket::Write(fs::IoSrc& src) {
    SendRequest req;
    req.data = &src;
    return SendMsg(req);
}

Result<void> InetSocket::Shutdown(int how) {
    int mode = how + 1;  // SHUT_RD → kInetRcvShutdown, SHUT_WR → kInetSendShutdown
    InetGarbage garbage;
    std::lock_guard lock(m_space->lock());
    bool was_closed = m_ep->state == InetEndpoint::State::kClosed;
    if (m_ep->tcp())
        ShutdownStream(mode, garbage);
    else
        m_ep->shutdown |= mode;
    m_ep->Notify();
    // inet_shutdown: a closed socket still gets the bits (and wakes pollers), then ENOTCONN.
    if (was_closed)
        return Error(ENOTCONN);
    return {};
}

Result<SockAddr> InetSocket::GetName() {
    std::lock_guard lock(m_space->lock());
    // Linux reports inet_sport, which outlives the port's release (a listener shut down, a
    // refused connect); only a UDP disconnect clears it.
    return FormatInetAddr(m_ep->family, m_ep->local);
}

Result<SockAddr> InetSocket::GetPeerName() {
    std::lock_guard lock(m_space->lock());
    auto st = m_ep->state;
    if (m_ep->remote.port == 0 || st == InetEndpoint::State::kClosed || st == InetEndpoint::State::kSynSent ||
        st == InetEndpoint::State::kListen)
        return Error(ENOTCONN);
    return FormatInetAddr(m_ep->family, m_ep->remote);
}

Result<fs::InodeAttr> InetSocket::Stat() {
    return SocketInodeAttr(m_ep->ino);
}

// tcp_poll / inet_csk_listen_poll / udp_poll (datagram_poll).
uint32_t InetSocket::Readiness(uint32_t) {
    std::lock_guard lock(m_space->lock());
    const InetEndpoint& ep = *m_ep;
    uint32_t mask = 0;
    if (ep.tcp() && ep.state == InetEndpoint::State::kListen)
        return ep.backlog.empty() ? 0 : (POLLIN | POLLRDNORM);
    if (ep.error)
        mask |= POLLERR;
    if (ep.shutdown == kInetShutdownMask || (ep.tcp() && ep.state == InetEndpoint::State::kClosed))
        mask |= POLLHUP;
    if (ep.shutdown & kInetRcvShutdown)
        mask |= POLLIN | POLLRDNORM | POLLRDHUP;
    if (!ep.tcp()) {
        if (!ep.dq.empty())
            mask |= POLLIN | POLLRDNORM;
        return mask | POLLOUT | POLLWRNORM | POLLWRBAND;
    }
    if (ep.state == InetEndpoint::State::kSynSent)
        return mask;
    if (ep.rq_bytes > 0)
        mask |= POLLIN | POLLRDNORM;
    if ((ep.shutdown & kInetSendShutdown) || ep.StreamWritable())
        mask |= POLLOUT | POLLWRNORM;
    return mask;
}

Result<int64_t> InetSocket::BytesReadable() {
    std::lock_guard lock(m_space->lock());
    if (m_ep->tcp()) {
        if (m_ep->state == InetEndpoint::State::kListen)
            return Error(EINVAL);
        return static_cast<int64_t>(m_ep->rq_bytes);
    }
    return m_ep->dq.empty() ? 0 : static_cast<int64_t>(m_ep->dq.front().data.size());
}

Result<uint64_t> InetSocket::Ioctl(kernel::Task& task, uint32_t request, uint64_t arg) {
    if (request != SIOCOUTQ && request != SIOCOUTQNSD)
        return Socket::Ioctl(task, request, arg);
    {
        std::lock_guard lock(m_space->lock());
        if (m_ep->tcp() && m_ep->state == InetEndpoint::State::kListen)
            return Error(EINVAL);
    }
    // The loopback transport hands every byte to the peer at once: nothing is unsent or
    // unacknowledged (Linux's loopback acks as fast).
    TRY(task.mm().CopyOutObject(mm::UserAddr(arg), 0));
    return 0;
}

}  // namespace moat::net
