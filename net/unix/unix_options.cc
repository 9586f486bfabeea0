// SOL_SOCKET options of unix sockets (Linux's sock_setsockopt / sk_getsockopt, the part that
// applies to AF_UNIX).

#include "net/unix/unix_socket.h"
#include "net/sockopt_values.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cstring>

namespace moat::net {

namespace {

// net.core.wmem_max / rmem_max, and Linux's floors (SOCK_MIN_SNDBUF / SOCK_MIN_RCVBUF).
constexpr int kBufMax = 212992;
constexpr int kMinSndbuf = 4608;
constexpr int kMinRcvbuf = 2304;

}  // namespace

Result<void> UnixSocket::SetSockOpt(int level, int name, const std::string& value) {
    if (level != SOL_SOCKET)
        return Error(EOPNOTSUPP);
    std::lock_guard lock(m_space->lock());
    UnixEndpoint& ep = *m_ep;
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
    default: break;
    }
    int v = TRY(IntOptionValue(value));
    switch (name) {
    case SO_PASSCRED: ep.passcred = v != 0; return {};
    case SO_REUSEADDR: ep.reuseaddr = v != 0; return {};
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
        return {};
    }
    // Accepted and without effect on a unix socket, as on Linux.
    case SO_KEEPALIVE:
    case SO_BROADCAST:
    case SO_DONTROUTE:
    case SO_OOBINLINE:
    case SO_PRIORITY:
    case SO_RCVLOWAT:
    case SO_REUSEPORT:
    case SO_TIMESTAMP_OLD:
    case SO_TIMESTAMPNS_OLD: return {};
    case SO_TYPE:
    case SO_PROTOCOL:
    case SO_DOMAIN:
    case SO_ERROR:
    case SO_ACCEPTCONN:
    case SO_PEERCRED: return Error(ENOPROTOOPT);
    default: return Error(ENOPROTOOPT);
    }
}

Result<std::string> UnixSocket::GetSockOpt(int level, int name) {
    if (level != SOL_SOCKET)
        return Error(EOPNOTSUPP);
    std::lock_guard lock(m_space->lock());
    UnixEndpoint& ep = *m_ep;
    switch (name) {
    case SO_TYPE: return OptionBytes(ep.type);
    case SO_DOMAIN: return OptionBytes(static_cast<int>(AF_UNIX));
    case SO_PROTOCOL: return OptionBytes(0);
    case SO_ERROR: {
        int e = ep.error;
        ep.error = 0;
        return OptionBytes(e);
    }
    case SO_ACCEPTCONN: return OptionBytes(static_cast<int>(ep.state == UnixEndpoint::State::kListening));
    case SO_PASSCRED: return OptionBytes(static_cast<int>(ep.passcred));
    case SO_REUSEADDR: return OptionBytes(static_cast<int>(ep.reuseaddr));
    case SO_SNDBUF: return OptionBytes(ep.sndbuf);
    case SO_RCVBUF: return OptionBytes(ep.rcvbuf);
    case SO_RCVTIMEO_OLD: return TimeoutBytes(ep.rcvtimeo);
    case SO_SNDTIMEO_OLD: return TimeoutBytes(ep.sndtimeo);
    case SO_LINGER: {
        linger l{ep.linger_onoff, ep.linger_secs};
        return OptionBytes(l);
    }
    case SO_PEERCRED: {
        ucred c{ep.peercred.pid, ep.peercred.uid, ep.peercred.gid};
        return OptionBytes(c);
    }
    case SO_KEEPALIVE:
    case SO_BROADCAST:
    case SO_DONTROUTE:
    case SO_OOBINLINE:
    case SO_PRIORITY:
    case SO_REUSEPORT: return OptionBytes(0);
    case SO_RCVLOWAT: return OptionBytes(1);
    default: return Error(ENOPROTOOPT);
    }
}

}  // namespace moat::net
