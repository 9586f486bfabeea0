#pragma once
// InetAddr: an IPv4 or IPv6 address and port as the stack keeps them, whatever the socket's
// family: IPv4 as the IPv4-mapped IPv6 address ::ffff:a.b.c.d, so that one comparison serves
// v4 sockets, v6 sockets and v6 sockets talking to v4 peers. Parsing and formatting of the
// app's sockaddr_in / sockaddr_in6 with Linux's errnos, and the loopback-only routing of
// `--network=none`.

#include "net/socket.h"
#include "platform/base/result.h"

#include <array>
#include <cstdint>

namespace moat::net {

using IpBytes = std::array<uint8_t, 16>;

struct InetAddr {
    IpBytes ip{};
    uint16_t port = 0;  // host order

    bool mapped() const;         // ::ffff:a.b.c.d (an IPv4 address)
    bool any6() const;           // ::
    bool any() const;            // 0.0.0.0 (mapped) or ::
    uint32_t v4() const;         // host order; meaningful when mapped()
    bool loopback() const;       // 127.0.0.0/8 or ::1
    static InetAddr FromV4(uint32_t host_order_ip, uint16_t port);
    bool operator==(const InetAddr&) const = default;
};

inline constexpr uint32_t kLoopback4 = 0x7f000001;  // 127.0.0.1
IpBytes Loopback6();                               // ::1
IpBytes Any4Mapped();                              // ::ffff:0.0.0.0

// Decodes a bind/connect/sendto address for a socket of `family` (AF_INET or AF_INET6), as
// inet_bind / inet6_bind / tcp_v4_connect / tcp_v6_connect check it: EINVAL for a short
// address, EAFNOSUPPORT for another family. `allow_unspec`: AF_UNSPEC is taken as AF_INET
// (what inet_bind does for INADDR_ANY and udp_sendmsg does).
Result<InetAddr> ParseInetAddr(int family, const SockAddr& addr, bool allow_unspec);
// The sockaddr_in / sockaddr_in6 a socket of `family` reports for `a`.
SockAddr FormatInetAddr(int family, const InetAddr& a);

// Where a packet to `dst` goes under loopback-only networking: the destination with the
// wildcard replaced by the loopback address (Linux sends to INADDR_ANY locally), or
// ENETUNREACH for any address not on `lo`.
Result<InetAddr> RouteLoopback(const InetAddr& dst);

// The addresses a socket bound to an address receives for: none, one, or all, separately in
// the IPv4 and IPv6 worlds (a v6 wildcard that is not IPV6_V6ONLY also takes IPv4).
struct BindScope {
    enum Kind : uint8_t { kNone, kOne, kAll };
    Kind v4 = kNone, v6 = kNone;
    IpBytes ip{};

    static BindScope Of(int family, bool v6only, const IpBytes& ip);
    bool Overlaps(const BindScope& other) const;
    // 0: does not receive for `dst`; 1: as a wildcard; 2: exactly.
    int Match(const IpBytes& dst) const;
};

std::string FormatIp(const IpBytes& ip);  // for logs and /proc

}  // namespace moat::net
