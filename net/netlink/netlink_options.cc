// Options of netlink sockets: the SOL_SOCKET ones Linux's sock_setsockopt / sk_getsockopt
// handle for every socket, and SOL_NETLINK (netlink_setsockopt / netlink_getsockopt).

#include "net/netlink/netlink_socket.h"
#include "net/sockopt_values.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/time.h>

#include <algorithm>
#include <cstring>

namespace moat::net {

namespace {

constexpr int kBufMax = 212992;  // net.core.{w,r}mem_max
constexpr int kMinSndbuf = 4608;
constexpr int kMinRcvbuf = 2304;
// RTNLGRP_MAX of this Linux: the groups a route socket may join.
constexpr uint32_t kRouteGroups = 37;

// sock_setsockopt's SO_SNDBUF/SO_RCVBUF: doubled, clamped to rmem_max/wmem_max, floored.
int BufValue(int v, int floor) {
    return std::max<int>(static_cast<int>(std::min<unsigned>(static_cast<unsigned>(v), kBufMax) * 2), floor);
}

}  // namespace

Result<void> NetlinkSocket::SetSockOpt(int level, int name, const std::string& value) {
    if (level == SOL_NETLINK)
        return SetNetlinkOpt(name, value);
    if (level != SOL_SOCKET)
        return Error(ENOPROTOOPT);
    std::lock_guard lock(m_lock);
    switch (name) {
    case SO_RCVTIMEO_OLD: m_rcvtimeo = TRY(TimeoutValue(value)); return {};
    case SO_SNDTIMEO_OLD: m_sndtimeo = TRY(TimeoutValue(value)); return {};
    default: break;
    }
    int v = TRY(IntOptionValue(value));
    switch (name) {
    case SO_SNDBUF:
    case SO_SNDBUFFORCE:
        m_sndbuf = BufValue(v, kMinSndbuf);
        return {};
    case SO_RCVBUF:
    case SO_RCVBUFFORCE:
        m_rcvbuf = BufValue(v, kMinRcvbuf);
        return {};
    case SO_PASSCRED: m_passcred = v != 0; return {};
    // Accepted without effect, as on any socket.
    case SO_REUSEADDR:
    case SO_KEEPALIVE:
    case SO_BROADCAST:
    case SO_DONTROUTE:
    case SO_PRIORITY:
    case SO_RCVLOWAT:
    case SO_TIMESTAMP_OLD:
    case SO_TIMESTAMPNS_OLD: return {};
    default: return Error(ENOPROTOOPT);
    }
}

Result<std::string> NetlinkSocket::GetSockOpt(int level, int name) {
    if (level == SOL_NETLINK)
        return GetNetlinkOpt(name);
    if (level != SOL_SOCKET)
        return Error(ENOPROTOOPT);
    std::lock_guard lock(m_lock);
    switch (name) {
    case SO_TYPE: return OptionBytes(m_type);
    case SO_DOMAIN: return OptionBytes(static_cast<int>(AF_NETLINK));
    case SO_PROTOCOL: return OptionBytes(static_cast<int>(NETLINK_ROUTE));
    case SO_ERROR: {
        int e = m_error;
        m_error = 0;
        return OptionBytes(e);
    }
    case SO_SNDBUF: return OptionBytes(m_sndbuf);
    case SO_RCVBUF: return OptionBytes(m_rcvbuf);
    case SO_PASSCRED: return OptionBytes(static_cast<int>(m_passcred));
    case SO_ACCEPTCONN: return OptionBytes(0);
    case SO_RCVTIMEO_OLD: return TimeoutBytes(m_rcvtimeo);
    case SO_SNDTIMEO_OLD: return TimeoutBytes(m_sndtimeo);
    case SO_REUSEADDR:
    case SO_KEEPALIVE:
    case SO_BROADCAST:
    case SO_DONTROUTE:
    case SO_PRIORITY: return OptionBytes(0);
    case SO_RCVLOWAT: return OptionBytes(1);
    default: return Error(ENOPROTOOPT);
    }
}

// netlink_setsockopt: a value shorter than an int reads as 0 (no EINVAL).
Result<void> NetlinkSocket::SetNetlinkOpt(int name, const std::string& value) {
    int v = 0;
    if (value.size() >= sizeof(int))
        memcpy(&v, value.data(), sizeof(v));
    std::lock_guard lock(m_lock);
    switch (name) {
    case NETLINK_PKTINFO: m_pktinfo = v != 0; return {};
    case NETLINK_ADD_MEMBERSHIP:
    case NETLINK_DROP_MEMBERSHIP: {
        uint32_t group = static_cast<uint32_t>(v);
        if (group == 0 || group - 1 >= kRouteGroups)
            return Error(EINVAL);
        // Only groups 1..32 show in nl_groups; no notification is ever sent.
        if (group <= 32) {
            uint32_t bit = 1u << (group - 1);
            m_groups = name == NETLINK_ADD_MEMBERSHIP ? (m_groups | bit) : (m_groups & ~bit);
        }
        return {};
    }
    case NETLINK_BROADCAST_ERROR: m_broadcast_error = v != 0; return {};
    case NETLINK_NO_ENOBUFS: m_no_enobufs = v != 0; return {};
    case NETLINK_LISTEN_ALL_NSID: return Error(EPERM);  // needs CAP_NET_BROADCAST
    case NETLINK_CAP_ACK: m_cap_ack = v != 0; return {};
    case NETLINK_EXT_ACK: m_ext_ack = v != 0; return {};
    case NETLINK_GET_STRICT_CHK: m_strict = v != 0; return {};
    default: return Error(ENOPROTOOPT);
    }
}

Result<std::string> NetlinkSocket::GetNetlinkOpt(int name) {
    std::lock_guard lock(m_lock);
    switch (name) {
    case NETLINK_PKTINFO: return OptionBytes(static_cast<int>(m_pktinfo));
    case NETLINK_BROADCAST_ERROR: return OptionBytes(static_cast<int>(m_broadcast_error));
    case NETLINK_NO_ENOBUFS: return OptionBytes(static_cast<int>(m_no_enobufs));
    case NETLINK_LISTEN_ALL_NSID: return OptionBytes(0);
    case NETLINK_CAP_ACK: return OptionBytes(static_cast<int>(m_cap_ack));
    case NETLINK_EXT_ACK: return OptionBytes(static_cast<int>(m_ext_ack));
    case NETLINK_GET_STRICT_CHK: return OptionBytes(static_cast<int>(m_strict));
    case NETLINK_LIST_MEMBERSHIPS: {
        // ALIGN(BITS_TO_BYTES(ngroups), 4) bytes of group bits.
        std::string out(((kRouteGroups + 7) / 8 + 3) & ~3u, '\0');
        memcpy(out.data(), &m_groups, sizeof(m_groups));
        return out;
    }
    default: return Error(ENOPROTOOPT);
    }
}

}  // namespace moat::net
