// AF_NETLINK NETLINK_ROUTE: socket creation, port ids, the link / address / route / rule
// dumps (lo as a fresh network namespace has it), acks and errors, strict checking, bad
// lengths, truncation, readiness and options. Natively the host has more interfaces than lo:
// there the checks are about lo; under Moat the lists are exact.

#include "tests/conformance/netlink_util.h"
#include "tests/conformance/process_util.h"
#include "tests/conformance/syscall_matchers.h"
#include "tests/conformance/test_util.h"

#include <arpa/inet.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <net/if_arp.h>
#include <net/if.h>
#include <sys/syscall.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

constexpr uint32_t kIffLowerUp = 1u << 16;

ifinfomsg LinkReq(int index = 0) {
    ifinfomsg m{};
    m.ifi_index = index;
    return m;
}

ifaddrmsg AddrReq(int family) {
    ifaddrmsg m{};
    m.ifa_family = static_cast<uint8_t>(family);
    return m;
}

rtmsg RouteReq(int family) {
    rtmsg m{};
    m.rtm_family = static_cast<uint8_t>(family);
    return m;
}

std::string Str(const std::string& attr) { return std::string(attr.c_str()); }
uint32_t U32(const std::string& attr) {
    uint32_t v = 0;
    memcpy(&v, attr.data(), std::min(attr.size(), sizeof(v)));
    return v;
}

// The messages of a dump without its NLMSG_DONE, which must end it with 0 and the request's seq.
std::vector<NlMsg> Dump(int fd, uint16_t type, const std::string& body, uint32_t seq = 42) {
    auto msgs = NlTalk(fd, NlRequest(type, NLM_F_REQUEST | NLM_F_DUMP, seq, body.data(), body.size()));
    EXPECT_FALSE(msgs.empty());
    if (msgs.empty())
        return msgs;
    EXPECT_EQ(msgs.back().h.nlmsg_type, NLMSG_DONE);
    EXPECT_EQ(msgs.back().Header<int>(), 0);
    uint32_t port = NlPortId(fd);
    for (auto& m : msgs) {
        EXPECT_EQ(m.h.nlmsg_seq, seq);
        EXPECT_EQ(m.h.nlmsg_pid, port);
        EXPECT_TRUE(m.h.nlmsg_flags & NLM_F_MULTI);
    }
    msgs.pop_back();
    return msgs;
}

template <typename T>
std::string Body(const T& t) {
    return std::string(reinterpret_cast<const char*>(&t), sizeof(t));
}

TEST(NetlinkTest, CreateChecksTypeAndProtocol) {
    Fd raw(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
    ASSERT_TRUE(raw.ok());
    Fd dgram(socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK, NETLINK_ROUTE));
    ASSERT_TRUE(dgram.ok());
    EXPECT_THAT(socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE), SyscallFailsWithErrno(ESOCKTNOSUPPORT));
    EXPECT_THAT(socket(AF_NETLINK, SOCK_SEQPACKET, NETLINK_ROUTE), SyscallFailsWithErrno(ESOCKTNOSUPPORT));
    EXPECT_THAT(socket(AF_NETLINK, SOCK_RAW, 1), SyscallFailsWithErrno(EPROTONOSUPPORT));  // NETLINK_UNUSED
    EXPECT_THAT(socket(AF_NETLINK, SOCK_RAW, 32), SyscallFailsWithErrno(EPROTONOSUPPORT));
    EXPECT_THAT(socket(AF_NETLINK, SOCK_RAW, -1), SyscallFailsWithErrno(EPROTONOSUPPORT));
    int sv[2];
    EXPECT_THAT(socketpair(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, sv), SyscallFailsWithErrno(EOPNOTSUPP));
    int v = -1;
    socklen_t len = sizeof(v);
    ASSERT_THAT(getsockopt(dgram.get(), SOL_SOCKET, SO_TYPE, &v, &len), SyscallSucceeds());
    EXPECT_EQ(v, SOCK_DGRAM);
    ASSERT_THAT(getsockopt(raw.get(), SOL_SOCKET, SO_DOMAIN, &v, &len), SyscallSucceeds());
    EXPECT_EQ(v, AF_NETLINK);
    ASSERT_THAT(getsockopt(raw.get(), SOL_SOCKET, SO_PROTOCOL, &v, &len), SyscallSucceeds());
    EXPECT_EQ(v, NETLINK_ROUTE);
    EXPECT_THAT(listen(raw.get(), 1), SyscallFailsWithErrno(EOPNOTSUPP));
    EXPECT_THAT(shutdown(raw.get(), SHUT_RDWR), SyscallFailsWithErrno(EOPNOTSUPP));
    EXPECT_THAT(accept(raw.get(), nullptr, nullptr), SyscallFailsWithErrno(EOPNOTSUPP));
}

