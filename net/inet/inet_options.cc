// Options of inet sockets: SOL_SOCKET (sk_setsockopt / sk_getsockopt), SOL_IP
// (do_ip_setsockopt), SOL_IPV6 (ipv6_setsockopt), SOL_TCP (do_tcp_setsockopt) and SOL_UDP,
// with Linux's errnos for bad lengths, values and levels. Options that only tune a real
// network (IP_RECVERR, TCP_QUICKACK, UDP_CORK…) are stored and read back.

#include "net/inet/inet_socket.h"
#include "net/sockopt_values.h"

#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <sys/time.h>

#include <algorithm>
#include <cstring>

namespace moat::net {

namespace {

// net.core.wmem_max / rmem_max, and Linux's floors (SOCK_MIN_SNDBUF / SOCK_MIN_RCVBUF).
constexpr int kBufMax = 212992;
constexpr int kMinSndbuf = 4608;
constexpr int kMinRcvbuf = 2304;
constexpr int kDefaultTtl = 64;      // net.ipv4.ip_default_ttl, net.ipv6.conf.*.hop_limit
constexpr int kDefaultMss = 536;     // TCP_MSS_DEFAULT, before a connection
constexpr int kLoopbackMss4 = 32741;  // what Linux settles on over lo (MTU 65536)
constexpr int kLoopbackMss6 = 32732;

// do_ip_setsockopt: an int, or a single byte.
Result<int> IpIntValue(const std::string& value) {
    if (value.size() >= sizeof(int))
        return IntOptionValue(value);
    if (value.empty())
        return Error(EINVAL);
    return static_cast<int>(static_cast<uint8_t>(value[0]));
}

uint64_t Key(int level, int name) { return (static_cast<uint64_t>(level) << 32) | static_cast<uint32_t>(name); }

// The options kept as plain values, per level.
bool IsStored(int level, int name) {
    switch (level) {
    case SOL_SOCKET:
        return name == SO_BROADCAST || name == SO_DONTROUTE || name == SO_OOBINLINE || name == SO_PRIORITY ||
               name == SO_TIMESTAMP_OLD || name == SO_TIMESTAMPNS_OLD;
    case IPPROTO_IP:
        return name == IP_RECVERR || name == IP_PKTINFO || name == IP_RECVTOS || name == IP_RECVTTL ||
               name == IP_MTU_DISCOVER || name == IP_FREEBIND || name == IP_BIND_ADDRESS_NO_PORT;
    case IPPROTO_IPV6:
        return name == IPV6_RECVERR || name == IPV6_RECVPKTINFO || name == IPV6_MTU_DISCOVER ||
               name == IPV6_RECVTCLASS;
    case IPPROTO_TCP:
        return name == TCP_USER_TIMEOUT || name == TCP_FASTOPEN ||
               name == TCP_NOTSENT_LOWAT || name == TCP_THIN_LINEAR_TIMEOUTS;
    case IPPROTO_UDP: return name == UDP_CORK || name == UDP_SEGMENT || name == UDP_GRO;
    default: return false;
    }
}

// TCP_DEFER_ACCEPT is kept as SYN-ACK retransmissions: seconds round up to the time the
// retransmissions take (secs_to_retrans / retrans_to_secs, 1 s initial timeout, 120 s cap).
int DeferAcceptSeconds(int seconds) {
    if (seconds <= 0)
        return 0;
    int timeout = 1, period = 1, retrans = 1;
    while (seconds > period && retrans < 255) {
        ++retrans;
        timeout = std::min(timeout * 2, 120);
        period += timeout;
    }
    return period;
}

}  // namespace

Result<void> InetSocket::SetSockOpt(int level, int name, const std::string& value) {
    std::lock_guard lock(m_space->lock());
    InetEndpoint& ep = *m_ep;
    bool v6 = ep.family == AF_INET6;
    // tcp_setsockopt / udp_setsockopt hand other levels to ip_setsockopt or ipv6_setsockopt,
    // which know only their own.
    if ((level == IPPROTO_TCP && !ep.tcp()) || (level == IPPROTO_UDP && ep.tcp()) || (level == IPPROTO_IPV6 && !v6))
        return Error(ENOPROTOOPT);
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_RCVTIMEO_OLD: ep.rcvtimeo = TRY(TimeoutValue(value)); return {};
        case SO_SNDTIMEO_OLD: ep.sndtimeo = TRY(TimeoutValue(value)); return {};
        case SO_LINGER: {
            if (value.size() < sizeof(linger))
                return Error(EINVAL);
            linger l;
            memcpy(&l, value.data(), sizeof(l));
            ep.linger_onoff = l.l_onoff != 0;
            ep.linger_secs = l.l_linger;
            return {};
        }
        case SO_BINDTODEVICE: {
            // The sandbox has one interface.
            std::string dev = value.substr(0, strnlen(value.data(), std::min<size_t>(value.size(), 16)));
            if (!dev.empty() && dev != "lo")
                return Error(ENODEV);
            ep.bound_to_lo = !dev.empty();
            return {};
        }
        // Credentials pass over unix and netlink sockets only.
        case SO_PASSCRED: return Error(EOPNOTSUPP);
        default: break;
        }
        int v = TRY(IntOptionValue(value));
        switch (name) {
        case SO_REUSEADDR: ep.reuseaddr = v != 0; return {};
        case SO_REUSEPORT: ep.reuseport = v != 0; return {};
        case SO_KEEPALIVE: ep.keepalive = v != 0; return {};
        case SO_SNDBUF:
        case SO_SNDBUFFORCE: {
            unsigned u = std::min<unsigned>(static_cast<unsigned>(v), kBufMax);
            ep.sndbuf = std::max<int>(static_cast<int>(u * 2), kMinSndbuf);
            ep.Notify();
            return {};
        }
        case SO_RCVBUF:
        case SO_RCVBUFFORCE: {
            unsigned u = std::min<unsigned>(static_cast<unsigned>(v), kBufMax);
            ep.rcvbuf = std::max<int>(static_cast<int>(u * 2), kMinRcvbuf);
            if (ep.peer)
                ep.peer->Notify();
            return {};
        }
        case SO_RCVLOWAT: ep.rcvlowat = v < 0 ? INT32_MAX : std::max(v, 1); return {};
        default: break;
        }
        if (IsStored(level, name)) {
            ep.stored[Key(level, name)] = v;
            return {};
        }
        return Error(ENOPROTOOPT);
    }
    if (level == IPPROTO_IP) {
        int v = TRY(IpIntValue(value));
        switch (name) {
        case IP_TOS:
            // A TCP socket keeps the ECN bits to itself (__ip_sock_set_tos).
            ep.tos = ep.tcp() ? ((v & ~3) | (ep.tos & 3)) & 0xff : v & 0xff;
            return {};
        case IP_TTL:
            if (v != -1 && (v < 1 || v > 255))
                return Error(EINVAL);
            ep.ttl = v;
            return {};
        default: break;
        }
        if (IsStored(level, name)) {
            ep.stored[Key(level, name)] = v;
            return {};
        }
        return Error(ENOPROTOOPT);
    }
    if (level == IPPROTO_IPV6) {
        int v = TRY(IntOptionValue(value));
        switch (name) {
        case IPV6_V6ONLY:
            if (ep.bound)
                return Error(EINVAL);
            ep.v6only = v != 0;
            return {};
        case IPV6_UNICAST_HOPS:
            if (v < -1 || v > 255)
                return Error(EINVAL);
            ep.hops = v;
            return {};
        case IPV6_TCLASS:
            if (v < -1 || v > 255)
                return Error(EINVAL);
            ep.tclass = v == -1 ? 0 : v;
            return {};
        default: break;
        }
        if (IsStored(level, name)) {
            ep.stored[Key(level, name)] = v;
            return {};
        }
        return Error(ENOPROTOOPT);
    }
    if (level == IPPROTO_TCP) {
        if (name == TCP_CONGESTION) {
            std::string algo = value.substr(0, strnlen(value.data(), value.size()));
            if (algo != "cubic" && algo != "reno")
                return Error(ENOENT);
            return {};
        }
        int v = TRY(IntOptionValue(value));
        auto in = [&](int lo, int hi) -> Result<int> {
            if (v < lo || v > hi)
                return Error(EINVAL);
            return v;
        };
        switch (name) {
        case TCP_NODELAY: ep.nodelay = v != 0; return {};
        case TCP_CORK: ep.cork = v != 0; return {};
        case TCP_QUICKACK: return {};
        case TCP_DEFER_ACCEPT: ep.stored[Key(level, name)] = DeferAcceptSeconds(v); return {};
        case TCP_KEEPIDLE: ep.keepidle = TRY(in(1, 32767)); return {};
        case TCP_KEEPINTVL: ep.keepintvl = TRY(in(1, 32767)); return {};
        case TCP_KEEPCNT: ep.keepcnt = TRY(in(1, 127)); return {};
        case TCP_MAXSEG:
            if (v != 0 && (v < 88 || v > 32767))
                return Error(EINVAL);
            ep.user_mss = v;
            return {};
        default: break;
        }
        if (IsStored(level, name)) {
            ep.stored[Key(level, name)] = v;
            return {};
        }
        return Error(ENOPROTOOPT);
    }
    if (level == IPPROTO_UDP) {
        int v = TRY(IntOptionValue(value));
        if (IsStored(level, name)) {
            ep.stored[Key(level, name)] = v;
            return {};
        }
        return Error(ENOPROTOOPT);
    }
    return Error(ENOPROTOOPT);
}

