// rtnetlink_rcv_msg for the sandbox: dumps of its links, addresses, routes and rules, and
// the errors and acks netlink_rcv_skb / netlink_ack produce.

#include "net/netlink/rtnetlink.h"

#include "net/netlink/nl_message.h"
#include "net/netlink/rtnl_fill.h"

#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include <cerrno>
#include <optional>

namespace moat::net {

namespace {

enum class Kind { kNew = 0, kDel = 1, kGet = 2, kSet = 3 };

// A dump's answer: its messages, or the errno the DONE message carries.
struct Dump {
    std::vector<std::string> msgs;
    int error = 0;
    bool filtered = false;  // NLM_F_DUMP_FILTERED on every message and on DONE
};

template <typename T>
std::optional<T> Header(std::string_view payload) {
    if (payload.size() < sizeof(T))
        return std::nullopt;
    T h;
    memcpy(&h, payload.data(), sizeof(T));
    return h;
}

uint8_t FamilyOf(std::string_view payload) { return static_cast<uint8_t>(payload[0]); }

// rtnl_dump_all and the per-family handlers: AF_INET, AF_INET6, or every family for one
// without handlers of its own.
bool WantsFamily(uint8_t requested, int family) {
    if (requested == AF_INET || requested == AF_INET6)
        return requested == family;
    return true;
}

Dump DumpLinks(const NetworkConfig& config, const NlRequest& req, const RtnlCaller& caller, const NlHead& h) {
    Dump d;
    if (caller.strict) {
        // rtnl_valid_dump_ifinfo_req.
        auto ifi = Header<ifinfomsg>(req.payload);
        if (!ifi || ifi->__ifi_pad || ifi->ifi_type || ifi->ifi_flags || ifi->ifi_change || ifi->ifi_index) {
            d.error = EINVAL;
            return d;
        }
        bool ok = ForEachAttr(req.payload, sizeof(ifinfomsg), [&](uint16_t type, std::string_view) {
            if (type != IFLA_TARGET_NETNSID && type != IFLA_EXT_MASK && type != IFLA_MASTER && type != IFLA_LINKINFO)
                d.error = EINVAL;
        });
        if (!ok)
            d.error = EINVAL;
        if (d.error)
            return d;
    }
    for (const auto& iface : config.interfaces())
        d.msgs.push_back(FillLink(iface, h));
    return d;
}

Dump DumpAddrs(const NetworkConfig& config, const NlRequest& req, const RtnlCaller& caller, NlHead h) {
    Dump d;
    uint8_t family = FamilyOf(req.payload);
    int index = 0;
    if (caller.strict) {
        // inet_valid_dump_ifaddr_req.
        auto ifa = Header<ifaddrmsg>(req.payload);
        if (!ifa || ifa->ifa_prefixlen || ifa->ifa_flags || ifa->ifa_scope) {
            d.error = EINVAL;
            return d;
        }
        index = static_cast<int>(ifa->ifa_index);
        bool ok = ForEachAttr(req.payload, sizeof(ifaddrmsg), [&](uint16_t type, std::string_view) {
            if (type != IFA_TARGET_NETNSID)
                d.error = EINVAL;
        });
        if (!ok || d.error) {
            d.error = EINVAL;
            return d;
        }
        d.filtered = index != 0;
    }
    if (d.filtered)
        h.flags |= NLM_F_DUMP_FILTERED;
    for (int fam : {AF_INET, AF_INET6}) {
        if (!WantsFamily(family, fam))
            continue;
        for (const auto& iface : config.interfaces()) {
            if (index && iface.index != index)
                continue;
            for (const auto& a : iface.addrs)
                if (a.family == fam)
                    d.msgs.push_back(FillAddr(iface, a, h));
        }
    }
    return d;
}

Dump DumpRoutes(const NetworkConfig& config, const NlRequest& req, const RtnlCaller& caller, NlHead h) {
    Dump d;
    uint8_t family = FamilyOf(req.payload);
    uint32_t table = 0, oif = 0;
    uint8_t protocol = 0, type = 0;
    bool cloned = false;
    if (caller.strict) {
        // ip_valid_fib_dump_req.
        auto rtm = Header<rtmsg>(req.payload);
        if (!rtm || rtm->rtm_dst_len || rtm->rtm_src_len || rtm->rtm_tos || rtm->rtm_scope ||
            (rtm->rtm_flags & ~(RTM_F_CLONED | RTM_F_PREFIX))) {
            d.error = EINVAL;
            return d;
        }
        table = rtm->rtm_table;
        protocol = rtm->rtm_protocol;
        type = rtm->rtm_type;
        cloned = rtm->rtm_flags & RTM_F_CLONED;
        bool ok = ForEachAttr(req.payload, sizeof(rtmsg), [&](uint16_t t, std::string_view v) {
            if (t == RTA_TABLE && v.size() >= 4)
                memcpy(&table, v.data(), 4);
            else if (t == RTA_OIF && v.size() >= 4)
                memcpy(&oif, v.data(), 4);
            else
                d.error = EINVAL;
        });
        if (!ok || d.error) {
            d.error = EINVAL;
            return d;
        }
        if (oif && !config.FindByIndex(static_cast<int>(oif))) {
            d.error = ENODEV;
            return d;
        }
        d.filtered = table || protocol || type || oif || rtm->rtm_flags;
    } else if (auto rtm = Header<rtmsg>(req.payload)) {
        cloned = rtm->rtm_flags & RTM_F_CLONED;
    }
    if (d.filtered)
        h.flags |= NLM_F_DUMP_FILTERED;
    // Only the main and local tables exist; asking one family for another is ENOENT.
    if (table && table != RT_TABLE_MAIN && table != RT_TABLE_LOCAL && (family == AF_INET || family == AF_INET6)) {
        d.error = ENOENT;
        return d;
    }
    if (cloned)  // no route cache entries
        return d;
    for (const auto& r : config.routes()) {
        if (!WantsFamily(family, r.family))
            continue;
        if ((table && r.table != table) || (protocol && r.protocol != protocol) || (type && r.type != type) ||
            (oif && static_cast<uint32_t>(r.oif) != oif))
            continue;
        d.msgs.push_back(FillRoute(r, h));
    }
    return d;
}

Dump DumpRules(const NlRequest& req, const NlHead& h) {
    Dump d;
    uint8_t family = FamilyOf(req.payload);
    for (int fam : {AF_INET, AF_INET6})
        if (WantsFamily(family, fam))
            for (auto& m : FillRules(fam, h))
                d.msgs.push_back(std::move(m));
    return d;
}

// netlink_ack: NLMSG_ERROR with `error` (0: an ack) and the request's header, plus its
// payload for an error unless NETLINK_CAP_ACK.
std::string Ack(const NlRequest& req, int error, const RtnlCaller& caller) {
    bool capped = error == 0 || caller.cap_ack;
    NlMessage m(NLMSG_ERROR, capped ? NLM_F_CAPPED : 0, req.header.nlmsg_seq, caller.portid);
    int32_t e = -error;
    m.PutBytes(&e, sizeof(e));
    m.PutBytes(&req.header, sizeof(req.header));
    if (!capped)
        m.PutBytes(req.payload.data(), req.payload.size());
    return std::move(m).Finish();
}

// netlink_dump: messages packed into datagrams of at most max_datagram bytes, NLMSG_DONE
// (with the errno) in the last one when it fits.
void PackDump(Dump d, const NlRequest& req, const RtnlCaller& caller, std::vector<std::string>& out) {
    uint16_t flags = NLM_F_MULTI | (d.filtered ? NLM_F_DUMP_FILTERED : 0);
    NlMessage done(NLMSG_DONE, flags, req.header.nlmsg_seq, caller.portid);
    int32_t e = -d.error;
    done.PutBytes(&e, sizeof(e));
    d.msgs.push_back(std::move(done).Finish());
    std::string cur;
    for (auto& m : d.msgs) {
        if (!cur.empty() && cur.size() + m.size() > caller.max_datagram)
            out.push_back(std::move(cur)), cur.clear();
        cur += m;
    }
    out.push_back(std::move(cur));
}

// inet_rtm_getroute / inet6_rtm_getroute: RTA_DST names the destination (none: the any
// address).
int GetRoute(const NetworkConfig& config, const NlRequest& req, const RtnlCaller& caller,
             std::vector<std::string>& out) {
    auto rtm = Header<rtmsg>(req.payload);
    if (!rtm)
        return EINVAL;
    int family = rtm->rtm_family;
    if (family != AF_INET && family != AF_INET6)
        return EOPNOTSUPP;
    size_t alen = family == AF_INET ? 4 : 16;
    std::array<uint8_t, 16> dst{};
    bool bad = false;
    if (!ForEachAttr(req.payload, sizeof(rtmsg), [&](uint16_t t, std::string_view v) {
            if (t == RTA_DST) {
                if (v.size() < alen)
                    bad = true;
                else
                    memcpy(dst.data(), v.data(), alen);
            }
        }) ||
        bad)
        return EINVAL;
    auto msg = FillRouteGet(config, family, dst, caller.uid, NlHead{0, req.header.nlmsg_seq, caller.portid});
    if (!msg.ok())
        return msg.error();
    out.push_back(std::move(*msg));
    return 0;
}

// rtnetlink_rcv_msg: the errno to ack with (0 after a dump or a reply, which ack themselves
// only on request).
int HandleMessage(const NetworkConfig& config, const NlRequest& req, const RtnlCaller& caller,
                  std::vector<std::string>& out, bool& answered) {
    uint16_t type = req.header.nlmsg_type;
    if (type > RTM_MAX)
        return EOPNOTSUPP;
    if (req.payload.empty())  // shorter than struct rtgenmsg: ignored
        return 0;
    auto kind = static_cast<Kind>((type - RTM_BASE) & 3);
    // Every change needs CAP_NET_ADMIN over the network, which the sandbox never has.
    if (kind != Kind::kGet)
        return EPERM;
    NlHead h{NLM_F_MULTI, req.header.nlmsg_seq, caller.portid};
    if (req.header.nlmsg_flags & NLM_F_DUMP) {
        Dump d;
        switch (type) {
        case RTM_GETLINK: d = DumpLinks(config, req, caller, h); break;
        case RTM_GETADDR: d = DumpAddrs(config, req, caller, h); break;
        case RTM_GETROUTE: d = DumpRoutes(config, req, caller, h); break;
        case RTM_GETRULE: d = DumpRules(req, h); break;
        case RTM_GETNEIGH: break;  // no neighbours on loopback
        default: return EOPNOTSUPP;
        }
        PackDump(std::move(d), req, caller, out);
        answered = true;
        return 0;
    }
    if (type == RTM_GETROUTE)
        return GetRoute(config, req, caller, out);
    if (type != RTM_GETLINK)
        return EOPNOTSUPP;
    // rtnl_getlink: by index, else by IFLA_IFNAME.
    auto ifi = Header<ifinfomsg>(req.payload);
    if (!ifi)
        return EINVAL;
    std::optional<std::string> name;
    if (!ForEachAttr(req.payload, sizeof(ifinfomsg), [&](uint16_t t, std::string_view v) {
            if (t == IFLA_IFNAME)
                name = std::string(v.substr(0, v.find('\0')));
        }))
        return EINVAL;
    const Interface* iface = nullptr;
    if (ifi->ifi_index > 0)
        iface = config.FindByIndex(ifi->ifi_index);
    else if (name)
        iface = config.FindByName(*name);
    else
        return EINVAL;
    if (!iface)
        return ENODEV;
    out.push_back(FillLink(*iface, NlHead{0, req.header.nlmsg_seq, caller.portid}));
    return 0;
}

}  // namespace

std::vector<std::string> RtnlReceive(const NetworkConfig& config, std::string_view data, const RtnlCaller& caller) {
    std::vector<std::string> out;
    while (data.size() >= NLMSG_HDRLEN) {
        NlRequest req;
        memcpy(&req.header, data.data(), sizeof(req.header));
        if (req.header.nlmsg_len < NLMSG_HDRLEN || req.header.nlmsg_len > data.size())
            break;
        req.payload = data.substr(NLMSG_HDRLEN, req.header.nlmsg_len - NLMSG_HDRLEN);
        int error = 0;
        bool answered = false;
        if ((req.header.nlmsg_flags & NLM_F_REQUEST) && req.header.nlmsg_type >= NLMSG_MIN_TYPE)
            error = HandleMessage(config, req, caller, out, answered);
        // A dump acknowledges itself with NLMSG_DONE.
        if (!(answered && error == 0 && (req.header.nlmsg_flags & NLM_F_DUMP)) &&
            (error || (req.header.nlmsg_flags & NLM_F_ACK)))
            out.push_back(Ack(req, error, caller));
        data.remove_prefix(std::min(data.size(), NlAlign(req.header.nlmsg_len)));
    }
    return out;
}

}  // namespace moat::net