TEST(NetlinkTest, BindAssignsTgidThenOtherIds) {
    Fd a(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
    Fd b(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
    EXPECT_EQ(NlPortId(a.get()), 0u);  // not bound yet
    sockaddr_nl nl{};
    nl.nl_family = AF_NETLINK;
    ASSERT_THAT(bind(a.get(), reinterpret_cast<sockaddr*>(&nl), sizeof(nl)), SyscallSucceeds());
    EXPECT_EQ(NlPortId(a.get()), static_cast<uint32_t>(getpid()));
    ASSERT_THAT(bind(b.get(), reinterpret_cast<sockaddr*>(&nl), sizeof(nl)), SyscallSucceeds());
    uint32_t pb = NlPortId(b.get());
    EXPECT_LT(static_cast<int32_t>(pb), -4096);
    // A bound socket keeps its id: binding to another (0 included) is EINVAL.
    EXPECT_THAT(bind(a.get(), reinterpret_cast<sockaddr*>(&nl), sizeof(nl)), SyscallFailsWithErrno(EINVAL));
    nl.nl_pid = static_cast<uint32_t>(getpid());
    EXPECT_THAT(bind(a.get(), reinterpret_cast<sockaddr*>(&nl), sizeof(nl)), SyscallSucceeds());
    // An explicit id: taken once.
    Fd c(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
    Fd d(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
    nl.nl_pid = 0x7ffe1234;
    ASSERT_THAT(bind(c.get(), reinterpret_cast<sockaddr*>(&nl), sizeof(nl)), SyscallSucceeds());
    EXPECT_EQ(NlPortId(c.get()), 0x7ffe1234u);
    EXPECT_THAT(bind(d.get(), reinterpret_cast<sockaddr*>(&nl), sizeof(nl)), SyscallFailsWithErrno(EADDRINUSE));
    // Bad addresses.
    EXPECT_THAT(bind(d.get(), reinterpret_cast<sockaddr*>(&nl), sizeof(nl) - 1), SyscallFailsWithErrno(EINVAL));
    nl.nl_family = AF_UNIX;
    EXPECT_THAT(bind(d.get(), reinterpret_cast<sockaddr*>(&nl), sizeof(nl)), SyscallFailsWithErrno(EINVAL));
    socklen_t len = sizeof(nl);
    ASSERT_THAT(getsockname(c.get(), reinterpret_cast<sockaddr*>(&nl), &len), SyscallSucceeds());
    EXPECT_EQ(len, sizeof(sockaddr_nl));
    EXPECT_EQ(nl.nl_family, AF_NETLINK);
    // The peer is the kernel.
    ASSERT_THAT(getpeername(c.get(), reinterpret_cast<sockaddr*>(&nl), &len), SyscallSucceeds());
    EXPECT_EQ(nl.nl_pid, 0u);
}

TEST(NetlinkTest, SendAutobinds) {
    // A fresh process: its first netlink socket gets its tgid.
    pid_t pid = ForkAndRun([] {
        int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
        auto req = NlRequest(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1, LinkReq());
        if (send(fd, req.data(), req.size(), 0) != static_cast<ssize_t>(req.size()))
            return 1;
        return NlPortId(fd) == static_cast<uint32_t>(getpid()) ? 0 : 2;
    });
    EXPECT_EQ(WaitStatus(pid), 0);
}

TEST(NetlinkTest, LinkDumpHasLo) {
    Fd fd(NlSocket());
    ASSERT_TRUE(fd.ok());
    auto links = Dump(fd.get(), RTM_GETLINK, Body(LinkReq()));
    bool found = false;
    for (auto& m : links) {
        ASSERT_EQ(m.h.nlmsg_type, RTM_NEWLINK);
        auto ifi = m.Header<ifinfomsg>();
        auto attrs = m.Attrs(sizeof(ifinfomsg));
        if (Str(attrs[IFLA_IFNAME]) != "lo")
            continue;
        found = true;
        EXPECT_EQ(ifi.ifi_index, 1);
        EXPECT_EQ(ifi.ifi_type, ARPHRD_LOOPBACK);
        EXPECT_EQ(ifi.ifi_flags, static_cast<unsigned>(IFF_UP | IFF_LOOPBACK | IFF_RUNNING | kIffLowerUp));
        EXPECT_EQ(U32(attrs[IFLA_MTU]), 65536u);
        EXPECT_EQ(U32(attrs[IFLA_TXQLEN]), 1000u);
        EXPECT_EQ(attrs[IFLA_ADDRESS], std::string(6, '\0'));
        EXPECT_EQ(attrs[IFLA_BROADCAST], std::string(6, '\0'));
        EXPECT_EQ(Str(attrs[IFLA_QDISC]), "noqueue");
        EXPECT_EQ(attrs[IFLA_OPERSTATE], std::string(1, 0) /* IF_OPER_UNKNOWN */);
    }
    EXPECT_TRUE(found);
    if (UnderMoat()) {
        EXPECT_EQ(links.size(), 1u);
    }
}

TEST(NetlinkTest, GetLinkByIndexAndName) {
    Fd fd(NlSocket());
    auto msgs = NlTalk(fd.get(), NlRequest(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 7, LinkReq(1)));
    ASSERT_EQ(msgs.size(), 2u);  // the link, then the ack
    EXPECT_EQ(msgs[0].h.nlmsg_type, RTM_NEWLINK);
    EXPECT_EQ(msgs[0].h.nlmsg_flags, 0);
    EXPECT_EQ(Str(msgs[0].Attrs(sizeof(ifinfomsg))[IFLA_IFNAME]), "lo");
    EXPECT_EQ(msgs[1].h.nlmsg_type, NLMSG_ERROR);
    EXPECT_EQ(msgs[1].h.nlmsg_flags, NLM_F_CAPPED);
    EXPECT_EQ(msgs[1].Error(), 0);
    // By name: an IFLA_IFNAME attribute after the header.
    std::string body = Body(LinkReq(0));
    nlattr a{static_cast<uint16_t>(sizeof(nlattr) + 3), IFLA_IFNAME};
    body += Body(a) + std::string("lo\0\0", 4);
    msgs = NlTalk(fd.get(), NlRequest(RTM_GETLINK, NLM_F_REQUEST, 8, body.data(), body.size()));
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].Header<ifinfomsg>().ifi_index, 1);
    msgs = NlTalk(fd.get(), NlRequest(RTM_GETLINK, NLM_F_REQUEST, 9, LinkReq(0x7fff0000)));
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].h.nlmsg_type, NLMSG_ERROR);
    EXPECT_EQ(msgs[0].Error(), -ENODEV);
    msgs = NlTalk(fd.get(), NlRequest(RTM_GETLINK, NLM_F_REQUEST, 10, LinkReq(0)));
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].Error(), -EINVAL);
}

