// The inet stack without a task (a wait is EAGAIN): bind scopes, the demux, a loopback TCP
// connection end to end, the bound on queued bytes, and the /proc listing.

#include "net/inet/inet_socket.h"

#include <gtest/gtest.h>
#include <netinet/tcp.h>
#include <poll.h>

#include <atomic>

namespace moat::net {
namespace {

std::shared_ptr<InetSpace> NewSpace() {
    auto counter = std::make_shared<std::atomic<uint64_t>>(100);
    return std::make_shared<InetSpace>([counter] { return counter->fetch_add(1); });
}

IpBytes V4(uint32_t ip) { return InetAddr::FromV4(ip, 0).ip; }

TEST(InetAddrTest, BindScopesOverlapAsLinux) {
    auto any4 = BindScope::Of(AF_INET, false, V4(0));
    auto lo4 = BindScope::Of(AF_INET, false, V4(kLoopback4));
    auto lo4b = BindScope::Of(AF_INET, false, V4(kLoopback4 + 1));
    auto dual = BindScope::Of(AF_INET6, false, IpBytes{});
    auto only6 = BindScope::Of(AF_INET6, true, IpBytes{});
    auto lo6 = BindScope::Of(AF_INET6, false, Loopback6());
    auto mapped = BindScope::Of(AF_INET6, false, V4(kLoopback4));
    EXPECT_TRUE(any4.Overlaps(lo4));
    EXPECT_FALSE(lo4.Overlaps(lo4b));
    EXPECT_TRUE(dual.Overlaps(any4));
    EXPECT_TRUE(dual.Overlaps(lo4));
    EXPECT_FALSE(only6.Overlaps(any4));
    EXPECT_TRUE(only6.Overlaps(lo6));
    EXPECT_FALSE(lo6.Overlaps(lo4));
    EXPECT_TRUE(mapped.Overlaps(lo4));
    EXPECT_FALSE(mapped.Overlaps(lo6));
    EXPECT_EQ(lo4.Match(V4(kLoopback4)), 2);
    EXPECT_EQ(dual.Match(V4(kLoopback4)), 1);
    EXPECT_EQ(only6.Match(V4(kLoopback4)), 0);
}

TEST(InetAddrTest, ParseAndRoute) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(80);
    SockAddr raw(reinterpret_cast<const char*>(&sin), sizeof(sin));
    auto a = ParseInetAddr(AF_INET, raw, false);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->port, 80);
    EXPECT_TRUE(a->any());
    EXPECT_EQ(RouteLoopback(*a)->v4(), kLoopback4);
    EXPECT_EQ(ParseInetAddr(AF_INET, raw.substr(0, 8), false).error(), EINVAL);
    EXPECT_EQ(ParseInetAddr(AF_INET6, raw, false).error(), EINVAL);
    EXPECT_EQ(RouteLoopback(InetAddr::FromV4(0x0a000001, 1)).error(), ENETUNREACH);
    EXPECT_EQ(FormatInetAddr(AF_INET, *a), raw);
}

SockAddr Loop4(uint16_t port) { return FormatInetAddr(AF_INET, InetAddr::FromV4(kLoopback4, port)); }

size_t Send(InetSocket& s, const std::string& text) {
    fs::BufferSrc src(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    SendRequest req;
    req.data = &src;
    auto r = s.SendMsg(req);
    return r.ok() ? *r : 0;
}

TEST(InetSocketTest, LoopbackConnectionEndToEndAndBounded) {
    auto space = NewSpace();
    auto l = InetSocket::Create(space, AF_INET, SOCK_STREAM, 1, true);
    ASSERT_TRUE(l->Bind(Loop4(0)).ok());
    ASSERT_TRUE(l->Listen(1).ok());
    SockAddr name = *l->GetName();
    auto c = InetSocket::Create(space, AF_INET, SOCK_STREAM, 2, true);
    EXPECT_EQ(c->Connect(name).error(), EINPROGRESS);  // already established, as Linux says
    SockAddr peer;
    auto accepted = l->Accept(true, &peer);
    ASSERT_TRUE(accepted.ok());
    auto s = std::dynamic_pointer_cast<InetSocket>(*accepted);
    EXPECT_EQ(peer, *c->GetName());
    EXPECT_EQ(Send(*c, "hello"), 5u);
    EXPECT_EQ(*s->BytesReadable(), 5);
    // A writer that never gets read stops at SO_SNDBUF + the peer's SO_RCVBUF (+ one chunk).
    std::string chunk(65536, 'x');
    size_t total = 0;
    while (size_t n = Send(*c, chunk))
        total += n;
    EXPECT_LE(total, size_t{16384 + 131072 + 65536});
    EXPECT_EQ(c->Readiness(POLLOUT) & POLLOUT, 0u);
    auto tcp = space->List(AF_INET, IPPROTO_TCP);
    ASSERT_EQ(tcp.size(), 3u);  // listener, client, server end
    int listening = 0;
    for (auto& info : tcp)
        listening += info.state == TCP_LISTEN;
    EXPECT_EQ(listening, 1);
    // Closing the server end with unread data resets the client.
    s.reset();
    accepted->reset();
    EXPECT_EQ(c->Readiness(POLLIN) & POLLERR, static_cast<uint32_t>(POLLERR));
    EXPECT_EQ(space->List(AF_INET, IPPROTO_TCP).size(), 2u);
}

TEST(InetSocketTest, UdpDropsOverReceiveBuffer) {
    auto space = NewSpace();
    auto r = InetSocket::Create(space, AF_INET, SOCK_DGRAM, 1, true);
    ASSERT_TRUE(r->Bind(Loop4(0)).ok());
    int one = 1;
    ASSERT_TRUE(r->SetSockOpt(SOL_SOCKET, SO_RCVBUF, std::string(reinterpret_cast<char*>(&one), sizeof(one))).ok());
    auto w = InetSocket::Create(space, AF_INET, SOCK_DGRAM, 2, true);
    ASSERT_TRUE(w->Connect(*r->GetName()).ok());
    for (int i = 0; i < 1000; ++i)
        EXPECT_EQ(Send(*w, std::string(1000, 'd')), 1000u);
    EXPECT_LE(space->List(AF_INET, IPPROTO_UDP).front().rx_queue, size_t{2304 + 1768});
}

}  // namespace
}  // namespace moat::net
