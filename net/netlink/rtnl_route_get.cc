// RTM_GETROUTE without NLM_F_DUMP (`ip route get`): the route the sandbox would use for a
// destination, as inet_rtm_getroute / inet6_rtm_getroute answer — the policy rules' order
// (the local table, then main), the longest prefix within a table, ENETUNREACH otherwise.

#include "net/netlink/rtnl_fill.h"

#include "net/netlink/nl_message.h"

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace moat::net {

namespace {

// Linux's RTCF_LOCAL / RTCF_BROADCAST in a cached route's rtm_flags.
constexpr uint32_t kRtcfLocal = 0x80000000, kRtcfBroadcast = 0x10000000;
constexpr uint16_t kRtaUid = 25;

bool Matches(const Route& r, const std::array<uint8_t, 16>& dst) {
    for (int bit = 0; bit < r.dst_len; ++bit) {
        uint8_t mask = static_cast<uint8_t>(0x80 >> (bit % 8));
        if ((r.dst[bit / 8] & mask) != (dst[bit / 8] & mask))
            return false;
    }
    return true;
}

const Route* Lookup(const NetworkConfig& config, int family, const std::array<uint8_t, 16>& dst) {
    for (uint8_t table : {uint8_t{RT_TABLE_LOCAL}, uint8_t{RT_TABLE_MAIN}}) {
        const Route* best = nullptr;
        for (const auto& r : config.routes())
            if (r.family == family && r.table == table && Matches(r, dst) && (!best || r.dst_len > best->dst_len))
                best = &r;
        if (best)
            return best;
    }
    return nullptr;
}

}  // namespace

Result<std::string> FillRouteGet(const NetworkConfig& config, int family, const std::array<uint8_t, 16>& dst,
                                 uint32_t uid, const NlHead& h) {
    const Route* r = Lookup(config, family, dst);
    // ip_route_output_key: IPv4's any address is this host, through the loopback device.
    Route any;
    if (family == AF_INET && dst == std::array<uint8_t, 16>{}) {
        any.family = AF_INET;
        any.type = RTN_LOCAL;
        for (const auto& iface : config.interfaces())
            if ((iface.flags & IFF_LOOPBACK) && any.oif == 0) {
                any.oif = iface.index;
                any.has_prefsrc = true;
                any.prefsrc = {127, 0, 0, 1};
            }
        if (any.oif)
            r = &any;
    }
    if (!r)
        return Error(ENETUNREACH);
    NlMessage m(RTM_NEWROUTE, h.flags, h.seq, h.portid);
    rtmsg rtm{};
    rtm.rtm_family = static_cast<uint8_t>(family);
    rtm.rtm_type = r->type;
    rta_cacheinfo ci{};
    ci.rta_clntref = 2;
    if (family == AF_INET) {
        rtm.rtm_dst_len = 32;
        rtm.rtm_table = RT_TABLE_MAIN;  // the compat table field of a cached route
        rtm.rtm_flags = RTM_F_CLONED | (r->type == RTN_LOCAL ? kRtcfLocal : 0) |
                        (r->type == RTN_BROADCAST ? kRtcfLocal | kRtcfBroadcast : 0);
        m.Put(rtm);
        m.AttrU32(RTA_TABLE, RT_TABLE_MAIN);
        m.Attr(RTA_DST, dst.data(), 4);
        m.AttrU32(RTA_OIF, static_cast<uint32_t>(r->oif));
        if (r->has_gateway)
            m.Attr(RTA_GATEWAY, r->gateway.data(), 4);
        // The preferred source: the route's, else the outgoing interface's first address.
        const Interface* iface = config.FindByIndex(r->oif);
        if (r->has_prefsrc) {
            m.Attr(RTA_PREFSRC, r->prefsrc.data(), 4);
        } else if (iface) {
            for (const auto& a : iface->addrs)
                if (a.family == AF_INET) {
                    m.Attr(RTA_PREFSRC, a.addr.data(), 4);
                    break;
                }
        }
        m.AttrU32(kRtaUid, uid);
        m.Attr(RTA_CACHEINFO, &ci, sizeof(ci));
    } else {
        rtm.rtm_dst_len = 128;
        rtm.rtm_src_len = 128;
        rtm.rtm_table = r->table;
        rtm.rtm_protocol = r->protocol;
        m.Put(rtm);
        m.AttrU32(RTA_TABLE, r->table);
        m.Attr(RTA_DST, dst.data(), 16);
        std::array<uint8_t, 16> any{};
        m.Attr(RTA_SRC, any.data(), 16);
        // The preferred source: an address of the outgoing interface (the destination itself
        // for a local route).
        const Interface* iface = config.FindByIndex(r->oif);
        std::array<uint8_t, 16> src = dst;
        if (r->type != RTN_LOCAL && iface)
            for (const auto& a : iface->addrs)
                if (a.family == AF_INET6) {
                    src = a.addr;
                    break;
                }
        m.Attr(RTA_PREFSRC, src.data(), 16);
        if (r->has_gateway)
            m.Attr(RTA_GATEWAY, r->gateway.data(), 16);
        m.AttrU32(RTA_PRIORITY, r->priority);
        m.AttrU32(RTA_OIF, static_cast<uint32_t>(r->oif));
        m.Attr(RTA_CACHEINFO, &ci, sizeof(ci));
        m.AttrU8(RTA_PREF, 0);
    }
    return std::move(m).Finish();
}

}  // namespace moat::net