TEST(NetlinkTest, AddrDumpsByFamily) {
    Fd fd(NlSocket());
    struct Seen {
        bool v4 = false, v6 = false;
        size_t count = 0;
    };
    auto scan = [&](int family) {
        Seen s;
        int last_family = AF_INET;
        for (auto& m : Dump(fd.get(), RTM_GETADDR, Body(AddrReq(family)))) {
            EXPECT_EQ(m.h.nlmsg_type, RTM_NEWADDR);
            auto ifa = m.Header<ifaddrmsg>();
            EXPECT_GE(ifa.ifa_family, last_family);  // IPv4 first
            last_family = ifa.ifa_family;
            ++s.count;
            if (ifa.ifa_index != 1)
                continue;
            auto attrs = m.Attrs(sizeof(ifaddrmsg));
            EXPECT_EQ(ifa.ifa_scope, RT_SCOPE_HOST);
            EXPECT_EQ(ifa.ifa_flags, IFA_F_PERMANENT);
            EXPECT_EQ(U32(attrs[IFA_FLAGS]), static_cast<uint32_t>(IFA_F_PERMANENT));
            auto ci = attrs[IFA_CACHEINFO];
            EXPECT_EQ(ci.size(), sizeof(ifa_cacheinfo));
            EXPECT_EQ(U32(ci), 0xffffffffu);  // forever
            if (ifa.ifa_family == AF_INET) {
                s.v4 = true;
                EXPECT_EQ(ifa.ifa_prefixlen, 8);
                EXPECT_EQ(attrs[IFA_ADDRESS], std::string("\x7f\0\0\x01", 4));
                EXPECT_EQ(attrs[IFA_LOCAL], std::string("\x7f\0\0\x01", 4));
                EXPECT_EQ(Str(attrs[IFA_LABEL]), "lo");
            } else {
                EXPECT_EQ(ifa.ifa_family, AF_INET6);
                s.v6 = true;
                EXPECT_EQ(ifa.ifa_prefixlen, 128);
                EXPECT_EQ(attrs[IFA_ADDRESS], std::string(15, '\0') + "\x01");
            }
        }
        return s;
    };
    Seen v4 = scan(AF_INET), v6 = scan(AF_INET6), all = scan(AF_UNSPEC), packet = scan(AF_PACKET);
    EXPECT_TRUE(v4.v4 && !v4.v6);
    EXPECT_TRUE(v6.v6 && !v6.v4);
    EXPECT_TRUE(all.v4 && all.v6);
    EXPECT_EQ(all.count, v4.count + v6.count);
    EXPECT_EQ(packet.count, all.count);  // glibc's getifaddrs asks with AF_PACKET
    if (UnderMoat()) {
        EXPECT_EQ(all.count, 2u);
    }
}

