#include "net/netdev.h"

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <net/if_arp.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <algorithm>
#include <cstring>

namespace moat::net {

namespace {

// IFF_LOWER_UP lives in linux/if.h, which clashes with net/if.h.
constexpr uint32_t kIffLowerUp = 1u << 16;

std::array<uint8_t, 16> V4Bytes(uint32_t host_order) {
    std::array<uint8_t, 16> a{};
    uint32_t be = htonl(host_order);
    memcpy(a.data(), &be, 4);
    return a;
}

Route LocalRoute(int family, const std::array<uint8_t, 16>& dst, uint8_t dst_len, uint8_t type, uint8_t scope,
                 int oif) {
    Route r;
    r.family = family;
    r.dst = dst;
    r.dst_len = dst_len;
    r.table = RT_TABLE_LOCAL;
    r.protocol = RTPROT_KERNEL;
    r.scope = scope;
    r.type = type;
    r.oif = oif;
    return r;
}

}  // namespace

uint32_t InterfaceAddr::v4() const {
    uint32_t be;
    memcpy(&be, addr.data(), 4);
    return ntohl(be);
}

NetworkConfig NetworkConfig::LoopbackOnly() {
    Interface lo;
    lo.index = 1;
    lo.name = "lo";
    lo.flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING | kIffLowerUp;
    lo.mtu = 65536;
    lo.arp_type = ARPHRD_LOOPBACK;
    InterfaceAddr v4;
    v4.family = AF_INET;
    v4.addr = V4Bytes(INADDR_LOOPBACK);
    v4.prefixlen = 8;
    v4.scope = RT_SCOPE_HOST;
    v4.flags = IFA_F_PERMANENT;
    lo.addrs.push_back(v4);
    InterfaceAddr v6;
    v6.family = AF_INET6;
    v6.addr[15] = 1;
    v6.prefixlen = 128;
    v6.scope = RT_SCOPE_HOST;
    v6.flags = IFA_F_PERMANENT;
    lo.addrs.push_back(v6);
    NetworkConfig c;
    c.AddInterface(std::move(lo));
    c.AddLocalRoutes();
    return c;
}

const Interface* NetworkConfig::FindByIndex(int index) const {
    for (const auto& i : m_interfaces)
        if (i.index == index)
            return &i;
    return nullptr;
}

const Interface* NetworkConfig::FindByName(const std::string& name) const {
    for (const auto& i : m_interfaces)
        if (i.name == name)
            return &i;
    return nullptr;
}

void NetworkConfig::AddLocalRoutes() {
    for (const auto& iface : m_interfaces) {
        if (!(iface.flags & IFF_UP))
            continue;
        bool loopback = iface.flags & IFF_LOOPBACK;
        for (const auto& a : iface.addrs) {
            if (a.family == AF_INET) {
                uint32_t host = a.v4();
                uint32_t mask = a.prefixlen == 0 ? 0 : ~0u << (32 - a.prefixlen);
                // fib_add_ifaddr: the address itself; on a loopback device the whole
                // prefix is local too (elsewhere it is a main-table link route).
                if (loopback && a.prefixlen < 32) {
                    Route net = LocalRoute(AF_INET, V4Bytes(host & mask), a.prefixlen, RTN_LOCAL, RT_SCOPE_HOST,
                                           iface.index);
                    net.has_prefsrc = true;
                    net.prefsrc = a.addr;
                    m_routes.push_back(net);
                } else if (a.prefixlen < 32) {
                    Route net = LocalRoute(AF_INET, V4Bytes(host & mask), a.prefixlen, RTN_UNICAST, RT_SCOPE_LINK,
                                           iface.index);
                    net.table = RT_TABLE_MAIN;
                    net.has_prefsrc = true;
                    net.prefsrc = a.addr;
                    m_routes.push_back(net);
                }
                Route self = LocalRoute(AF_INET, a.addr, 32, RTN_LOCAL, RT_SCOPE_HOST, iface.index);
                self.has_prefsrc = true;
                self.prefsrc = a.addr;
                m_routes.push_back(self);
                if (a.prefixlen < 31) {
                    Route bcast = LocalRoute(AF_INET, V4Bytes(host | ~mask), 32, RTN_BROADCAST, RT_SCOPE_LINK,
                                             iface.index);
                    bcast.has_prefsrc = true;
                    bcast.prefsrc = a.addr;
                    m_routes.push_back(bcast);
                }
            } else if (a.family == AF_INET6) {
                m_routes.push_back(LocalRoute(AF_INET6, a.addr, 128, RTN_LOCAL, RT_SCOPE_UNIVERSE, iface.index));
            }
        }
    }
    // The dump order: IPv4 before IPv6, the main table before the local one, keys ascending
    // (Linux walks each table's trie in key order).
    std::stable_sort(m_routes.begin(), m_routes.end(), [](const Route& x, const Route& y) {
        if (x.family != y.family)
            return x.family < y.family;
        if (x.table != y.table)
            return x.table == RT_TABLE_MAIN;
        if (x.dst != y.dst)
            return x.dst < y.dst;
        return x.dst_len < y.dst_len;
    });
}

}  // namespace moat::net
