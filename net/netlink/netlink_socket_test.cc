// NetlinkSocket and rtnetlink without a task: a flood of requests stays within SO_RCVBUF
// (ENOBUFS, as Linux reports an overrun), big dumps split into datagrams that never cut a
// message, and garbage requests never crash the sentry.

#include "net/netlink/netlink_socket.h"
#include "net/netlink/rtnetlink.h"

#include <gtest/gtest.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <cstring>
#include <random>

namespace moat::net {
namespace {

std::string DumpRequest(uint16_t type, uint32_t seq) {
    struct {
        nlmsghdr h;
        ifinfomsg ifi;
    } req{};
    req.h.nlmsg_len = sizeof(req);
    req.h.nlmsg_type = type;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.h.nlmsg_seq = seq;
    return std::string(reinterpret_cast<const char*>(&req), sizeof(req));
}

Result<size_t> Send(NetlinkSocket& s, const std::string& bytes) {
    fs::BufferSrc src(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    SendRequest req;
    req.data = &src;
    return s.SendMsg(req);
}

Result<RecvResult> Recv(NetlinkSocket& s, std::vector<uint8_t>& buf) {
    fs::BufferDst dst(buf);
    return s.RecvMsg(dst, MSG_DONTWAIT);
}

NetworkConfig ManyInterfaces(int n) {
    NetworkConfig c = NetworkConfig::LoopbackOnly();
    for (int i = 2; i <= n; ++i) {
        Interface iface;
        iface.index = i;
        iface.name = "veth" + std::to_string(i);
        iface.flags = IFF_UP | IFF_BROADCAST | IFF_RUNNING;
        iface.mtu = 1500;
        c.AddInterface(iface);
    }
    return c;
}

TEST(NetlinkSocketTest, FloodIsBoundedByRcvbuf) {
    auto net = std::make_shared<Network>(NetworkMode::kNone, NetworkConfig::LoopbackOnly());
    auto s = *NetlinkSocket::Create(net, SOCK_RAW, NETLINK_ROUTE, 1, true);
    int small = 4096;  // SO_RCVBUF 8192
    ASSERT_TRUE(s->SetSockOpt(SOL_SOCKET, SO_RCVBUF, std::string(reinterpret_cast<char*>(&small), 4)).ok());
    for (uint32_t i = 0; i < 1000; ++i)
        ASSERT_TRUE(Send(*s, DumpRequest(RTM_GETLINK, i)).ok());
    std::vector<uint8_t> buf(65536);
    auto first = Recv(*s, buf);
    ASSERT_FALSE(first.ok());
    EXPECT_EQ(first.error(), ENOBUFS);
    size_t total = 0;
    for (;;) {
        auto r = Recv(*s, buf);
        if (!r.ok()) {
            EXPECT_EQ(r.error(), EAGAIN);
            break;
        }
        total += r->bytes;
    }
    // Linux's check: one more datagram may arrive while below the limit.
    EXPECT_LE(total, 8192u + 4096u);
    EXPECT_GT(total, 0u);
}

TEST(NetlinkSocketTest, BigDumpsSplitBetweenMessages) {
    NetworkConfig config = ManyInterfaces(40);
    RtnlCaller caller;
    caller.portid = 7;
    caller.max_datagram = 4096 - 320;
    auto out = RtnlReceive(config, DumpRequest(RTM_GETLINK, 3), caller);
    ASSERT_GT(out.size(), 1u);
    int links = 0;
    bool done = false;
    for (auto& d : out) {
        EXPECT_LE(d.size(), caller.max_datagram);
        size_t off = 0;
        while (off < d.size()) {
            nlmsghdr h;
            ASSERT_GE(d.size() - off, sizeof(h));
            memcpy(&h, d.data() + off, sizeof(h));
            ASSERT_LE(h.nlmsg_len, d.size() - off);
            EXPECT_EQ(h.nlmsg_seq, 3u);
            EXPECT_EQ(h.nlmsg_pid, 7u);
            links += h.nlmsg_type == RTM_NEWLINK;
            done |= h.nlmsg_type == NLMSG_DONE;
            off += NLMSG_ALIGN(h.nlmsg_len);
        }
    }
    EXPECT_EQ(links, 40);
    EXPECT_TRUE(done);
}

TEST(NetlinkSocketTest, GarbageNeverCrashes) {
    NetworkConfig config = NetworkConfig::LoopbackOnly();
    RtnlCaller caller;
    caller.max_datagram = 32768;
    std::mt19937 rng(1234);
    for (int round = 0; round < 2000; ++round) {
        std::string data(rng() % 256, '\0');
        for (auto& c : data)
            c = static_cast<char>(rng());
        if (data.size() >= sizeof(nlmsghdr) && round % 2) {
            // A plausible header over random contents.
            nlmsghdr h{};
            h.nlmsg_len = static_cast<uint32_t>(data.size() - rng() % 8);
            h.nlmsg_type = static_cast<uint16_t>(16 + rng() % 80);
            h.nlmsg_flags = static_cast<uint16_t>(rng());
            memcpy(data.data(), &h, sizeof(h));
        }
        caller.strict = round % 3 == 0;
        auto out = RtnlReceive(config, data, caller);
        for (auto& d : out)
            EXPECT_GE(d.size(), sizeof(nlmsghdr));
    }
}

}  // namespace
}  // namespace moat::net