TEST(NetlinkTest, RouteDumpHasLoopbackRoutes) {
    Fd fd(NlSocket());
    struct Want {
        const char* dst;
        int len;
        int type;
        int scope;
        bool found = false;
    };
    std::vector<Want> want = {{"127.0.0.0", 8, RTN_LOCAL, RT_SCOPE_HOST},
                              {"127.0.0.1", 32, RTN_LOCAL, RT_SCOPE_HOST},
                              {"127.255.255.255", 32, RTN_BROADCAST, RT_SCOPE_LINK}};
    auto routes = Dump(fd.get(), RTM_GETROUTE, Body(RouteReq(AF_INET)));
    for (auto& m : routes) {
        EXPECT_EQ(m.h.nlmsg_type, RTM_NEWROUTE);
        auto rtm = m.Header<rtmsg>();
        EXPECT_EQ(rtm.rtm_family, AF_INET);
        auto attrs = m.Attrs(sizeof(rtmsg));
        if (rtm.rtm_table != RT_TABLE_LOCAL || U32(attrs[RTA_OIF]) != 1)
            continue;
        char text[INET_ADDRSTRLEN] = {};
        inet_ntop(AF_INET, attrs[RTA_DST].data(), text, sizeof(text));
        for (auto& w : want) {
            if (text == std::string(w.dst) && rtm.rtm_dst_len == w.len) {
                w.found = true;
                EXPECT_EQ(rtm.rtm_type, w.type) << w.dst;
                EXPECT_EQ(rtm.rtm_scope, w.scope) << w.dst;
                EXPECT_EQ(rtm.rtm_protocol, RTPROT_KERNEL);
                EXPECT_EQ(U32(attrs[RTA_TABLE]), static_cast<uint32_t>(RT_TABLE_LOCAL));
                EXPECT_EQ(attrs[RTA_PREFSRC], std::string("\x7f\0\0\x01", 4));
            }
        }
    }
    for (auto& w : want)
        EXPECT_TRUE(w.found) << w.dst << "/" << w.len;
    bool v6_local = false;
    auto routes6 = Dump(fd.get(), RTM_GETROUTE, Body(RouteReq(AF_INET6)));
    for (auto& m : routes6) {
        auto rtm = m.Header<rtmsg>();
        EXPECT_EQ(rtm.rtm_family, AF_INET6);
        auto attrs = m.Attrs(sizeof(rtmsg));
        if (rtm.rtm_table == RT_TABLE_LOCAL && rtm.rtm_dst_len == 128 &&
            attrs[RTA_DST] == std::string(15, '\0') + "\x01") {
            v6_local = true;
            EXPECT_EQ(rtm.rtm_type, RTN_LOCAL);
            EXPECT_EQ(U32(attrs[RTA_OIF]), 1u);
        }
    }
    EXPECT_TRUE(v6_local);
    auto all = Dump(fd.get(), RTM_GETROUTE, Body(RouteReq(AF_UNSPEC)));
    EXPECT_GE(all.size(), routes.size() + routes6.size());
    if (UnderMoat()) {
        EXPECT_EQ(routes.size(), 3u);
        EXPECT_EQ(routes6.size(), 1u);
        EXPECT_EQ(all.size(), 4u);
    }
}

