// The loopback TCP transport: a connection is two InetEndpoints pointing at each other, and
// a write appends to the peer's receive queue, so the handshake, FIN and RST are immediate
// state changes. Only this file knows that; the socket layer (inet_socket.cc) and the demux
// (InetSpace) would stay as they are under a packet-level TCP (see net/README.md).
//
// Linux behaviour kept: a nonblocking connect answers EINPROGRESS even when it is already
// established; a full accept queue leaves connectors in SYN_SENT until accept makes room;
// close with unread data or SO_LINGER {1, 0} resets the peer (ECONNRESET), otherwise the
// peer reads EOF, and its next write to the closed end is taken but answered with a reset
// (EPIPE from then on).

#include "net/inet/inet_socket.h"

#include "fs/io.h"

#include <poll.h>

#include <algorithm>

namespace moat::net {

namespace {

constexpr size_t kStreamChunk = 64 * 1024;
constexpr auto kSynTimeout = std::chrono::seconds(127);

std::optional<std::chrono::steady_clock::time_point> DeadlineOf(const std::optional<std::chrono::nanoseconds>& t) {
    if (!t)
        return std::nullopt;
    return std::chrono::steady_clock::now() + *t;
}

int TakeError(InetEndpoint& ep) {
    int e = ep.error;
    ep.error = 0;
    return e;
}

void DropPeer(InetEndpoint& ep, InetGarbage& garbage) {
    if (ep.peer)
        garbage.endpoints.push_back(std::move(ep.peer));
    ep.peer.reset();
}

// The end of a connection that failed or was refused: the port goes back unless bind()
// chose it (tcp_set_state(TCP_CLOSE)).
void CloseEndpoint(InetSpace& space, InetEndpoint& ep) {
    ep.state = InetEndpoint::State::kClosed;
    if (!ep.port_locked)
        space.Unbind(ep);
}

// Resets every connection a listener holds: accepted-queue children reset their clients,
// connectors still waiting are refused.
void AbortListener(InetSpace& space, InetEndpoint& ep, InetGarbage& garbage) {
    for (auto& child : ep.backlog) {
        if (child->peer) {
            ResetStream(*child->peer, ECONNRESET);
            CloseEndpoint(space, *child->peer);
            DropPeer(*child->peer, garbage);
        }
        DropPeer(*child, garbage);
        child->dead = true;
        space.Unregister(*child);
        garbage.endpoints.push_back(std::move(child));
    }
    ep.backlog.clear();
    for (auto& weak : ep.syn_queue) {
        if (auto c = weak.lock(); c && c->state == InetEndpoint::State::kSynSent) {
            ResetStream(*c, ECONNREFUSED);
            CloseEndpoint(space, *c);
        }
    }
    ep.syn_queue.clear();
}

// A connector that gives up (closed, shut down) leaves the listener's queue, so that queue
// holds only live connectors.
void LeaveSynQueue(InetEndpoint& ep) {
    auto listener = ep.listener.lock();
    ep.listener.reset();
    if (!listener)
        return;
    auto& q = listener->syn_queue;
    std::erase_if(q, [&](const std::weak_ptr<InetEndpoint>& w) {
        auto c = w.lock();
        return !c || c.get() == &ep;
    });
}

}  // namespace

void ResetStream(InetEndpoint& ep, int err) {
    ep.error = err;
    ep.shutdown = kInetShutdownMask;
    ep.state = InetEndpoint::State::kClosed;
    ep.Notify();
}

void EstablishStream(InetSpace& space, const std::shared_ptr<InetEndpoint>& listener,
                     const std::shared_ptr<InetEndpoint>& connector) {
    auto child = std::make_shared<InetEndpoint>(listener->family, SOCK_STREAM, space.NextIno());
    child->state = InetEndpoint::State::kEstablished;
    child->local = connector->remote;
    child->remote = connector->local;
    child->uid = listener->uid;
    child->sndbuf = listener->sndbuf;
    child->rcvbuf = listener->rcvbuf;
    child->reuseaddr = listener->reuseaddr;
    child->reuseport = listener->reuseport;
    child->keepalive = listener->keepalive;
    child->nodelay = listener->nodelay;
    child->linger_onoff = listener->linger_onoff;
    child->linger_secs = listener->linger_secs;
    child->keepidle = listener->keepidle;
    child->keepintvl = listener->keepintvl;
    child->keepcnt = listener->keepcnt;
    child->user_mss = listener->user_mss;
    child->tos = listener->tos;
    child->ttl = listener->ttl;
    child->v6only = listener->v6only;
    child->port_locked = true;
    child->addr_locked = true;
    space.Register(child);
    space.BindInherited(child);
    child->peer = connector;
    connector->peer = child;
    connector->state = InetEndpoint::State::kEstablished;
    connector->listener.reset();
    listener->backlog.push_back(std::move(child));
    listener->Notify(POLLIN | POLLRDNORM);
    connector->Notify(POLLOUT | POLLWRNORM);
}

Result<void> InetSocket::ConnectStream(const SockAddr& addr) {
    if (addr.size() < sizeof(sa_family_t))
        return Error(EINVAL);
    InetGarbage garbage;
    std::unique_lock lock(m_space->lock());
    InetEndpoint& ep = *m_ep;
    if (addr[0] == AF_UNSPEC && addr[1] == 0) {
        // tcp_disconnect: an established connection is aborted (the peer is reset).
        if (ep.peer && ep.state == InetEndpoint::State::kEstablished) {
            ResetStream(*ep.peer, ECONNRESET);
            DropPeer(*ep.peer, garbage);
            DropPeer(ep, garbage);
        }
        if (ep.state == InetEndpoint::State::kListen)
            AbortListener(*m_space, ep, garbage);
        if (ep.state == InetEndpoint::State::kSynSent)
            LeaveSynQueue(ep);
        CloseEndpoint(*m_space, ep);
        ep.sock_state = InetEndpoint::SockState::kUnconnected;
        ep.shutdown = 0;
        return {};
    }
    bool nonblock = nonblocking(0);
    switch (ep.sock_state) {
    case InetEndpoint::SockState::kConnected: return Error(EISCONN);
    case InetEndpoint::SockState::kConnecting:
        if (ep.state == InetEndpoint::State::kSynSent && nonblock)
            return Error(EALREADY);
        break;
    case InetEndpoint::SockState::kUnconnected: {
        if (ep.state != InetEndpoint::State::kClosed)
            return Error(EISCONN);
        InetAddr dst = TRY(Destination(addr));
        InetAddr src = SourceFor(dst);
        if (!ep.bound) {
            auto bound = m_space->Bind(m_ep, src);
            if (!bound.ok())
                return Error(EADDRNOTAVAIL);
        } else if (!ep.addr_locked) {
            ep.local.ip = src.ip;
        }
        ep.remote = dst;
        ep.error = 0;
        ep.shutdown = 0;
        ep.done = false;
        ep.state = InetEndpoint::State::kSynSent;
        ep.sock_state = InetEndpoint::SockState::kConnecting;
        auto listener = m_space->FindListener(dst, ep.local);
        if (!listener) {
            ResetStream(ep, ECONNREFUSED);
            CloseEndpoint(*m_space, ep);
        } else if (listener->backlog.size() > static_cast<size_t>(listener->max_backlog)) {
            listener->syn_queue.push_back(m_ep);
            ep.listener = listener;
        } else {
            EstablishStream(*m_space, listener, m_ep);
        }
        if (nonblock)
            return Error(EINPROGRESS);
        break;
    }
    }
    if (ep.state == InetEndpoint::State::kSynSent) {
        // Linux gives up after tcp_syn_retries (6) retransmissions: 1 + 2 + … + 64 s.
        auto syn_deadline = std::chrono::steady_clock::now() + kSynTimeout;
        auto deadline = DeadlineOf(ep.sndtimeo);
        bool syn_limit = !deadline || syn_deadline < *deadline;
        auto waited = Wait(lock, false, syn_limit ? syn_deadline : *deadline,
                           [&] { return ep.state != InetEndpoint::State::kSynSent; });
        if (!waited.ok() && waited.error() == EAGAIN && syn_limit && ep.state == InetEndpoint::State::kSynSent) {
            LeaveSynQueue(ep);
            ResetStream(ep, ETIMEDOUT);
            CloseEndpoint(*m_space, ep);
        } else if (!waited.ok()) {
            if (waited.error() == EINTR && !ep.sndtimeo)
                return Error(ERESTARTSYS);  // the SYN limit is not a user timeout: restart
            return Error(waited.error() == EAGAIN ? EINPROGRESS : waited.error());
        }
    }
    if (ep.state == InetEndpoint::State::kClosed) {
        int e = TakeError(ep);
        ep.sock_state = InetEndpoint::SockState::kUnconnected;
        ep.shutdown = 0;
        if (!ep.addr_locked)
            ep.local.ip = AnyAddr().ip;
        return Error(e ? e : ECONNABORTED);
    }
    ep.sock_state = InetEndpoint::SockState::kConnected;
    return {};
}

void InetSocket::ShutdownStream(int mode, InetGarbage& garbage) {
    InetEndpoint& ep = *m_ep;
    switch (ep.state) {
    case InetEndpoint::State::kListen:
        if (mode & kInetRcvShutdown) {
            AbortListener(*m_space, ep, garbage);
            CloseEndpoint(*m_space, ep);
        }
        return;
    case InetEndpoint::State::kSynSent:
        LeaveSynQueue(ep);
        CloseEndpoint(*m_space, ep);
        ep.sock_state = InetEndpoint::SockState::kUnconnected;
        return;
    case InetEndpoint::State::kClosed: ep.shutdown |= mode; return;
    case InetEndpoint::State::kEstablished: break;
    }
    bool had_fin = ep.shutdown & kInetSendShutdown;
    ep.shutdown |= mode;
    if ((mode & kInetSendShutdown) && !had_fin && ep.peer) {
        ep.peer->shutdown |= kInetRcvShutdown;
        ep.peer->done = true;
        ep.peer->Notify(POLLIN | POLLRDNORM | POLLRDHUP);
    }
}

void InetSocket::ReleaseStream(InetGarbage& garbage) {
    InetEndpoint& ep = *m_ep;
    if (ep.state == InetEndpoint::State::kListen)
        AbortListener(*m_space, ep, garbage);
    if (ep.state == InetEndpoint::State::kSynSent)
        LeaveSynQueue(ep);
    if (auto peer = ep.peer) {
        bool abort = ep.rq_bytes > 0 || (ep.linger_onoff && ep.linger_secs == 0);
        if (abort && peer->state == InetEndpoint::State::kEstablished) {
            ResetStream(*peer, ECONNRESET);
            DropPeer(*peer, garbage);
        } else if (!(ep.shutdown & kInetSendShutdown)) {
            peer->shutdown |= kInetRcvShutdown;
            peer->done = true;
            peer->Notify(POLLIN | POLLRDNORM | POLLRDHUP);
        }
        DropPeer(ep, garbage);
    }
    garbage.chunks = std::move(ep.rq);
    ep.rq.clear();
    ep.rq_bytes = 0;
}

Result<size_t> InetSocket::SendStream(SendRequest& req) {
    // FIXME(#6): urgent data is not modelled; Linux would send it.
    if (req.flags & MSG_OOB)
        return Error(EOPNOTSUPP);
    size_t total = std::min(req.data->remaining(), fs::kMaxRwCount);
    bool nonblock = nonblocking(req.flags);
    auto deadline = DeadlineOf(m_ep->sndtimeo);
    size_t sent = 0;
    InetEndpoint& ep = *m_ep;
    do {
        size_t want = std::min(total - sent, kStreamChunk);
        std::vector<uint8_t> data(want);
        if (want > 0) {
            auto took = req.data->Take(data);
            if (!took.ok())
                return sent ? Result<size_t>(sent) : Error(took.error());
            data.resize(*took);
        }
        bool short_source = data.size() < want;
        InetGarbage garbage;
        std::unique_lock lock(m_space->lock());
        for (;;) {
            // sk_stream_wait_connect, then the error / SEND_SHUTDOWN check.
            if (ep.state != InetEndpoint::State::kEstablished) {
                if (ep.error)
                    return sent ? Result<size_t>(sent) : Error(TakeError(ep));
                if (ep.state != InetEndpoint::State::kSynSent)
                    return sent ? Result<size_t>(sent) : Error(EPIPE);
            } else if (ep.error || (ep.shutdown & kInetSendShutdown) || !ep.peer) {
                return sent ? Result<size_t>(sent) : Error(EPIPE);
            } else if (ep.peer->dead) {
                // The peer's file is gone: it answers these bytes with a reset.
                ResetStream(ep, EPIPE);
                DropPeer(ep, garbage);
                return sent + data.size();
            } else if (ep.StreamWritable()) {
                break;
            }
            auto waited = Wait(lock, nonblock, deadline, [&] {
                return ep.state != InetEndpoint::State::kSynSent &&
                       (ep.state != InetEndpoint::State::kEstablished || ep.error ||
                        (ep.shutdown & kInetSendShutdown) || !ep.peer || ep.peer->dead || ep.StreamWritable());
            });
            if (!waited.ok())
                return sent ? Result<size_t>(sent) : Error(waited.error());
        }
        size_t n = data.size();
        if (n > 0) {
            ep.peer->rq.push_back(InetChunk{std::move(data), 0});
            ep.peer->rq_bytes += n;
            ep.peer->Notify(POLLIN | POLLRDNORM);
        }
        sent += n;
        if (short_source)
            break;
    } while (sent < total);
    return sent;
}

Result<RecvResult> InetSocket::RecvStream(fs::IoDst& dst, int flags) {
    if (flags & MSG_ERRQUEUE)
        return Error(EAGAIN);
    bool peek = flags & MSG_PEEK;
    bool discard = flags & MSG_TRUNC;
    size_t want = dst.remaining();
    size_t target = (flags & MSG_WAITALL) ? std::max<size_t>(want, 1) : 1;
    bool nonblock = nonblocking(flags);
    RecvResult result;
    size_t copied = 0;
    InetEndpoint& ep = *m_ep;
    InetGarbage garbage;
    std::unique_lock lock(m_space->lock());
    if (ep.state == InetEndpoint::State::kListen)
        return Error(ENOTCONN);
    // tcp_recv_urg: no urgent data is ever pending.
    if (flags & MSG_OOB)
        return Error(EINVAL);
    auto deadline = DeadlineOf(ep.rcvtimeo);
    size_t peeked = 0;  // bytes of the queue a peek has already passed
    while (copied < want) {
        if (ep.rq_bytes > peeked) {
            size_t skip = peek ? peeked : 0;
            bool faulted = false;
            for (auto it = ep.rq.begin(); it != ep.rq.end() && copied < want && !faulted;) {
                size_t avail = it->unread();
                if (skip >= avail) {
                    skip -= avail;
                    ++it;
                    continue;
                }
                size_t off = it->consumed + skip;
                size_t n = std::min(it->data.size() - off, want - copied);
                skip = 0;
                if (!discard) {
                    auto put = dst.Put(std::span<const uint8_t>(it->data.data() + off, n));
                    if (!put.ok()) {
                        if (!copied)
                            return Error(put.error());
                        faulted = true;
                        break;
                    }
                    faulted = *put < n;
                    n = *put;
                }
                copied += n;
                if (peek) {
                    peeked += n;
                    ++it;
                    continue;
                }
                it->consumed += n;
                ep.rq_bytes -= n;
                if (it->unread() == 0) {
                    garbage.chunks.push_back(std::move(*it));
                    it = ep.rq.erase(it);
                }
            }
            if (!peek && ep.peer)
                ep.peer->Notify(POLLOUT | POLLWRNORM);
            if (faulted)
                break;
            continue;
        }
        if (copied >= target || (peek && copied > 0))
            break;
        if (copied == 0) {
            if (ep.done)
                break;
            if (ep.error)
                return Error(TakeError(ep));
            if (ep.shutdown & kInetRcvShutdown)
                break;
            if (ep.state == InetEndpoint::State::kClosed)
                return Error(ENOTCONN);
        } else if (ep.error || ep.done || (ep.shutdown & kInetRcvShutdown) ||
                   ep.state == InetEndpoint::State::kClosed) {
            break;
        }
        auto waited = Wait(lock, nonblock, deadline, [&] {
            return ep.rq_bytes > peeked || ep.error || ep.done || (ep.shutdown & kInetRcvShutdown) ||
                   ep.state == InetEndpoint::State::kClosed;
        });
        if (!waited.ok()) {
            if (copied)
                break;
            return Error(waited.error());
        }
    }
    result.bytes = copied;
    return result;
}

}  // namespace moat::net
