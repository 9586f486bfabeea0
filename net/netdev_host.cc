// NetworkConfig::FromHost: what --network=host shows of the host's network, read once by the
// sentry at start-up.

#include "net/netdev.h"

#include "platform/base/unique_fd.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_addr.h>
#include <linux/if_packet.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>
#include <map>

namespace moat::net {

namespace {

uint8_t PrefixLen(const sockaddr* mask, int family) {
    if (!mask)
        return family == AF_INET ? 32 : 128;
    const void* bytes = family == AF_INET
                            ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(mask)->sin_addr)
                            : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(mask)->sin6_addr);
    const auto* p = static_cast<const uint8_t*>(bytes);
    size_t n = family == AF_INET ? 4 : 16;
    uint8_t bits = 0;
    for (size_t i = 0; i < n; ++i)
        bits += static_cast<uint8_t>(__builtin_popcount(p[i]));
    return bits;
}

uint8_t ScopeOf(const InterfaceAddr& a) {
    if (a.family == AF_INET)
        return a.addr[0] == 127 ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
    static const std::array<uint8_t, 16> kLoopback = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (a.addr == kLoopback)
        return RT_SCOPE_HOST;
    if (a.addr[0] == 0xfe && (a.addr[1] & 0xc0) == 0x80)
        return RT_SCOPE_LINK;
    return RT_SCOPE_UNIVERSE;
}

// The host's IPv4 gateway routes (the link routes come from the addresses).
void AddHostGateways(NetworkConfig& config) {
    FILE* f = fopen("/proc/net/route", "re");
    if (!f)
        return;
    char line[256];
    (void)!fgets(line, sizeof(line), f);  // header
    while (fgets(line, sizeof(line), f)) {
        char name[IFNAMSIZ + 1];
        unsigned dst, gw, flags, refcnt, use, metric, mask;
        if (sscanf(line, "%16s %x %x %x %u %u %u %x", name, &dst, &gw, &flags, &refcnt, &use, &metric, &mask) != 8)
            continue;
        const Interface* iface = config.FindByName(name);
        if (!(flags & RTF_GATEWAY) || !iface)
            continue;
        Route r;
        r.family = AF_INET;
        memcpy(r.dst.data(), &dst, 4);
        r.dst_len = static_cast<uint8_t>(__builtin_popcount(mask));
        r.table = RT_TABLE_MAIN;
        r.protocol = RTPROT_BOOT;
        r.scope = RT_SCOPE_UNIVERSE;
        r.type = RTN_UNICAST;
        r.oif = iface->index;
        r.has_gateway = true;
        memcpy(r.gateway.data(), &gw, 4);
        r.priority = metric;
        config.AddRoute(r);
    }
    fclose(f);
}

}  // namespace

NetworkConfig NetworkConfig::FromHost() {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0)
        return LoopbackOnly();
    std::map<int, Interface> by_index;
    UniqueFd probe(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    for (ifaddrs* p = list; p; p = p->ifa_next) {
        int index = static_cast<int>(if_nametoindex(p->ifa_name));
        if (index == 0)
            continue;
        Interface& iface = by_index[index];
        if (iface.index == 0) {
            iface.index = index;
            iface.name = p->ifa_name;
            iface.flags = p->ifa_flags;
            ifreq r{};
            strncpy(r.ifr_name, p->ifa_name, IFNAMSIZ - 1);
            if (probe && ::ioctl(probe.get(), SIOCGIFMTU, &r) == 0)
                iface.mtu = static_cast<uint32_t>(r.ifr_mtu);
            if (probe && ::ioctl(probe.get(), SIOCGIFTXQLEN, &r) == 0)
                iface.txqlen = static_cast<uint32_t>(r.ifr_qlen);
            // FIXME(#6): the host's real qdisc needs a host RTM_GETLINK; a down device has none.
            iface.qdisc = (iface.flags & IFF_LOOPBACK) ? "noqueue" : (iface.flags & IFF_UP) ? "fq_codel" : "noop";
        }
        if (!p->ifa_addr)
            continue;
        int family = p->ifa_addr->sa_family;
        if (family == AF_PACKET) {
            auto* ll = reinterpret_cast<const sockaddr_ll*>(p->ifa_addr);
            iface.arp_type = ll->sll_hatype;
            memcpy(iface.hwaddr.data(), ll->sll_addr, std::min<size_t>(ll->sll_halen, 6));
            if (p->ifa_broadaddr) {
                auto* b = reinterpret_cast<const sockaddr_ll*>(p->ifa_broadaddr);
                memcpy(iface.hwbroadcast.data(), b->sll_addr, std::min<size_t>(b->sll_halen, 6));
            }
        } else if (family == AF_INET || family == AF_INET6) {
            InterfaceAddr a;
            a.family = family;
            if (family == AF_INET) {
                memcpy(a.addr.data(), &reinterpret_cast<const sockaddr_in*>(p->ifa_addr)->sin_addr, 4);
                if ((p->ifa_flags & IFF_BROADCAST) && p->ifa_broadaddr)
                    memcpy(a.broadcast.data(), &reinterpret_cast<const sockaddr_in*>(p->ifa_broadaddr)->sin_addr, 4);
            } else {
                memcpy(a.addr.data(), &reinterpret_cast<const sockaddr_in6*>(p->ifa_addr)->sin6_addr, 16);
            }
            a.prefixlen = PrefixLen(p->ifa_netmask, family);
            a.scope = ScopeOf(a);
            a.flags = IFA_F_PERMANENT;
            iface.addrs.push_back(a);
        }
    }
    freeifaddrs(list);
    NetworkConfig c;
    for (auto& [index, iface] : by_index)
        c.AddInterface(std::move(iface));
    AddHostGateways(c);
    c.AddLocalRoutes();  // sorts the gateways in too
    return c;
}

}  // namespace moat::net