// `ip route get`: one RTM_NEWROUTE for the destination, from the local table.
TEST(NetlinkTest, GetRouteForOneDestination) {
    Fd fd(NlSocket());
    auto get = [&](const char* dst) {
        std::string body = Body(RouteReq(AF_INET));
        rtmsg* rtm = reinterpret_cast<rtmsg*>(body.data());
        rtm->rtm_dst_len = 32;
        nlattr a{static_cast<uint16_t>(sizeof(nlattr) + 4), RTA_DST};
        in_addr addr{};
        inet_pton(AF_INET, dst, &addr);
        body += Body(a) + std::string(reinterpret_cast<const char*>(&addr), 4);
        return NlTalk(fd.get(), NlRequest(RTM_GETROUTE, NLM_F_REQUEST, 21, body.data(), body.size()));
    };
    auto msgs = get("127.0.0.5");
    ASSERT_EQ(msgs.size(), 1u);
    ASSERT_EQ(msgs[0].h.nlmsg_type, RTM_NEWROUTE);
    auto rtm = msgs[0].Header<rtmsg>();
    EXPECT_EQ(rtm.rtm_type, RTN_LOCAL);
    EXPECT_EQ(rtm.rtm_dst_len, 32);
    EXPECT_TRUE(rtm.rtm_flags & RTM_F_CLONED);
    auto attrs = msgs[0].Attrs(sizeof(rtmsg));
    EXPECT_EQ(attrs[RTA_DST], std::string("\x7f\0\0\x05", 4));
    EXPECT_EQ(attrs[RTA_PREFSRC], std::string("\x7f\0\0\x01", 4));
    EXPECT_EQ(U32(attrs[RTA_OIF]), 1u);
    msgs = get("127.255.255.255");
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].Header<rtmsg>().rtm_type, RTN_BROADCAST);
    if (UnderMoat()) {  // natively the host may have a default route
        msgs = get("192.0.2.99");
        ASSERT_EQ(msgs.size(), 1u);
        EXPECT_EQ(msgs[0].h.nlmsg_type, NLMSG_ERROR);
        EXPECT_EQ(msgs[0].Error(), -ENETUNREACH);
    }
}

TEST(NetlinkTest, RuleDumpHasDefaultRules) {
    Fd fd(NlSocket());
    fib_rule_hdr frh{};
    frh.family = AF_INET;
    std::vector<uint32_t> tables;
    for (auto& m : Dump(fd.get(), RTM_GETRULE, Body(frh))) {
        EXPECT_EQ(m.h.nlmsg_type, RTM_NEWRULE);
        tables.push_back(U32(m.Attrs(sizeof(fib_rule_hdr))[FRA_TABLE]));
    }
    EXPECT_THAT(tables, ::testing::IsSupersetOf({255u, 254u, 253u}));
}

TEST(NetlinkTest, AcksAndErrors) {
    Fd fd(NlSocket());
    uint32_t port = NlPortId(fd.get());
    // NLMSG_NOOP with NLM_F_ACK: an ack of the header only.
    auto msgs = NlTalk(fd.get(), NlRequest(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 5, nullptr, 0));
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].h.nlmsg_type, NLMSG_ERROR);
    EXPECT_EQ(msgs[0].h.nlmsg_flags, NLM_F_CAPPED);
    EXPECT_EQ(msgs[0].h.nlmsg_seq, 5u);
    EXPECT_EQ(msgs[0].h.nlmsg_pid, port);
    EXPECT_EQ(msgs[0].h.nlmsg_len, NLMSG_HDRLEN + sizeof(nlmsgerr));
    EXPECT_EQ(msgs[0].Error(), 0);
    EXPECT_EQ(msgs[0].Header<nlmsgerr>().msg.nlmsg_type, NLMSG_NOOP);
    // An unknown type: EOPNOTSUPP with the whole request echoed.
    auto req = NlRequest(200, NLM_F_REQUEST, 6, AddrReq(0));
    msgs = NlTalk(fd.get(), req);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].Error(), -EOPNOTSUPP);
    EXPECT_EQ(msgs[0].h.nlmsg_flags, 0);
    EXPECT_EQ(msgs[0].payload.substr(sizeof(int)), req);
    // NETLINK_CAP_ACK: only the header.
    int one = 1;
    ASSERT_THAT(setsockopt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)), SyscallSucceeds());
    msgs = NlTalk(fd.get(), req);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].h.nlmsg_flags, NLM_F_CAPPED);
    EXPECT_EQ(msgs[0].h.nlmsg_len, NLMSG_HDRLEN + sizeof(nlmsgerr));
    // A dump with NLM_F_ACK ends with NLMSG_DONE only.
    msgs = NlTalk(fd.get(), NlRequest(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP | NLM_F_ACK, 7, AddrReq(AF_INET)));
    ASSERT_FALSE(msgs.empty());
    EXPECT_EQ(msgs.back().h.nlmsg_type, NLMSG_DONE);
    char buf[64];
    EXPECT_THAT(recv(fd.get(), buf, sizeof(buf), MSG_DONTWAIT), SyscallFailsWithErrno(EAGAIN));
    // Two requests in one datagram: two acks, in order.
    std::string two = NlRequest(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 11, nullptr, 0) +
                      NlRequest(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 12, nullptr, 0);
    ASSERT_EQ(send(fd.get(), two.data(), two.size(), 0), static_cast<ssize_t>(two.size()));
    auto first = NlReceiveAll(fd.get());
    auto second = NlReceiveAll(fd.get());
    ASSERT_EQ(first.size(), 1u);
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(first[0].h.nlmsg_seq, 11u);
    EXPECT_EQ(second[0].h.nlmsg_seq, 12u);
    // A dump request without even a struct rtgenmsg is ignored (acked only when asked).
    msgs = NlTalk(fd.get(), NlRequest(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP | NLM_F_ACK, 13, nullptr, 0));
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].h.nlmsg_type, NLMSG_ERROR);
    EXPECT_EQ(msgs[0].Error(), 0);
    // Not a request: acked, never answered.
    msgs = NlTalk(fd.get(), NlRequest(RTM_GETLINK, NLM_F_ACK, 14, LinkReq()));
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].Error(), 0);
}

