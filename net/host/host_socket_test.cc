// HostSocket without a task (a wait is EAGAIN): what the sandbox may and may not do with a
// host socket, and data through a loopback TCP pair and a UDP pair.

#include "net/host/host_socket.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>

#include <cstring>
#include <thread>

namespace moat::net {
namespace {

SockAddr Loopback(uint16_t port) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return SockAddr(reinterpret_cast<const char*>(&sin), sizeof(sin));
}

std::string Int(int v) { return std::string(reinterpret_cast<const char*>(&v), sizeof(v)); }

size_t Send(HostSocket& s, const std::string& text, const std::optional<SockAddr>& to = std::nullopt) {
    fs::BufferSrc src(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    SendRequest req;
    req.data = &src;
    req.to = to;
    auto r = s.SendMsg(req);
    return r.ok() ? *r : 0;
}

bool WaitReadable(HostSocket& s) {
    for (int i = 0; i < 200; ++i) {
        if (s.Readiness(POLLIN) & POLLIN)
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
}

TEST(HostSocketTest, RefusesWhatNeedsHostPrivilege) {
    auto poller = std::make_shared<HostPoller>();
    auto raw = HostSocket::Create(poller, AF_INET, SOCK_RAW, IPPROTO_ICMP, 1, false);
    ASSERT_FALSE(raw.ok());
    EXPECT_EQ(raw.error(), EPERM);
    auto s = *HostSocket::Create(poller, AF_INET, SOCK_STREAM, 0, 2, false);
    auto bound = s->Bind(Loopback(80));
    ASSERT_FALSE(bound.ok());
    EXPECT_EQ(bound.error(), EACCES);
    // Options whose value is a pointer, or that reveal or need the host's privileges.
    EXPECT_EQ(s->SetSockOpt(SOL_SOCKET, SO_ATTACH_FILTER, std::string(16, '\0')).error(), ENOPROTOOPT);
    EXPECT_EQ(s->SetSockOpt(SOL_SOCKET, SO_BINDTODEVICE, "lo").error(), ENOPROTOOPT);
    EXPECT_EQ(s->SetSockOpt(SOL_SOCKET, SO_RCVBUFFORCE, Int(1 << 20)).error(), EPERM);
    EXPECT_EQ(s->GetSockOpt(SOL_SOCKET, SO_PEERCRED).error(), ENOPROTOOPT);
    EXPECT_TRUE(s->SetSockOpt(IPPROTO_TCP, TCP_NODELAY, Int(1)).ok());
}

TEST(HostSocketTest, TcpPairCarriesBytes) {
    auto poller = std::make_shared<HostPoller>();
    auto listener = *HostSocket::Create(poller, AF_INET, SOCK_STREAM, 0, 1, true);
    ASSERT_TRUE(listener->Bind(Loopback(0)).ok());
    ASSERT_TRUE(listener->Listen(4).ok());
    SockAddr name = *listener->GetName();
    auto client = *HostSocket::Create(poller, AF_INET, SOCK_STREAM, 0, 2, true);
    auto c = client->Connect(name);
    EXPECT_TRUE(c.ok() || c.error() == EINPROGRESS);
    ASSERT_TRUE(WaitReadable(*listener));
    SockAddr peer;
    auto accepted = listener->Accept(true, &peer);
    ASSERT_TRUE(accepted.ok());
    auto server = std::dynamic_pointer_cast<HostSocket>(*accepted);
    ASSERT_NE(server, nullptr);
    EXPECT_EQ(Send(*client, "hello host"), 10u);
    ASSERT_TRUE(WaitReadable(*server));
    uint8_t buf[64];
    fs::BufferDst dst(buf);
    auto r = server->RecvMsg(dst, 0);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), r->bytes), "hello host");
    fs::BufferDst again(buf);
    EXPECT_EQ(server->RecvMsg(again, 0).error(), EAGAIN);
    fs::BufferDst errq(buf);
    EXPECT_EQ(server->RecvMsg(errq, MSG_ERRQUEUE).error(), EAGAIN);
}

TEST(HostSocketTest, UdpKeepsBoundariesAndTruncates) {
    auto poller = std::make_shared<HostPoller>();
    auto a = *HostSocket::Create(poller, AF_INET, SOCK_DGRAM, 0, 1, true);
    auto b = *HostSocket::Create(poller, AF_INET, SOCK_DGRAM, 0, 2, true);
    ASSERT_TRUE(a->Bind(Loopback(0)).ok());
    EXPECT_EQ(Send(*b, "datagram", *a->GetName()), 8u);
    ASSERT_TRUE(WaitReadable(*a));
    uint8_t buf[3];
    fs::BufferDst dst(buf);
    auto r = a->RecvMsg(dst, MSG_TRUNC);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->bytes, 8u);
    EXPECT_EQ(r->msg_flags & MSG_TRUNC, MSG_TRUNC);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), 3), "dat");
    EXPECT_EQ(r->from.size(), sizeof(sockaddr_in));
}

}  // namespace
}  // namespace moat::net
