#pragma once
// InetSpace: the sandbox's IPv4/IPv6 world — the lock all inet socket state is guarded by,
// the TCP and UDP port tables (bind conflicts, ephemeral ports, SO_REUSEADDR/SO_REUSEPORT,
// IPV6_V6ONLY), and the demux that finds the socket a connection or a datagram is for. One
// per Kernel (Kernel::inet_space()). This is the "demux/port" layer of net/README.md: it knows
// addresses and endpoints, not how bytes travel.
//
// Lock order: InetSpace::m_lock → app memory (received data is copied out under it) →
// WaitQueue / EventQueue. Endpoints are never destroyed under it: released endpoints go to
// an InetGarbage declared before the guard.

#include "net/inet/inet_endpoint.h"

#include <functional>
#include <map>
#include <mutex>

namespace moat::net {

struct InetGarbage {
    std::vector<std::shared_ptr<InetEndpoint>> endpoints;
    std::deque<InetChunk> chunks;
    std::deque<InetDatagram> datagrams;
};

// One socket for /proc/net/{tcp,tcp6,udp,udp6}.
struct InetSocketInfo {
    int family = 0;
    int protocol = 0;
    InetAddr local, remote;
    int state = 0;  // Linux's TCP_* numbering (TCP_ESTABLISHED = 1 … TCP_LISTEN = 10)
    uint64_t ino = 0;
    uint32_t uid = 0;
    size_t rx_queue = 0, tx_queue = 0;
};

// The TCP_* state Linux would report (TCP_INFO, /proc/net/tcp) for a TCP endpoint.
int LinuxTcpState(const InetEndpoint& ep);

class InetSpace {
public:
    static constexpr int kSomaxconn = 4096;  // net.core.somaxconn
    // net.ipv4.ip_local_port_range.
    static constexpr uint16_t kEphemeralLow = 32768;
    static constexpr uint16_t kEphemeralHigh = 60999;

    explicit InetSpace(std::function<uint64_t()> next_ino) : m_next_ino(std::move(next_ino)) {}

    std::mutex& lock() { return m_lock; }
    uint64_t NextIno() { return m_next_ino(); }

    // ---- With lock() held ----
    void Register(const std::shared_ptr<InetEndpoint>& ep);
    // Binds `ep` to `addr` (port 0: an ephemeral port): EADDRINUSE on a conflict (Linux's
    // inet_bind_conflict / udp_lib_lport_inuse), EADDRINUSE when no ephemeral port is free.
    Result<void> Bind(const std::shared_ptr<InetEndpoint>& ep, InetAddr addr);
    // Puts an accepted connection on its listener's port (no conflict check: it shares it, as
    // Linux's inet_inherit_port does).
    void BindInherited(const std::shared_ptr<InetEndpoint>& ep);
    // Whether `ep` may start listening on its port (another listener there: EADDRINUSE).
    Result<void> CheckListen(const InetEndpoint& ep);
    // Takes `ep` out of the port table.
    void Unbind(InetEndpoint& ep);
    // The socket listening for connections to `dst` from `src` (specific address before
    // wildcard; an SO_REUSEPORT group shares by source port).
    std::shared_ptr<InetEndpoint> FindListener(const InetAddr& dst, const InetAddr& src);
    // The UDP socket a datagram from `src` to `dst` is delivered to (connected sockets first).
    std::shared_ptr<InetEndpoint> FindUdp(const InetAddr& dst, const InetAddr& src);
    // Forgets a released endpoint.
    void Unregister(const InetEndpoint& ep);

    // Every live TCP (`protocol` IPPROTO_TCP) or UDP socket of `family`, for /proc/net. Takes
    // the lock.
    std::vector<InetSocketInfo> List(int family, int protocol);

private:
    using PortTable = std::multimap<uint16_t, std::weak_ptr<InetEndpoint>>;
    PortTable& TableOf(const InetEndpoint& ep) { return ep.tcp() ? m_tcp_ports : m_udp_ports; }
    // Whether `ep` may hold `addr` beside the sockets already on its port.
    bool Conflicts(const InetEndpoint& ep, const InetAddr& addr);

    const std::function<uint64_t()> m_next_ino;
    std::mutex m_lock;
    PortTable m_tcp_ports, m_udp_ports;
    std::map<const InetEndpoint*, std::weak_ptr<InetEndpoint>> m_all;
    uint32_t m_next_ephemeral = 0;
};

}  // namespace moat::net