TEST(NetlinkTest, BadLengthsAreIgnored) {
    Fd fd(NlSocket());
    nlmsghdr h{};
    h.nlmsg_type = NLMSG_NOOP;
    h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    char buf[64];
    for (uint32_t len : {0u, 8u, 15u, 17u, 1000u}) {
        h.nlmsg_len = len;
        EXPECT_THAT(send(fd.get(), &h, sizeof(h), 0), SyscallSucceedsWithValue(sizeof(h)));
        EXPECT_THAT(recv(fd.get(), buf, sizeof(buf), MSG_DONTWAIT), SyscallFailsWithErrno(EAGAIN)) << len;
    }
    // A short buffer: nothing to parse, nothing answered.
    EXPECT_THAT(send(fd.get(), &h, 10, 0), SyscallSucceedsWithValue(10));
    EXPECT_THAT(send(fd.get(), &h, 0, 0), SyscallFailsWithErrno(ENODATA));  // Linux 6.x
    EXPECT_THAT(recv(fd.get(), buf, sizeof(buf), MSG_DONTWAIT), SyscallFailsWithErrno(EAGAIN));
    // Bad destination addresses.
    sockaddr_nl to{};
    to.nl_family = AF_NETLINK;
    h.nlmsg_len = sizeof(h);
    EXPECT_THAT(sendto(fd.get(), &h, sizeof(h), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to) - 1),
                SyscallFailsWithErrno(EINVAL));
    to.nl_family = AF_INET;
    EXPECT_THAT(sendto(fd.get(), &h, sizeof(h), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
                SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(send(fd.get(), &h, sizeof(h), MSG_OOB), SyscallFailsWithErrno(EOPNOTSUPP));
    EXPECT_THAT(send(fd.get(), nullptr, 64, 0), SyscallFailsWithErrno(EFAULT));
    // Larger than SO_SNDBUF - 32.
    int small = 1;  // raised to the floor, 4608
    ASSERT_THAT(setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), SyscallSucceeds());
    std::string big(4608 - 31, '\0');
    EXPECT_THAT(send(fd.get(), big.data(), big.size(), 0), SyscallFailsWithErrno(EMSGSIZE));
    EXPECT_THAT(send(fd.get(), big.data(), big.size() - 1, 0), SyscallSucceeds());
}

