#include "net/inet/inet_space.h"

#include <netinet/tcp.h>

namespace moat::net {

void InetSpace::Register(const std::shared_ptr<InetEndpoint>& ep) { m_all[ep.get()] = ep; }

void InetSpace::Unregister(const InetEndpoint& ep) {
    Unbind(const_cast<InetEndpoint&>(ep));
    m_all.erase(&ep);
}

bool InetSpace::Conflicts(const InetEndpoint& ep, const InetAddr& addr) {
    BindScope mine = BindScope::Of(ep.family, ep.v6only, addr.ip);
    auto [first, last] = TableOf(ep).equal_range(addr.port);
    for (auto it = first; it != last; ++it) {
        auto other = it->second.lock();
        if (!other || other.get() == &ep || other->dead)
            continue;
        if (!mine.Overlaps(BindScope::Of(other->family, other->v6only, other->local.ip)))
            continue;
        bool reuseport = ep.reuseport && other->reuseport && ep.uid == other->uid;
        if (ep.tcp()) {
            // inet_bind_conflict (relaxed): SO_REUSEADDR on both shares a port unless the
            // other one listens.
            if (ep.reuseaddr && other->reuseaddr && other->state != InetEndpoint::State::kListen)
                continue;
        } else if (ep.reuseaddr && other->reuseaddr) {
            continue;
        }
        if (!reuseport)
            return true;
    }
    return false;
}

Result<void> InetSpace::Bind(const std::shared_ptr<InetEndpoint>& ep, InetAddr addr) {
    if (addr.port == 0) {
        constexpr uint32_t kRange = kEphemeralHigh - kEphemeralLow + 1;
        bool found = false;
        for (uint32_t i = 0; i < kRange; ++i) {
            addr.port = static_cast<uint16_t>(kEphemeralLow + (m_next_ephemeral++ % kRange));
            // An ephemeral port is one nobody holds (no sharing through SO_REUSEADDR).
            if (TableOf(*ep).count(addr.port) == 0) {
                found = true;
                break;
            }
        }
        if (!found)
            return Error(EADDRINUSE);
    } else if (Conflicts(*ep, addr)) {
        return Error(EADDRINUSE);
    }
    Unbind(*ep);
    ep->local = addr;
    ep->bound = true;
    TableOf(*ep).emplace(addr.port, ep);
    return {};
}

void InetSpace::BindInherited(const std::shared_ptr<InetEndpoint>& ep) {
    ep->bound = true;
    TableOf(*ep).emplace(ep->local.port, ep);
}

Result<void> InetSpace::CheckListen(const InetEndpoint& ep) {
    if (Conflicts(ep, ep.local))
        return Error(EADDRINUSE);
    return {};
}

void InetSpace::Unbind(InetEndpoint& ep) {
    if (!ep.bound)
        return;
    auto [first, last] = TableOf(ep).equal_range(ep.local.port);
    for (auto it = first; it != last; ++it) {
        if (it->second.lock().get() == &ep || it->second.expired()) {
            TableOf(ep).erase(it);
            break;
        }
    }
    ep.bound = false;
}

namespace {

// compute_score: an exact address first, then a socket of the packet's own family.
int Score(const InetEndpoint& ep, const IpBytes& dst) {
    int match = BindScope::Of(ep.family, ep.v6only, ep.local.ip).Match(dst);
    if (match == 0)
        return 0;
    return match * 2 + ((ep.family == AF_INET) == InetAddr{dst, 0}.mapped() ? 1 : 0);
}

// Among the best-scoring sockets, an SO_REUSEPORT group spreads by the source port (Linux
// hashes the 4-tuple); without SO_REUSEPORT there is only one.
std::shared_ptr<InetEndpoint> Pick(std::vector<std::shared_ptr<InetEndpoint>>& best, const InetAddr& src) {
    if (best.empty())
        return nullptr;
    return best[src.port % best.size()];
}

}  // namespace

std::shared_ptr<InetEndpoint> InetSpace::FindListener(const InetAddr& dst, const InetAddr& src) {
    std::vector<std::shared_ptr<InetEndpoint>> best;
    int best_score = 0;
    auto [first, last] = m_tcp_ports.equal_range(dst.port);
    for (auto it = first; it != last; ++it) {
        auto ep = it->second.lock();
        if (!ep || ep->dead || ep->state != InetEndpoint::State::kListen)
            continue;
        int score = Score(*ep, dst.ip);
        if (score == 0 || score < best_score)
            continue;
        if (score > best_score)
            best.clear();
        best_score = score;
        best.push_back(std::move(ep));
    }
    return Pick(best, src);
}

std::shared_ptr<InetEndpoint> InetSpace::FindUdp(const InetAddr& dst, const InetAddr& src) {
    std::vector<std::shared_ptr<InetEndpoint>> best;
    int best_score = 0;
    auto [first, last] = m_udp_ports.equal_range(dst.port);
    for (auto it = first; it != last; ++it) {
        auto ep = it->second.lock();
        if (!ep || ep->dead)
            continue;
        int score = Score(*ep, dst.ip);
        if (score == 0)
            continue;
        if (ep->state == InetEndpoint::State::kEstablished) {
            if (!(ep->remote == src))
                continue;
            score += 8;
        }
        if (score < best_score)
            continue;
        if (score > best_score)
            best.clear();
        best_score = score;
        best.push_back(std::move(ep));
    }
    return Pick(best, src);
}

int LinuxTcpState(const InetEndpoint& ep) {
    switch (ep.state) {
    case InetEndpoint::State::kListen: return TCP_LISTEN;
    case InetEndpoint::State::kSynSent: return TCP_SYN_SENT;
    case InetEndpoint::State::kClosed: return TCP_CLOSE;
    case InetEndpoint::State::kEstablished: break;
    }
    if (!ep.tcp())
        return TCP_ESTABLISHED;
    bool sent_fin = ep.shutdown & kInetSendShutdown;
    if (ep.done)
        return sent_fin ? TCP_LAST_ACK : TCP_CLOSE_WAIT;
    return sent_fin ? TCP_FIN_WAIT2 : TCP_ESTABLISHED;
}

std::vector<InetSocketInfo> InetSpace::List(int family, int protocol) {
    std::lock_guard lock(m_lock);
    std::vector<InetSocketInfo> out;
    for (auto& [raw, weak] : m_all) {
        auto ep = weak.lock();
        if (!ep || ep->dead || ep->family != family || ep->protocol() != protocol)
            continue;
        InetSocketInfo info;
        info.family = ep->family;
        info.protocol = protocol;
        info.local = ep->local;
        info.remote = ep->remote;
        info.state = ep->tcp() ? LinuxTcpState(*ep) : (ep->state == InetEndpoint::State::kEstablished ? 1 : 7);
        info.ino = ep->ino;
        info.uid = ep->uid;
        info.rx_queue = ep->tcp() ? (ep->state == InetEndpoint::State::kListen ? ep->backlog.size() : ep->rq_bytes)
                                  : ep->rmem;
        info.tx_queue = ep->tcp() && ep->state == InetEndpoint::State::kListen ? ep->max_backlog : 0;
        out.push_back(info);
    }
    return out;
}

}  // namespace moat::net
