#include "net/host/host_socket.h"

#include "fs/events/file_waiter.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cstring>
#include <vector>

namespace moat::net {

namespace {

constexpr size_t kChunk = 64 * 1024;
// The most one datagram may carry (IP's 64 KiB limit, with room for the headers' slack).
constexpr size_t kMaxDatagram = 65536;
// Ports below net.ipv4.ip_unprivileged_port_start are the host's privileged ones: the
// sandbox holds no capability on the host, whatever the sentry runs as.
constexpr uint16_t kUnprivilegedPortStart = 1024;

Error HostError() { return errno == EINTR ? Error(ERESTARTSYS) : HostErrno(); }

uint64_t NextIno() {
    kernel::Task* task = kernel::Task::Current();
    return task ? task->kernel().NextAnonInode() : 0;
}

}  // namespace

Result<std::shared_ptr<HostSocket>> HostSocket::Create(std::shared_ptr<HostPoller> poller, int family, int type,
                                                       int protocol, uint64_t ino, bool nonblock) {
    // Raw sockets need CAP_NET_RAW on the host, which the sandbox never has.
    if (type == SOCK_RAW)
        return Error(EPERM);
    int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0)
        return HostErrno();
    return std::make_shared<HostSocket>(std::move(poller), UniqueFd(fd), family, type, protocol, ino, nonblock);
}

HostSocket::HostSocket(std::shared_ptr<HostPoller> poller, UniqueFd fd, int family, int type, int protocol,
                       uint64_t ino, bool nonblock)
    : Socket(O_RDWR | (nonblock ? O_NONBLOCK : 0)), m_poller(std::move(poller)), m_fd(std::move(fd)),
      m_family(family), m_type(type), m_protocol(protocol), m_ino(ino) {
    m_poller->Watch(m_fd.get(), m_events);
}

HostSocket::~HostSocket() { m_poller->Unwatch(m_fd.get()); }

Result<void> HostSocket::WaitFor(short events, bool nonblock, const std::optional<std::chrono::nanoseconds>& timeout) {
    short done = events | POLLHUP | POLLERR;
    auto ready = [&] {
        pollfd p{m_fd.get(), events, 0};
        return ::poll(&p, 1, 0) > 0 && (p.revents & done);
    };
    if (ready())
        return {};
    kernel::Task* task = kernel::Task::Current();
    if (nonblock || !task)
        return Error(EAGAIN);
    fs::FileWaiter waiter(*task);
    waiter.Watch(m_events);
    fs::Deadline deadline;
    if (timeout)
        deadline = std::chrono::steady_clock::now() + *timeout;
    auto r = waiter.Wait(ready, deadline);
    if (!r.ok()) {
        if (r.error() == ETIMEDOUT)
            return Error(EAGAIN);
        if (r.error() == ERESTARTSYS && timeout)
            return Error(EINTR);
        return r;
    }
    return {};
}

// An address the app passed (EINVAL when shorter than a family); binding a privileged port is
// refused (EACCES) as for an unprivileged process. Connecting to one is of course fine.
Result<void> HostSocket::CheckAddr(const SockAddr& addr, bool for_bind) const {
    if (addr.size() < sizeof(sa_family_t))
        return Error(EINVAL);
    if (!for_bind)
        return {};
    sa_family_t family;
    memcpy(&family, addr.data(), sizeof(family));
    if (family == AF_INET && addr.size() >= sizeof(sockaddr_in)) {
        sockaddr_in sin;
        memcpy(&sin, addr.data(), sizeof(sin));
        if (ntohs(sin.sin_port) != 0 && ntohs(sin.sin_port) < kUnprivilegedPortStart)
            return Error(EACCES);
    } else if (family == AF_INET6 && addr.size() >= sizeof(sockaddr_in6)) {
        sockaddr_in6 sin6;
        memcpy(&sin6, addr.data(), sizeof(sin6));
        if (ntohs(sin6.sin6_port) != 0 && ntohs(sin6.sin6_port) < kUnprivilegedPortStart)
            return Error(EACCES);
    }
    return {};
}