// Changes need CAP_NET_ADMIN over the network; an unprivileged process gets EPERM (natively
// the test drops root's capabilities first).
TEST(NetlinkTest, ChangesArePermissionDenied) {
    pid_t pid = ForkAndRun([] {
        if (getuid() == 0 && setresuid(65534, 65534, 65534) != 0)
            return 10;
        int fd = NlSocket();
        for (uint16_t type : {RTM_NEWADDR, RTM_DELADDR, RTM_NEWLINK, RTM_SETLINK, RTM_NEWROUTE, RTM_DELROUTE}) {
            auto msgs = NlTalk(fd, NlRequest(type, NLM_F_REQUEST | NLM_F_ACK, type, AddrReq(AF_INET)));
            if (msgs.size() != 1 || msgs[0].Error() != -EPERM)
                return 11;
        }
        // Sending to another port or to groups.
        sockaddr_nl to{};
        to.nl_family = AF_NETLINK;
        to.nl_pid = 1;
        auto req = NlRequest(NLMSG_NOOP, NLM_F_REQUEST, 1, nullptr, 0);
        if (sendto(fd, req.data(), req.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != -1 ||
            errno != EPERM)
            return 12;
        if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != -1 || errno != EPERM)
            return 13;
        int all = 1;
        if (setsockopt(fd, SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, &all, sizeof(all)) != -1 || errno != EPERM)
            return 14;
        return 0;
    });
    EXPECT_EQ(WaitStatus(pid), 0);
}

TEST(NetlinkTest, StrictChecking) {
    Fd fd(NlSocket());
    int one = 1;
    ASSERT_THAT(setsockopt(fd.get(), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one)), SyscallSucceeds());
    int v = 0;
    socklen_t len = sizeof(v);
    ASSERT_THAT(getsockopt(fd.get(), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &v, &len), SyscallSucceeds());
    EXPECT_EQ(v, 1);
    // A header with fields a dump cannot filter on: NLMSG_DONE carries EINVAL.
    ifaddrmsg bad = AddrReq(AF_INET);
    bad.ifa_prefixlen = 8;
    auto msgs = NlTalk(fd.get(), NlRequest(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 3, bad));
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].h.nlmsg_type, NLMSG_DONE);
    EXPECT_EQ(msgs[0].Header<int>(), -EINVAL);
    // Filtering on a table: NLM_F_DUMP_FILTERED; only local-table routes.
    rtmsg rt = RouteReq(AF_INET);
    rt.rtm_table = RT_TABLE_LOCAL;
    msgs = NlTalk(fd.get(), NlRequest(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 4, rt));
    ASSERT_FALSE(msgs.empty());
    for (auto& m : msgs) {
        EXPECT_TRUE(m.h.nlmsg_flags & NLM_F_DUMP_FILTERED);
        if (m.h.nlmsg_type == RTM_NEWROUTE) {
            EXPECT_EQ(m.Header<rtmsg>().rtm_table, RT_TABLE_LOCAL);
        }
    }
    EXPECT_EQ(msgs.back().h.nlmsg_type, NLMSG_DONE);
    rt.rtm_table = 100;  // no such table
    msgs = NlTalk(fd.get(), NlRequest(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 5, rt));
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].Header<int>(), -ENOENT);
    // A link dump cannot filter by index.
    msgs = NlTalk(fd.get(), NlRequest(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 6, LinkReq(1)));
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].Header<int>(), -EINVAL);
}

