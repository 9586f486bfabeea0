#include "net/inet/inet_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace moat::net {

namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

bool InetAddr::mapped() const { return memcmp(ip.data(), kMappedPrefix, sizeof(kMappedPrefix)) == 0; }

bool InetAddr::any6() const { return ip == IpBytes{}; }

bool InetAddr::any() const { return any6() || (mapped() && v4() == 0); }

uint32_t InetAddr::v4() const {
    return (uint32_t{ip[12]} << 24) | (uint32_t{ip[13]} << 16) | (uint32_t{ip[14]} << 8) | ip[15];
}

bool InetAddr::loopback() const { return mapped() ? (v4() >> 24) == 127 : ip == Loopback6(); }

InetAddr InetAddr::FromV4(uint32_t host_order_ip, uint16_t port) {
    InetAddr a;
    memcpy(a.ip.data(), kMappedPrefix, sizeof(kMappedPrefix));
    a.ip[12] = static_cast<uint8_t>(host_order_ip >> 24);
    a.ip[13] = static_cast<uint8_t>(host_order_ip >> 16);
    a.ip[14] = static_cast<uint8_t>(host_order_ip >> 8);
    a.ip[15] = static_cast<uint8_t>(host_order_ip);
    a.port = port;
    return a;
}

IpBytes Loopback6() {
    IpBytes b{};
    b[15] = 1;
    return b;
}

IpBytes Any4Mapped() { return InetAddr::FromV4(0, 0).ip; }

Result<InetAddr> ParseInetAddr(int family, const SockAddr& addr, bool allow_unspec) {
    if (addr.size() < sizeof(sa_family_t))
        return Error(EINVAL);
    sa_family_t fam;
    memcpy(&fam, addr.data(), sizeof(fam));
    if (family == AF_INET) {
        if (addr.size() < sizeof(sockaddr_in))
            return Error(EINVAL);
        if (fam != AF_INET && !(allow_unspec && fam == AF_UNSPEC))
            return Error(EAFNOSUPPORT);
        sockaddr_in sin;
        memcpy(&sin, addr.data(), sizeof(sin));
        return InetAddr::FromV4(ntohl(sin.sin_addr.s_addr), ntohs(sin.sin_port));
    }
    // SIN6_LEN_RFC2133: an address without sin6_scope_id is accepted.
    constexpr size_t kSin6LenRfc2133 = 24;
    if (addr.size() < kSin6LenRfc2133)
        return Error(EINVAL);
    if (fam != AF_INET6)
        return Error(EAFNOSUPPORT);
    sockaddr_in6 sin6{};
    memcpy(&sin6, addr.data(), std::min(addr.size(), sizeof(sin6)));
    InetAddr a;
    memcpy(a.ip.data(), &sin6.sin6_addr, 16);
    a.port = ntohs(sin6.sin6_port);
    return a;
}

SockAddr FormatInetAddr(int family, const InetAddr& a) {
    if (family == AF_INET) {
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_port = htons(a.port);
        sin.sin_addr.s_addr = htonl(a.mapped() ? a.v4() : 0);
        return SockAddr(reinterpret_cast<const char*>(&sin), sizeof(sin));
    }
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(a.port);
    memcpy(&sin6.sin6_addr, a.ip.data(), 16);
    return SockAddr(reinterpret_cast<const char*>(&sin6), sizeof(sin6));
}

Result<InetAddr> RouteLoopback(const InetAddr& dst) {
    InetAddr out = dst;
    if (dst.any6()) {
        out.ip = Loopback6();
    } else if (dst.mapped() && dst.v4() == 0) {
        out = InetAddr::FromV4(kLoopback4, dst.port);
    } else if (!dst.loopback()) {
        return Error(ENETUNREACH);
    }
    return out;
}

BindScope BindScope::Of(int family, bool v6only, const IpBytes& ip) {
    InetAddr a{ip, 0};
    BindScope s;
    s.ip = ip;
    if (family == AF_INET || a.mapped()) {
        s.v4 = a.v4() == 0 ? kAll : kOne;
    } else if (a.any6()) {
        s.v6 = kAll;
        s.v4 = v6only ? kNone : kAll;
    } else {
        s.v6 = kOne;
    }
    return s;
}

bool BindScope::Overlaps(const BindScope& o) const {
    bool four = v4 != kNone && o.v4 != kNone && (v4 == kAll || o.v4 == kAll || ip == o.ip);
    bool six = v6 != kNone && o.v6 != kNone && (v6 == kAll || o.v6 == kAll || ip == o.ip);
    return four || six;
}

int BindScope::Match(const IpBytes& dst) const {
    Kind k = InetAddr{dst, 0}.mapped() ? v4 : v6;
    if (k == kAll)
        return 1;
    return k == kOne && ip == dst ? 2 : 0;
}

std::string FormatIp(const IpBytes& ip) {
    char buf[INET6_ADDRSTRLEN] = {};
    InetAddr a{ip, 0};
    if (a.mapped()) {
        in_addr in{htonl(a.v4())};
        inet_ntop(AF_INET, &in, buf, sizeof(buf));
    } else {
        inet_ntop(AF_INET6, ip.data(), buf, sizeof(buf));
    }
    return buf;
}

}  // namespace moat::net