Result<void> HostSocket::Bind(const SockAddr& addr) {
    TRY(CheckAddr(addr, true));
    if (::bind(m_fd.get(), reinterpret_cast<const sockaddr*>(addr.data()), static_cast<socklen_t>(addr.size())) < 0)
        return HostErrno();
    return {};
}

Result<void> HostSocket::Listen(int backlog) {
    if (::listen(m_fd.get(), backlog) < 0)
        return HostErrno();
    return {};
}

Result<std::shared_ptr<fs::File>> HostSocket::Accept(bool nonblock, SockAddr* peer) {
    for (;;) {
        sockaddr_storage ss{};
        socklen_t len = sizeof(ss);
        int fd = ::accept4(m_fd.get(), reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            if (peer)
                *peer = SockAddr(reinterpret_cast<const char*>(&ss), len);
            auto sock = std::make_shared<HostSocket>(m_poller, UniqueFd(fd), m_family, m_type, m_protocol, NextIno(),
                                                     nonblock);
            return std::shared_ptr<fs::File>(std::move(sock));
        }
        if (errno != EAGAIN)
            return HostError();
        std::optional<std::chrono::nanoseconds> timeout;
        {
            std::lock_guard lock(m_lock);
            timeout = m_rcvtimeo;
        }
        TRY(WaitFor(POLLIN, nonblocking(0), timeout));
    }
}

