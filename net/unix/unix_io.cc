// Sending and receiving on unix sockets: Linux's unix_stream_sendmsg,
// unix_stream_read_generic, unix_dgram_sendmsg and unix_dgram_recvmsg.
//
// Bounds: every queued message is charged (its size plus kMessageOverhead) to its sender's
// send buffer until it is read, and a sender waits while its charge reaches SO_SNDBUF; an
// unconnected datagram receiver also holds at most kMaxDgramQueue messages. So a flood is
// bounded by buffer sizes, never by sentry memory. App data is copied in before the space
// lock is taken and copied out under it (so that a fault leaves a stream's bytes queued).

#include "net/unix/unix_socket.h"

#include "fs/io.h"

#include <poll.h>

#include <algorithm>

namespace moat::net {

namespace {

// What a queued message costs beyond its bytes (Linux charges an skb's truesize).
constexpr size_t kMessageOverhead = 512;
// The largest piece of a stream write queued as one message.
constexpr size_t kStreamChunk = 64 * 1024;

std::optional<std::chrono::steady_clock::time_point> DeadlineOf(const std::optional<std::chrono::nanoseconds>& t) {
    if (!t)
        return std::nullopt;
    return std::chrono::steady_clock::now() + *t;
}

// Copies `n` bytes from `src` into a new buffer: EFAULT if nothing could be read, a short
// buffer after a fault part-way.
Result<std::vector<uint8_t>> TakeBytes(fs::IoSrc& src, size_t n) {
    std::vector<uint8_t> buf(n);
    if (n == 0)
        return buf;
    size_t took = TRY(src.Take(buf));
    buf.resize(took);
    return buf;
}

bool SameCreds(const Ucred& a, const Ucred& b) { return a.pid == b.pid && a.uid == b.uid && a.gid == b.gid; }

}  // namespace

Result<size_t> UnixSocket::Read(fs::IoDst& dst) { return (TRY(RecvMsg(dst, 0))).bytes; }

Result<size_t> UnixSocket::Write(fs::IoSrc& src) {
    SendRequest req;
    req.data = &src;
    return SendMsg(req);
}

Result<size_t> UnixSocket::SendMsg(SendRequest& req) {
    if (req.flags & MSG_OOB)
        return Error(EOPNOTSUPP);
    return m_ep->type == SOCK_STREAM ? SendStream(req) : SendDgram(req);
}

Result<RecvResult> UnixSocket::RecvMsg(fs::IoDst& dst, int flags) {
    if (flags & MSG_OOB)
        return Error(EOPNOTSUPP);
    return m_ep->type == SOCK_STREAM ? RecvStream(dst, flags) : RecvDgram(dst, flags);
}

Result<size_t> UnixSocket::SendStream(SendRequest& req) {
    {
        std::lock_guard lock(m_space->lock());
        if (req.to)
            return Error(m_ep->state == UnixEndpoint::State::kConnected ? EISCONN : EOPNOTSUPP);
        if (!m_ep->peer)
            return Error(ENOTCONN);
    }
    size_t total = std::min(req.data->remaining(), fs::kMaxRwCount);
    Ucred creds = req.creds ? *req.creds : CurrentCreds();
    bool nonblock = nonblocking(req.flags);
    size_t sent = 0;
    auto deadline = DeadlineOf(m_ep->sndtimeo);
    while (sent < total) {
        size_t chunk_max;
        {
            std::lock_guard lock(m_space->lock());
            chunk_max = std::max<size_t>(static_cast<size_t>(m_ep->sndbuf) / 2 - 64, 1);
        }
        auto data = TakeBytes(*req.data, std::min({total - sent, chunk_max, kStreamChunk}));
        if (!data.ok())
            return sent ? Result<size_t>(sent) : Error(data.error());
        size_t n = data->size();
        // Linux's unix_stream_sendmsg copies each skb whole or drops it: a chunk the source
        // faulted in part-way is not sent.
        if (n < std::min({total - sent, chunk_max, kStreamChunk}))
            return sent ? Result<size_t>(sent) : Error(EFAULT);
        UnixGarbage garbage;
        std::unique_lock lock(m_space->lock());
        for (;;) {
            if (m_ep->shutdown & kSendShutdown)
                return sent ? Result<size_t>(sent) : Error(EPIPE);
            auto peer = m_ep->peer;
            if (!peer)
                return sent ? Result<size_t>(sent) : Error(ENOTCONN);
            if (peer->dead || (peer->shutdown & kRcvShutdown))
                return sent ? Result<size_t>(sent) : Error(EPIPE);
            if (m_ep->wmem < static_cast<size_t>(m_ep->sndbuf))
                break;
            auto waited = Wait(lock, m_ep->waiters, nonblock, deadline, [&] {
                return m_ep->wmem < static_cast<size_t>(m_ep->sndbuf) || (m_ep->shutdown & kSendShutdown) ||
                       !m_ep->peer || m_ep->peer->dead || (m_ep->peer->shutdown & kRcvShutdown);
            });
            if (!waited.ok())
                return sent ? Result<size_t>(sent) : Error(waited.error());
        }
        UnixMessage msg;
        msg.data = std::move(*data);
        msg.creds = creds;
        msg.from = m_ep->addr;
        msg.sender = m_ep;
        msg.charge = n + kMessageOverhead;
        if (sent == 0)
            msg.rights = std::move(req.rights);
        m_ep->wmem += msg.charge;
        m_ep->peer->queue.push_back(std::move(msg));
        m_ep->peer->Notify(POLLIN | POLLRDNORM);
        sent += n;
    }
    return sent;
}

Result<size_t> UnixSocket::SendDgram(SendRequest& req) {
    bool seqpacket = m_ep->type == SOCK_SEQPACKET;
    std::shared_ptr<UnixEndpoint> other;
    if (seqpacket) {
        std::lock_guard lock(m_space->lock());
        if (m_ep->error) {
            int e = m_ep->error;
            m_ep->error = 0;
            return Error(e);
        }
        if (m_ep->state != UnixEndpoint::State::kConnected)
            return Error(ENOTCONN);
        other = m_ep->peer;
    } else if (req.to) {
        other = TRY(FindPeer(*req.to));
    } else {
        std::lock_guard lock(m_space->lock());
        other = m_ep->peer;
        if (!other)
            return Error(ENOTCONN);
    }
    size_t len = req.data->remaining();
    {
        std::lock_guard lock(m_space->lock());
        if (m_ep->passcred && m_ep->addr.empty())
            TRY(m_space->Autobind(m_ep));
        if (len > static_cast<size_t>(m_ep->sndbuf) - 32)
            return Error(EMSGSIZE);
    }
    auto data = TRY(TakeBytes(*req.data, len));
    if (data.size() < len)
        return Error(EFAULT);
    bool nonblock = nonblocking(req.flags);
    auto deadline = DeadlineOf(m_ep->sndtimeo);
    UnixGarbage garbage;
    std::unique_lock lock(m_space->lock());
    for (;;) {
        if (m_ep->shutdown & kSendShutdown)
            return Error(EPIPE);
        if (m_ep->wmem >= static_cast<size_t>(m_ep->sndbuf)) {
            TRY(Wait(lock, m_ep->waiters, nonblock, deadline, [&] {
                return m_ep->wmem < static_cast<size_t>(m_ep->sndbuf) || (m_ep->shutdown & kSendShutdown);
            }));
            continue;
        }
        if (other->dead) {
            if (seqpacket)
                return Error(EPIPE);
            if (m_ep->peer == other) {
                garbage.endpoints.push_back(std::move(m_ep->peer));
                m_ep->state = UnixEndpoint::State::kUnconnected;
            }
            return Error(ECONNREFUSED);
        }
        // unix_may_send: a receiver connected elsewhere takes nothing from us.
        if (other->peer && other->peer != m_ep)
            return Error(EPERM);
        if (other->shutdown & kRcvShutdown)
            return Error(EPIPE);
        if (other->peer != m_ep && other->queue.size() > UnixSpace::kMaxDgramQueue) {
            TRY(Wait(lock, other->waiters, nonblock, deadline, [&] {
                return other->dead || other->queue.size() <= UnixSpace::kMaxDgramQueue;
            }));
            continue;
        }
        break;
    }
    UnixMessage msg;
    msg.data = std::move(data);
    msg.creds = req.creds ? *req.creds : CurrentCreds();
    msg.from = m_ep->addr;
    msg.sender = m_ep;
    msg.charge = len + kMessageOverhead;
    msg.rights = std::move(req.rights);
    m_ep->wmem += msg.charge;
    other->queue.push_back(std::move(msg));
    other->Notify(POLLIN | POLLRDNORM);
    return len;
}

Result<RecvResult> UnixSocket::RecvStream(fs::IoDst& dst, int flags) {
    bool peek = flags & MSG_PEEK;
    size_t target = (flags & MSG_WAITALL) ? std::max<size_t>(dst.remaining(), 1) : 1;
    bool nonblock = nonblocking(flags);
    RecvResult result;
    size_t copied = 0;
    bool have_creds = false;
    UnixGarbage garbage;
    std::unique_lock lock(m_space->lock());
    if (m_ep->state != UnixEndpoint::State::kConnected)
        return Error(EINVAL);
    auto deadline = DeadlineOf(m_ep->rcvtimeo);
    size_t index = 0;  // the message a peek reads next
    for (;;) {
        if (index >= m_ep->queue.size()) {
            if (copied >= target || (peek && index > 0))
                break;
            if (m_ep->error) {
                int e = m_ep->error;
                m_ep->error = 0;
                if (copied)
                    break;
                return Error(e);
            }
            if (m_ep->shutdown & kRcvShutdown)
                break;
            auto waited = Wait(lock, m_ep->waiters, nonblock, deadline, [&] {
                return m_ep->queue.size() > index || m_ep->error || (m_ep->shutdown & kRcvShutdown);
            });
            if (!waited.ok()) {
                if (copied)
                    break;
                return Error(waited.error());
            }
            continue;
        }
        UnixMessage& msg = m_ep->queue[index];
        if (m_ep->passcred) {
            // Never glue messages from different writers.
            if (have_creds && !SameCreds(msg.creds, *result.creds))
                break;
            result.creds = msg.creds;
            have_creds = true;
        }
        if (copied == 0)
            result.from = msg.from;
        size_t n = std::min(msg.unread(), dst.remaining());
        if (n > 0) {
            auto put = dst.Put(std::span<const uint8_t>(msg.data.data() + msg.consumed, n));
            // Linux's unix_stream_read_actor: a chunk that faults part-way is not taken.
            if (!put.ok() || *put < n) {
                if (copied)
                    break;
                return Error(EFAULT);
            }
        }
        copied += n;
        if (peek) {
            if (!msg.rights.empty()) {
                result.rights = msg.rights;
                break;
            }
            ++index;
        } else {
            msg.consumed += n;
            if (!msg.rights.empty())
                result.rights = std::move(msg.rights);
            if (msg.unread())
                break;
            UnixSpace::Uncharge(msg);
            garbage.messages.push_back(std::move(msg));
            m_ep->queue.pop_front();
            if (!result.rights.empty())
                break;
        }
        if (dst.remaining() == 0)
            break;
    }
    result.bytes = copied;
    return result;
}

Result<RecvResult> UnixSocket::RecvDgram(fs::IoDst& dst, int flags) {
    bool seqpacket = m_ep->type == SOCK_SEQPACKET;
    bool nonblock = nonblocking(flags);
    RecvResult result;
    UnixGarbage garbage;
    std::unique_lock lock(m_space->lock());
    if (seqpacket && m_ep->state != UnixEndpoint::State::kConnected)
        return Error(ENOTCONN);
    auto deadline = DeadlineOf(m_ep->rcvtimeo);
    while (m_ep->queue.empty()) {
        if (m_ep->error) {
            int e = m_ep->error;
            m_ep->error = 0;
            return Error(e);
        }
        if (m_ep->shutdown & kRcvShutdown) {
            if (seqpacket || !nonblock)
                return result;
        }
        TRY(Wait(lock, m_ep->waiters, nonblock, deadline, [&] {
            return !m_ep->queue.empty() || m_ep->error || (m_ep->shutdown & kRcvShutdown);
        }));
    }
    UnixMessage& msg = m_ep->queue.front();
    size_t size = msg.data.size();
    size_t room = dst.remaining();
    size_t n = std::min(size, room);
    Result<size_t> put = size_t{0};
    if (n > 0)
        put = dst.Put(std::span<const uint8_t>(msg.data.data(), n));
    if (size > room)
        result.msg_flags |= MSG_TRUNC;
    result.from = msg.from;
    if (m_ep->passcred)
        result.creds = msg.creds;
    if (flags & MSG_PEEK) {
        result.rights = msg.rights;
    } else {
        result.rights = std::move(msg.rights);
        UnixSpace::Uncharge(msg);
        garbage.messages.push_back(std::move(msg));
        m_ep->queue.pop_front();
        // Senders waiting for room in this queue.
        m_ep->Notify(POLLOUT | POLLWRNORM);
    }
    if (!put.ok()) {
        garbage.files = std::move(result.rights);
        return Error(put.error());
    }
    result.bytes = (flags & MSG_TRUNC) ? size : *put;
    return result;
}

}  // namespace moat::net
