#include "net/netlink/rtnl_fill.h"

#include "net/netlink/nl_message.h"

#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>

namespace moat::net {

namespace {

// Sizes of the statistics blocks as this Linux (6.x) reports them: rtnl_link_stats64 with
// rx_otherhost_dropped, rtnl_link_stats, rtnl_link_ifmap.
constexpr size_t kStats64Size = 200;
constexpr size_t kStatsSize = 96;
constexpr size_t kIfmapSize = 32;
// Attribute numbers newer than some uapi headers.
constexpr uint16_t kIflaMinMtu = 50, kIflaMaxMtu = 51, kIflaGroMaxSize = 58, kIflaTsoMaxSize = 59,
                   kIflaTsoMaxSegs = 60, kIflaAllmulti = 61, kIflaGsoIpv4MaxSize = 63, kIflaGroIpv4MaxSize = 64;
constexpr uint16_t kIfaProto = 11;
constexpr uint8_t kIfaprotKernelLo = 1;
constexpr uint16_t kFraProtocol = 21;
constexpr uint32_t kIfReady = 0x80000000;  // IF_READY, the IPv6 state of an interface that is up
// IF_OPER_* (linux/if.h, which clashes with net/if.h).
constexpr uint8_t kOperUnknown = 0, kOperDown = 2, kOperUp = 6;

uint8_t OperState(const Interface& iface) {
    if (iface.flags & IFF_LOOPBACK)
        return kOperUnknown;
    return (iface.flags & IFF_RUNNING) ? kOperUp : kOperDown;
}

}  // namespace

std::string FillLink(const Interface& iface, const NlHead& h) {
    NlMessage m(RTM_NEWLINK, h.flags, h.seq, h.portid);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_type = iface.arp_type;
    ifi.ifi_index = iface.index;
    ifi.ifi_flags = iface.flags;
    m.Put(ifi);
    m.AttrString(IFLA_IFNAME, iface.name);
    m.AttrU32(IFLA_TXQLEN, iface.txqlen);
    m.AttrU8(IFLA_OPERSTATE, OperState(iface));
    m.AttrU8(IFLA_LINKMODE, 0);
    m.AttrU32(IFLA_MTU, iface.mtu);
    m.AttrU32(kIflaMinMtu, 0);
    m.AttrU32(kIflaMaxMtu, 0);
    m.AttrU32(IFLA_GROUP, 0);
    m.AttrU32(IFLA_PROMISCUITY, 0);
    m.AttrU32(kIflaAllmulti, 0);
    m.AttrU32(IFLA_NUM_TX_QUEUES, 1);
    m.AttrU32(IFLA_GSO_MAX_SEGS, 65535);
    m.AttrU32(IFLA_GSO_MAX_SIZE, 65536);
    m.AttrU32(kIflaGroMaxSize, 65536);
    m.AttrU32(kIflaGsoIpv4MaxSize, 65536);
    m.AttrU32(kIflaGroIpv4MaxSize, 65536);
    m.AttrU32(kIflaTsoMaxSize, 524280);
    m.AttrU32(kIflaTsoMaxSegs, 65535);
    m.AttrU32(IFLA_NUM_RX_QUEUES, 1);
    m.AttrU8(IFLA_CARRIER, (iface.flags & IFF_RUNNING) ? 1 : 0);
    m.AttrU32(IFLA_CARRIER_CHANGES, 0);
    m.AttrU32(IFLA_CARRIER_UP_COUNT, 0);
    m.AttrU32(IFLA_CARRIER_DOWN_COUNT, 0);
    m.AttrU8(IFLA_PROTO_DOWN, 0);
    m.Attr(IFLA_ADDRESS, iface.hwaddr.data(), iface.hwaddr.size());
    m.Attr(IFLA_BROADCAST, iface.hwbroadcast.data(), iface.hwbroadcast.size());
    m.AttrZeros(IFLA_STATS64, kStats64Size);
    m.AttrZeros(IFLA_STATS, kStatsSize);
    size_t xdp = m.BeginNest(IFLA_XDP);
    m.AttrU8(IFLA_XDP_ATTACHED, 0);
    m.EndNest(xdp);
    m.AttrString(IFLA_QDISC, iface.qdisc);
    // The IPv6 part of IFLA_AF_SPEC that `ip -d link` shows (addrgenmode eui64).
    size_t af_spec = m.BeginNest(IFLA_AF_SPEC);
    size_t inet6 = m.BeginNest(AF_INET6);
    m.AttrU32(IFLA_INET6_FLAGS, kIfReady);
    m.AttrU8(IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_EUI64);
    m.EndNest(inet6);
    m.EndNest(af_spec);
    m.AttrZeros(IFLA_MAP, kIfmapSize);
    return std::move(m).Finish();
}

std::string FillAddr(const Interface& iface, const InterfaceAddr& a, const NlHead& h) {
    NlMessage m(RTM_NEWADDR, h.flags, h.seq, h.portid);
    ifaddrmsg ifa{};
    ifa.ifa_family = static_cast<uint8_t>(a.family);
    ifa.ifa_prefixlen = a.prefixlen;
    ifa.ifa_flags = static_cast<uint8_t>(a.flags);
    ifa.ifa_scope = a.scope;
    ifa.ifa_index = static_cast<uint32_t>(iface.index);
    m.Put(ifa);
    ifa_cacheinfo ci{};
    ci.ifa_prefered = 0xffffffff;
    ci.ifa_valid = 0xffffffff;
    if (a.family == AF_INET) {
        m.Attr(IFA_ADDRESS, a.addr.data(), 4);
        m.Attr(IFA_LOCAL, a.addr.data(), 4);
        bool has_brd = false;
        for (uint8_t b : a.broadcast)
            has_brd |= b != 0;
        if (has_brd)
            m.Attr(IFA_BROADCAST, a.broadcast.data(), 4);
        m.AttrString(IFA_LABEL, iface.name);
        m.AttrU32(IFA_FLAGS, a.flags);
        m.Attr(IFA_CACHEINFO, &ci, sizeof(ci));
    } else {
        m.Attr(IFA_ADDRESS, a.addr.data(), 16);
        m.Attr(IFA_CACHEINFO, &ci, sizeof(ci));
        m.AttrU32(IFA_FLAGS, a.flags);
        if (iface.flags & IFF_LOOPBACK)
            m.AttrU8(kIfaProto, kIfaprotKernelLo);
    }
    return std::move(m).Finish();
}

std::string FillRoute(const Route& r, const NlHead& h) {
    NlMessage m(RTM_NEWROUTE, h.flags, h.seq, h.portid);
    rtmsg rtm{};
    rtm.rtm_family = static_cast<uint8_t>(r.family);
    rtm.rtm_dst_len = r.dst_len;
    rtm.rtm_table = r.table;
    rtm.rtm_protocol = r.protocol;
    rtm.rtm_scope = r.scope;
    rtm.rtm_type = r.type;
    m.Put(rtm);
    size_t alen = r.family == AF_INET ? 4 : 16;
    m.AttrU32(RTA_TABLE, r.table);
    if (r.dst_len > 0)
        m.Attr(RTA_DST, r.dst.data(), alen);
    if (r.family == AF_INET) {
        if (r.has_gateway)
            m.Attr(RTA_GATEWAY, r.gateway.data(), alen);
        if (r.priority)
            m.AttrU32(RTA_PRIORITY, r.priority);
        if (r.has_prefsrc)
            m.Attr(RTA_PREFSRC, r.prefsrc.data(), alen);
        m.AttrU32(RTA_OIF, static_cast<uint32_t>(r.oif));
    } else {
        if (r.has_gateway)
            m.Attr(RTA_GATEWAY, r.gateway.data(), alen);
        m.AttrU32(RTA_PRIORITY, r.priority);
        m.AttrU32(RTA_OIF, static_cast<uint32_t>(r.oif));
        rta_cacheinfo ci{};
        m.Attr(RTA_CACHEINFO, &ci, sizeof(ci));
        m.AttrU8(RTA_PREF, 0);
    }
    return std::move(m).Finish();
}

std::vector<std::string> FillRules(int family, const NlHead& h) {
    struct Rule {
        uint8_t table;
        uint32_t priority;
    };
    std::vector<Rule> rules = {{RT_TABLE_LOCAL, 0}, {RT_TABLE_MAIN, 32766}};
    if (family == AF_INET)
        rules.push_back({RT_TABLE_DEFAULT, 32767});
    std::vector<std::string> out;
    for (const Rule& rule : rules) {
        NlMessage m(RTM_NEWRULE, h.flags, h.seq, h.portid);
        fib_rule_hdr frh{};
        frh.family = static_cast<uint8_t>(family);
        frh.table = rule.table;
        frh.action = FR_ACT_TO_TBL;
        m.Put(frh);
        m.AttrU32(FRA_TABLE, rule.table);
        m.AttrU32(FRA_SUPPRESS_PREFIXLEN, 0xffffffff);
        m.AttrU8(kFraProtocol, RTPROT_KERNEL);
        if (rule.priority)
            m.AttrU32(FRA_PRIORITY, rule.priority);
        out.push_back(std::move(m).Finish());
    }
    return out;
}

}  // namespace moat::net
