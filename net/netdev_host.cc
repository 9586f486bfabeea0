// NetworkConfig::FromHost: what --network=host shows of the host's network, read once by the
// sentry at start-up: getifaddrs, then the host's rtnetlink for what it leaves out (qdiscs,
// address flags such as nodad).

#include "net/netdev.h"

#include "net/netlink/nl_message.h"
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
#include <string_view>
#include <vector>

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

// Calls `fn(message)` for every message of a host rtnetlink dump of `type`.
template <typename Fn>
void HostDump(uint16_t type, Fn&& fn) {
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd)
        return;
    struct {
        nlmsghdr h;
        rtgenmsg g;
        char pad[3];
    } req{};
    req.h.nlmsg_len = sizeof(req);
    req.h.nlmsg_type = type;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.h.nlmsg_seq = 1;
    if (::send(fd.get(), &req, sizeof(req), 0) != static_cast<ssize_t>(sizeof(req)))
        return;
    std::vector<char> buf(32768);
    for (;;) {
        ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
        if (n <= 0)
            return;
        size_t off = 0;
        while (off + sizeof(nlmsghdr) <= static_cast<size_t>(n)) {
            nlmsghdr h;
            memcpy(&h, buf.data() + off, sizeof(h));
            if (h.nlmsg_len < sizeof(h) || off + h.nlmsg_len > static_cast<size_t>(n))
                return;
            if (h.nlmsg_type == NLMSG_DONE || h.nlmsg_type == NLMSG_ERROR)
                return;
            fn(std::string_view(buf.data() + off + sizeof(h), h.nlmsg_len - sizeof(h)));
            off += NLMSG_ALIGN(h.nlmsg_len);
        }
    }
}

// What getifaddrs does not tell: each link's qdisc, each address's IFA_F_* flags.
void AddHostDetails(std::map<int, Interface>& by_index) {
    HostDump(RTM_GETLINK, [&](std::string_view p) {
        if (p.size() < sizeof(ifinfomsg))
            return;
        ifinfomsg ifi;
        memcpy(&ifi, p.data(), sizeof(ifi));
        auto it = by_index.find(ifi.ifi_index);
        if (it == by_index.end())
            return;
        ForEachAttr(p, sizeof(ifinfomsg), [&](uint16_t t, std::string_view v) {
            if (t == IFLA_QDISC)
                it->second.qdisc = std::string(v.substr(0, v.find('\0')));
        });
    });
    HostDump(RTM_GETADDR, [&](std::string_view p) {
        if (p.size() < sizeof(ifaddrmsg))
            return;
        ifaddrmsg ifa;
        memcpy(&ifa, p.data(), sizeof(ifa));
        auto it = by_index.find(static_cast<int>(ifa.ifa_index));
        if (it == by_index.end())
            return;
        std::array<uint8_t, 16> addr{};
        uint32_t flags = ifa.ifa_flags;
        size_t alen = ifa.ifa_family == AF_INET ? 4 : 16;
        ForEachAttr(p, sizeof(ifaddrmsg), [&](uint16_t t, std::string_view v) {
            if ((t == IFA_LOCAL || (t == IFA_ADDRESS && ifa.ifa_family == AF_INET6)) && v.size() >= alen)
                memcpy(addr.data(), v.data(), alen);
            else if (t == IFA_FLAGS && v.size() >= 4)
                memcpy(&flags, v.data(), 4);
        });
        for (auto& a : it->second.addrs)
            if (a.family == ifa.ifa_family && a.addr == addr) {
                a.flags = flags;
                a.scope = ifa.ifa_scope;
            }
    });
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
            iface.qdisc = (iface.flags & IFF_LOOPBACK) ? "noqueue" : "noop";  // AddHostDetails knows better
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
    AddHostDetails(by_index);
    NetworkConfig c;
    for (auto& [index, iface] : by_index)
        c.AddInterface(std::move(iface));
    AddHostGateways(c);
    c.AddLocalRoutes();  // sorts the gateways in too
    return c;
}

}  // namespace moat::net
