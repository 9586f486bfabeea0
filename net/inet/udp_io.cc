// UDP over loopback: Linux's udp_sendmsg / udpv6_sendmsg, __udp_enqueue_schedule_skb and
// udp_recvmsg. A datagram goes straight to the receive queue of the socket the demux picks;
// it is dropped (as Linux drops) when that queue's charge is over SO_RCVBUF, so a flood is
// bounded by the receiver's buffer. With nobody on the port, a connected sender gets
// ECONNREFUSED on its next call (the ICMP port-unreachable Linux reports to connected
// sockets).

#include "net/inet/inet_socket.h"

#include "fs/io.h"

#include <poll.h>

namespace moat::net {

namespace {

// What a queued datagram costs beyond its bytes (an skb's truesize overhead).
constexpr size_t kDgramOverhead = 768;
// The largest UDP payload over IPv4 (65535 - 20 - 8) and IPv6 (65535 - 8: the IPv6 payload
// length does not count the fixed header).
constexpr size_t kMaxUdp4 = 65507;
constexpr size_t kMaxUdp6 = 65527;

int TakeError(InetEndpoint& ep) {
    int e = ep.error;
    ep.error = 0;
    return e;
}

}  // namespace

Result<void> InetSocket::ConnectDgram(const SockAddr& addr) {
    if (addr.size() < sizeof(sa_family_t))
        return Error(EINVAL);
    InetEndpoint& ep = *m_ep;
    if (addr[0] == AF_UNSPEC && addr[1] == 0) {
        // __udp_disconnect: what connect chose is forgotten, what bind chose is kept.
        std::lock_guard lock(m_space->lock());
        ep.state = InetEndpoint::State::kClosed;
        ep.sock_state = InetEndpoint::SockState::kUnconnected;
        ep.remote = InetAddr{};
        if (!ep.addr_locked)
            ep.local.ip = AnyAddr().ip;
        if (!ep.port_locked) {
            m_space->Unbind(ep);
            ep.local.port = 0;
        }
        return {};
    }
    InetAddr dst = TRY(Destination(addr));
    std::lock_guard lock(m_space->lock());
    if (!ep.bound)
        TRY(Autobind(AnyAddr()));
    if (!ep.addr_locked)
        ep.local.ip = SourceFor(dst).ip;
    ep.remote = dst;
    ep.state = InetEndpoint::State::kEstablished;
    ep.sock_state = InetEndpoint::SockState::kConnected;
    return {};
}

Result<size_t> InetSocket::SendDgram(SendRequest& req) {
    InetEndpoint& ep = *m_ep;
    // udpv6_sendmsg does not check MSG_OOB; udp_sendmsg refuses it.
    if ((req.flags & MSG_OOB) && ep.family == AF_INET)
        return Error(EOPNOTSUPP);
    size_t len = req.data->remaining();
    if (len > 0xffff)
        return Error(EMSGSIZE);
    std::optional<InetAddr> dst;
    if (req.to) {
        dst = TRY(Destination(*req.to));
        if (dst->port == 0)
            return Error(EINVAL);
    }
    {
        std::lock_guard lock(m_space->lock());
        if (!dst) {
            if (ep.state != InetEndpoint::State::kEstablished)
                return Error(EDESTADDRREQ);
            dst = ep.remote;
        }
    }
    if (len > (dst->mapped() ? kMaxUdp4 : kMaxUdp6))
        return Error(EMSGSIZE);
    std::vector<uint8_t> data(len);
    if (len > 0) {
        size_t took = TRY(req.data->Take(data));
        if (took < len)
            return Error(EFAULT);
    }
    InetGarbage garbage;
    std::lock_guard lock(m_space->lock());
    // sock_alloc_send_pskb: a pending error first, then SEND_SHUTDOWN.
    if (ep.error)
        return Error(TakeError(ep));
    if (ep.shutdown & kInetSendShutdown)
        return Error(EPIPE);
    if (!ep.bound)
        TRY(Autobind(AnyAddr()));
    InetAddr src = SourceFor(*dst);
    src.port = ep.local.port;
    auto receiver = m_space->FindUdp(*dst, src);
    if (!receiver) {
        if (ep.state == InetEndpoint::State::kEstablished) {
            ep.error = ECONNREFUSED;
            ep.Notify(POLLERR);
        }
        return len;
    }
    size_t charge = len + kDgramOverhead;
    if (receiver->rmem > static_cast<size_t>(receiver->rcvbuf))
        return len;  // dropped, as Linux drops on a full receive buffer
    receiver->dq.push_back(InetDatagram{std::move(data), src, charge});
    receiver->rmem += charge;
    receiver->Notify(POLLIN | POLLRDNORM);
    return len;
}

Result<RecvResult> InetSocket::RecvDgram(fs::IoDst& dst, int flags) {
    if (flags & MSG_ERRQUEUE)
        return Error(EAGAIN);
    InetEndpoint& ep = *m_ep;
    bool nonblock = nonblocking(flags);
    RecvResult result;
    InetGarbage garbage;
    std::unique_lock lock(m_space->lock());
    auto deadline = ep.rcvtimeo ? std::optional(std::chrono::steady_clock::now() + *ep.rcvtimeo) : std::nullopt;
    for (;;) {
        if (ep.error)
            return Error(TakeError(ep));
        if (!ep.dq.empty())
            break;
        // __skb_wait_for_more_packets stops on RCV_SHUTDOWN; the receive is then EAGAIN.
        if (ep.shutdown & kInetRcvShutdown)
            return Error(EAGAIN);
        TRY(Wait(lock, nonblock, deadline,
                 [&] { return !ep.dq.empty() || ep.error || (ep.shutdown & kInetRcvShutdown); }));
    }
    InetDatagram& msg = ep.dq.front();
    size_t size = msg.data.size();
    size_t n = std::min(size, dst.remaining());
    Result<size_t> put = size_t{0};
    if (n > 0)
        put = dst.Put(std::span<const uint8_t>(msg.data.data(), n));
    if (size > n)
        result.msg_flags |= MSG_TRUNC;
    result.from = FormatInetAddr(ep.family, msg.from);
    if (!(flags & MSG_PEEK)) {
        // Dequeued before the copy: a datagram that faulted is lost, as in udp_recvmsg.
        ep.rmem -= msg.charge;
        garbage.datagrams.push_back(std::move(msg));
        ep.dq.pop_front();
    }
    if (!put.ok())
        return Error(put.error());
    result.bytes = (flags & MSG_TRUNC) ? size : *put;
    return result;
}

}  // namespace moat::net
