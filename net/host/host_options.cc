// Options of host-backed sockets: an allowlist passed to the host socket (plain values
// only: never an option whose value holds a pointer, like SO_ATTACH_FILTER, and never one
// that needs host privileges); timeouts are the sandbox's own, because blocking is.

#include "net/host/host_socket.h"
#include "net/sockopt_values.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/time.h>

#include <cstring>

namespace moat::net {

namespace {

bool Allowed(int level, int name) {
    switch (level) {
    case SOL_SOCKET:
        switch (name) {
        case SO_REUSEADDR: case SO_REUSEPORT: case SO_KEEPALIVE: case SO_BROADCAST: case SO_LINGER:
        case SO_SNDBUF: case SO_RCVBUF: case SO_OOBINLINE: case SO_RCVLOWAT: case SO_SNDLOWAT:
        case SO_TIMESTAMP_OLD: case SO_TIMESTAMPNS_OLD: case SO_TYPE: case SO_DOMAIN: case SO_PROTOCOL:
        case SO_ERROR: case SO_ACCEPTCONN: case SO_DONTROUTE: return true;  // not SO_PEERCRED: host pids
        default: return false;
        }
    case IPPROTO_TCP:
        switch (name) {
        case TCP_NODELAY: case TCP_MAXSEG: case TCP_CORK: case TCP_KEEPIDLE: case TCP_KEEPINTVL:
        case TCP_KEEPCNT: case TCP_INFO: case TCP_QUICKACK: case TCP_USER_TIMEOUT: case TCP_DEFER_ACCEPT:
        case TCP_FASTOPEN: case TCP_NOTSENT_LOWAT: case TCP_CONGESTION: case TCP_SYNCNT:
        case TCP_LINGER2: case TCP_WINDOW_CLAMP: return true;
        default: return false;
        }
    case IPPROTO_IP:
        switch (name) {
        case IP_TOS: case IP_TTL: case IP_MULTICAST_TTL: case IP_MULTICAST_LOOP: case IP_MULTICAST_IF:
        case IP_ADD_MEMBERSHIP: case IP_DROP_MEMBERSHIP: case IP_MTU_DISCOVER: case IP_MTU: case IP_RECVTOS:
        case IP_BIND_ADDRESS_NO_PORT:
        case IP_RECVERR: return true;  // glibc's resolver sets it (the error queue stays unread)
        default: return false;
        }
    case IPPROTO_IPV6:
        switch (name) {
        case IPV6_V6ONLY: case IPV6_UNICAST_HOPS: case IPV6_MULTICAST_HOPS: case IPV6_MULTICAST_LOOP:
        case IPV6_MULTICAST_IF: case IPV6_TCLASS: case IPV6_JOIN_GROUP: case IPV6_LEAVE_GROUP:
        case IPV6_MTU_DISCOVER: case IPV6_MTU: case IPV6_RECVERR: return true;
        default: return false;
        }
    default: return false;
    }
}

}  // namespace

Result<void> HostSocket::SetSockOpt(int level, int name, const std::string& value) {
    if (level == SOL_SOCKET && (name == SO_RCVTIMEO_OLD || name == SO_SNDTIMEO_OLD)) {
        auto t = TRY(TimeoutValue(value));
        std::lock_guard lock(m_lock);
        (name == SO_RCVTIMEO_OLD ? m_rcvtimeo : m_sndtimeo) = t;
        return {};
    }
    if (level == SOL_SOCKET && (name == SO_SNDBUFFORCE || name == SO_RCVBUFFORCE))
        return Error(EPERM);  // CAP_NET_ADMIN
    if (!Allowed(level, name))
        return Error(level == SOL_SOCKET || level == IPPROTO_TCP || level == IPPROTO_IP || level == IPPROTO_IPV6
                         ? ENOPROTOOPT
                         : EOPNOTSUPP);
    if (::setsockopt(m_fd.get(), level, name, value.data(), static_cast<socklen_t>(value.size())) < 0)
        return HostErrno();
    return {};
}

Result<std::string> HostSocket::GetSockOpt(int level, int name) {
    if (level == SOL_SOCKET && (name == SO_RCVTIMEO_OLD || name == SO_SNDTIMEO_OLD)) {
        std::lock_guard lock(m_lock);
        return TimeoutBytes(name == SO_RCVTIMEO_OLD ? m_rcvtimeo : m_sndtimeo);
    }
    if (!Allowed(level, name))
        return Error(ENOPROTOOPT);
    char buf[256];
    socklen_t len = sizeof(buf);
    if (::getsockopt(m_fd.get(), level, name, buf, &len) < 0)
        return HostErrno();
    return std::string(buf, len);
}

}  // namespace moat::net