TEST(NetlinkTest, PeekTruncAndReadiness) {
    Fd fd(NlSocket());
    pollfd p{fd.get(), POLLIN | POLLOUT, 0};
    ASSERT_THAT(poll(&p, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(p.revents, POLLOUT);
    auto req = NlRequest(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 1, nullptr, 0);
    ASSERT_EQ(send(fd.get(), req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
    ASSERT_THAT(poll(&p, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(p.revents, POLLIN | POLLOUT);
    constexpr ssize_t kAck = NLMSG_HDRLEN + sizeof(nlmsgerr);
    char buf[128];
    EXPECT_THAT(recv(fd.get(), buf, 4, MSG_PEEK | MSG_TRUNC), SyscallSucceedsWithValue(kAck));
    EXPECT_THAT(recv(fd.get(), buf, sizeof(buf), MSG_PEEK), SyscallSucceedsWithValue(kAck));
    iovec iov{buf, 16};
    sockaddr_nl from{};
    msghdr m{};
    m.msg_name = &from;
    m.msg_namelen = sizeof(from);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    EXPECT_THAT(recvmsg(fd.get(), &m, 0), SyscallSucceedsWithValue(16));
    EXPECT_EQ(m.msg_flags, MSG_TRUNC);
    EXPECT_EQ(m.msg_namelen, sizeof(sockaddr_nl));
    EXPECT_EQ(from.nl_family, AF_NETLINK);
    EXPECT_EQ(from.nl_pid, 0u);
    // The rest of the datagram is gone.
    EXPECT_THAT(recv(fd.get(), buf, sizeof(buf), MSG_DONTWAIT), SyscallFailsWithErrno(EAGAIN));
    ASSERT_THAT(poll(&p, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(p.revents, POLLOUT);
    // A bad buffer: EFAULT, and the datagram is consumed.
    ASSERT_EQ(send(fd.get(), req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
    EXPECT_THAT(syscall(SYS_recvfrom, fd.get(), nullptr, 100L, 0L, nullptr, nullptr), SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(recv(fd.get(), buf, sizeof(buf), MSG_DONTWAIT), SyscallFailsWithErrno(EAGAIN));
    // read(2) and write(2) work as recv and send.
    ASSERT_EQ(write(fd.get(), req.data(), req.size()), static_cast<ssize_t>(req.size()));
    EXPECT_THAT(read(fd.get(), buf, sizeof(buf)), SyscallSucceedsWithValue(kAck));
}

TEST(NetlinkTest, Options) {
    Fd fd(NlSocket());
    int v = 4096;
    socklen_t len = sizeof(v);
    ASSERT_THAT(setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)), SyscallSucceeds());
    ASSERT_THAT(getsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &v, &len), SyscallSucceeds());
    EXPECT_EQ(v, 8192);
    for (int opt : {NETLINK_EXT_ACK, NETLINK_CAP_ACK, NETLINK_NO_ENOBUFS, NETLINK_PKTINFO, NETLINK_BROADCAST_ERROR}) {
        v = 1;
        ASSERT_THAT(setsockopt(fd.get(), SOL_NETLINK, opt, &v, sizeof(v)), SyscallSucceeds()) << opt;
        v = 0;
        len = sizeof(v);
        ASSERT_THAT(getsockopt(fd.get(), SOL_NETLINK, opt, &v, &len), SyscallSucceeds()) << opt;
        EXPECT_EQ(v, 1) << opt;
    }
    v = 1;
    EXPECT_THAT(setsockopt(fd.get(), SOL_NETLINK, 999, &v, sizeof(v)), SyscallFailsWithErrno(ENOPROTOOPT));
    EXPECT_THAT(setsockopt(fd.get(), SOL_IP, 1, &v, sizeof(v)), SyscallFailsWithErrno(ENOPROTOOPT));
    // Groups: joined through the socket option, seen in getsockname.
    v = RTNLGRP_LINK;
    ASSERT_THAT(setsockopt(fd.get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &v, sizeof(v)), SyscallSucceeds());
    sockaddr_nl nl{};
    len = sizeof(nl);
    ASSERT_THAT(getsockname(fd.get(), reinterpret_cast<sockaddr*>(&nl), &len), SyscallSucceeds());
    EXPECT_EQ(nl.nl_groups, 1u << (RTNLGRP_LINK - 1));
    v = 0;
    EXPECT_THAT(setsockopt(fd.get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &v, sizeof(v)),
                SyscallFailsWithErrno(EINVAL));
}

TEST(NetlinkTest, PassCredShowsTheKernel) {
    Fd fd(NlSocket());
    int one = 1;
    ASSERT_THAT(setsockopt(fd.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), SyscallSucceeds());
    auto req = NlRequest(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 1, nullptr, 0);
    ASSERT_EQ(send(fd.get(), req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
    char buf[128];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    iovec iov{buf, sizeof(buf)};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof(control);
    ASSERT_THAT(recvmsg(fd.get(), &m, 0), SyscallSucceeds());
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->cmsg_level, SOL_SOCKET);
    EXPECT_EQ(c->cmsg_type, SCM_CREDENTIALS);
    ucred cred;
    memcpy(&cred, CMSG_DATA(c), sizeof(cred));
    EXPECT_EQ(cred.pid, 0);
    EXPECT_EQ(cred.uid, 0u);
    EXPECT_EQ(cred.gid, 0u);
}

TEST(NetlinkTest, LibcInterfaceNames) {
    EXPECT_EQ(if_nametoindex("lo"), 1u);
    char name[IF_NAMESIZE] = {};
    ASSERT_NE(if_indextoname(1, name), nullptr);
    EXPECT_STREQ(name, "lo");
    EXPECT_EQ(if_nametoindex("nosuchif0"), 0u);
    struct if_nameindex* list = if_nameindex();
    ASSERT_NE(list, nullptr);
    size_t n = 0;
    bool lo = false;
    for (auto* p = list; p->if_index != 0; ++p, ++n)
        lo |= p->if_index == 1 && std::string(p->if_name) == "lo";
    if_freenameindex(list);
    EXPECT_TRUE(lo);
    if (UnderMoat()) {
        EXPECT_EQ(n, 1u);
    }
}

}  // namespace
}  // namespace moat::conformance