Result<void> HostSocket::Connect(const SockAddr& addr) {
    TRY(CheckAddr(addr, false));
    if (::connect(m_fd.get(), reinterpret_cast<const sockaddr*>(addr.data()), static_cast<socklen_t>(addr.size())) == 0)
        return {};
    // EALREADY: a connect restarted after a signal; a blocking one waits again, as Linux's
    // __inet_stream_connect does for a socket still connecting.
    int err = errno;
    if (err != EINPROGRESS && !(err == EALREADY && !nonblocking(0)))
        return HostError();
    if (nonblocking(0))
        return Error(EINPROGRESS);
    std::optional<std::chrono::nanoseconds> timeout;
    {
        std::lock_guard lock(m_lock);
        timeout = m_sndtimeo;
    }
    auto waited = WaitFor(POLLOUT, false, timeout);
    if (!waited.ok())
        return waited.error() == EAGAIN ? Error(EINPROGRESS) : waited;
    err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(m_fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return HostErrno();
    if (err)
        return Error(err);
    return {};
}

Result<void> HostSocket::Shutdown(int how) {
    if (::shutdown(m_fd.get(), how) < 0)
        return HostErrno();
    return {};
}

Result<SockAddr> HostSocket::GetName() {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (::getsockname(m_fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) < 0)
        return HostErrno();
    return SockAddr(reinterpret_cast<const char*>(&ss), len);
}

Result<SockAddr> HostSocket::GetPeerName() {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (::getpeername(m_fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) < 0)
        return HostErrno();
    return SockAddr(reinterpret_cast<const char*>(&ss), len);
}

Result<size_t> HostSocket::SendMsg(SendRequest& req) {
    if (req.to && !req.to->empty())
        TRY(CheckAddr(*req.to, false));
    if (!req.rights.empty())
        return Error(EINVAL);  // SCM_RIGHTS is for unix sockets
    const sockaddr* to = req.to && !req.to->empty() ? reinterpret_cast<const sockaddr*>(req.to->data()) : nullptr;
    socklen_t to_len = to ? static_cast<socklen_t>(req.to->size()) : 0;
    int host_flags = MSG_DONTWAIT | MSG_NOSIGNAL | (req.flags & (MSG_MORE | MSG_OOB | MSG_EOR));
    bool nonblock = nonblocking(req.flags);
    std::optional<std::chrono::nanoseconds> timeout;
    {
        std::lock_guard lock(m_lock);
        timeout = m_sndtimeo;
    }
    size_t total = req.data ? req.data->remaining() : 0;
    bool stream = m_type == SOCK_STREAM;
    if (!stream && total > kMaxDatagram)
        return Error(EMSGSIZE);
    size_t sent = 0;
    std::vector<uint8_t> buf;
    do {
        size_t n = stream ? std::min(total - sent, kChunk) : total;
        buf.resize(n);
        size_t took = n ? TRY(req.data->Take(buf)) : 0;
        if (took < n && sent + took == 0)
            return Error(EFAULT);
        size_t off = 0;
        for (;;) {
            ssize_t r = ::sendto(m_fd.get(), buf.data() + off, took - off, host_flags, to, to_len);
            if (r >= 0) {
                off += static_cast<size_t>(r);
                if (off >= took)
                    break;
                continue;
            }
            if (errno != EAGAIN) {
                if (sent + off > 0)
                    return sent + off;
                return HostError();
            }
            auto w = WaitFor(POLLOUT, nonblock, timeout);
            if (!w.ok()) {
                if (sent + off > 0)
                    return sent + off;
                return w.error();
            }
        }
        sent += off;
        if (took < n)
            break;  // a fault part-way: what was sent counts
    } while (stream && sent < total);
    return sent;
}

Result<RecvResult> HostSocket::RecvMsg(fs::IoDst& dst, int flags) {
    // The host's error queue is not relayed: it reads as empty.
    if (flags & MSG_ERRQUEUE)
        return Error(EAGAIN);
    bool stream = m_type == SOCK_STREAM;
    bool nonblock = nonblocking(flags);
    std::optional<std::chrono::nanoseconds> timeout;
    {
        std::lock_guard lock(m_lock);
        timeout = m_rcvtimeo;
    }
    RecvResult result;
    size_t want = dst.remaining();
    bool waitall = stream && (flags & MSG_WAITALL) && !(flags & MSG_PEEK);
    int host_flags = MSG_DONTWAIT | (flags & (MSG_PEEK | MSG_TRUNC | MSG_OOB));
    std::vector<uint8_t> buf(std::min(std::max<size_t>(want, 1), stream ? kChunk : kMaxDatagram));
    size_t got = 0;
    for (;;) {
        sockaddr_storage ss{};
        iovec iov{buf.data(), std::min(buf.size(), want - got)};
        msghdr m{};
        m.msg_name = &ss;
        m.msg_namelen = sizeof(ss);
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        ssize_t r = ::recvmsg(m_fd.get(), &m, host_flags);
        if (r < 0) {
            if (errno != EAGAIN || got > 0)
                return got > 0 ? (result.bytes = got, Result<RecvResult>(result)) : Result<RecvResult>(HostError());
            TRY(WaitFor(POLLIN, nonblock, timeout));
            continue;
        }
        size_t n = std::min(static_cast<size_t>(r), iov.iov_len);
        if (n > 0) {
            size_t put = TRY(dst.Put(std::span<const uint8_t>(buf.data(), n)));
            got += put;
        }
        if (!stream) {
            result.msg_flags = m.msg_flags & (MSG_TRUNC | MSG_CTRUNC);
            if (m.msg_namelen > 0)
                result.from = SockAddr(reinterpret_cast<const char*>(&ss), m.msg_namelen);
            result.bytes = (flags & MSG_TRUNC) ? static_cast<size_t>(r) : got;
            return result;
        }
        if (!waitall || r == 0 || got >= want) {
            result.bytes = got;
            return result;
        }
    }
}

Result<size_t> HostSocket::Read(fs::IoDst& dst) { return (TRY(RecvMsg(dst, 0))).bytes; }

Result<size_t> HostSocket::Write(fs::IoSrc& src) {
    SendRequest req;
    req.data = &src;
    return SendMsg(req);
}

Result<int64_t> HostSocket::BytesReadable() {
    int n = 0;
    if (::ioctl(m_fd.get(), FIONREAD, &n) < 0)
        return HostErrno();
    return n;
}

uint32_t HostSocket::Readiness(uint32_t) {
    pollfd p{m_fd.get(), POLLIN | POLLOUT | POLLPRI | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) < 0)
        return 0;
    uint32_t ready = static_cast<uint16_t>(p.revents);
    if (ready & POLLIN)
        ready |= POLLRDNORM;
    if (ready & POLLOUT)
        ready |= POLLWRNORM;
    return ready;
}

Result<fs::InodeAttr> HostSocket::Stat() {
    return SocketInodeAttr(m_ino);
}

}  // namespace moat::net