Result<std::string> InetSocket::GetSockOpt(int level, int name) {
    std::lock_guard lock(m_space->lock());
    InetEndpoint& ep = *m_ep;
    bool v6 = ep.family == AF_INET6;
    // ip_getsockopt answers EOPNOTSUPP for a level it does not know, ipv6_getsockopt
    // ENOPROTOOPT.
    int bad_level = v6 ? ENOPROTOOPT : EOPNOTSUPP;
    auto stored = [&]() -> Result<std::string> {
        if (!IsStored(level, name))
            return Error(ENOPROTOOPT);
        auto it = ep.stored.find(Key(level, name));
        return OptionBytes(it == ep.stored.end() ? 0 : it->second);
    };
    switch (level) {
    case SOL_SOCKET:
        switch (name) {
        case SO_TYPE: return OptionBytes(ep.type);
        case SO_DOMAIN: return OptionBytes(ep.family);
        case SO_PROTOCOL: return OptionBytes(ep.protocol());
        case SO_ERROR: {
            int e = ep.error;
            ep.error = 0;
            return OptionBytes(e);
        }
        case SO_ACCEPTCONN: return OptionBytes(static_cast<int>(ep.state == InetEndpoint::State::kListen));
        case SO_REUSEADDR: return OptionBytes(static_cast<int>(ep.reuseaddr));
        case SO_REUSEPORT: return OptionBytes(static_cast<int>(ep.reuseport));
        case SO_KEEPALIVE: return OptionBytes(static_cast<int>(ep.keepalive));
        case SO_SNDBUF: return OptionBytes(ep.sndbuf);
        case SO_RCVBUF: return OptionBytes(ep.rcvbuf);
        case SO_RCVTIMEO_OLD: return TimeoutBytes(ep.rcvtimeo);
        case SO_SNDTIMEO_OLD: return TimeoutBytes(ep.sndtimeo);
        case SO_LINGER: return OptionBytes(linger{ep.linger_onoff, ep.linger_secs});
        case SO_RCVLOWAT: return OptionBytes(ep.rcvlowat);
        case SO_SNDLOWAT: return OptionBytes(1);
        case SO_PASSCRED: return Error(EOPNOTSUPP);
        case SO_BINDTODEVICE: return ep.bound_to_lo ? std::string("lo", 3) : std::string();
        case SO_PEERCRED: {
            // An inet socket has no peer credentials: Linux reports pid 0 and the overflow ids.
            ucred c{0, static_cast<uid_t>(-1), static_cast<gid_t>(-1)};
            return OptionBytes(c);
        }
        default: return stored();
        }
    case IPPROTO_IP:
        switch (name) {
        case IP_TOS: return OptionBytes(ep.tos);
        case IP_TTL: return OptionBytes(ep.ttl == -1 ? kDefaultTtl : ep.ttl);
        default: return stored();
        }
    case IPPROTO_IPV6:
        if (!v6)
            return Error(EOPNOTSUPP);
        switch (name) {
        case IPV6_V6ONLY: return OptionBytes(static_cast<int>(ep.v6only));
        case IPV6_UNICAST_HOPS: return OptionBytes(ep.hops == -1 ? kDefaultTtl : ep.hops);
        case IPV6_TCLASS: return OptionBytes(ep.tclass);
        default: return stored();
        }
    case IPPROTO_TCP: {
        if (!ep.tcp())
            return Error(bad_level);
        bool connected = ep.state == InetEndpoint::State::kEstablished;
        int mss = kDefaultMss;
        if (connected)
            mss = ep.remote.mapped() ? kLoopbackMss4 : kLoopbackMss6;
        if (ep.user_mss && !connected)
            mss = ep.user_mss;
        switch (name) {
        case TCP_NODELAY: return OptionBytes(static_cast<int>(ep.nodelay));
        case TCP_CORK: return OptionBytes(static_cast<int>(ep.cork));
        case TCP_QUICKACK: return OptionBytes(1);
        case TCP_DEFER_ACCEPT: {
            auto it = ep.stored.find(Key(level, name));
            return OptionBytes(it == ep.stored.end() ? 0 : it->second);
        }
        case TCP_KEEPIDLE: return OptionBytes(ep.keepidle);
        case TCP_KEEPINTVL: return OptionBytes(ep.keepintvl);
        case TCP_KEEPCNT: return OptionBytes(ep.keepcnt);
        case TCP_MAXSEG: return OptionBytes(mss);
        case TCP_CONGESTION: return std::string("cubic").append(16 - 5, '\0');
        case TCP_INFO: {
            // Minimal: the state and segment sizes; the counters of a real link are 0.
            tcp_info info{};
            info.tcpi_state = static_cast<uint8_t>(LinuxTcpState(ep));
            info.tcpi_snd_mss = static_cast<uint32_t>(mss);
            info.tcpi_rcv_mss = static_cast<uint32_t>(connected ? mss : kDefaultMss);
            info.tcpi_snd_cwnd = 10;
            info.tcpi_rcv_space = static_cast<uint32_t>(ep.rcvbuf / 2);
            info.tcpi_unacked = ep.state == InetEndpoint::State::kListen ? static_cast<uint32_t>(ep.backlog.size()) : 0;
            info.tcpi_sacked = ep.state == InetEndpoint::State::kListen ? static_cast<uint32_t>(ep.max_backlog) : 0;
            return OptionBytes(info);
        }
        default: return stored();
        }
    }
    case IPPROTO_UDP:
        if (ep.tcp())
            return Error(bad_level);
        return stored();
    default: return Error(bad_level);
    }
}

}  // namespace moat::net
