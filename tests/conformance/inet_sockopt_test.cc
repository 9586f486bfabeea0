// Options of TCP and UDP sockets, IPv4 and IPv6: SOL_SOCKET (identity, buffers doubled and
// clamped, SO_REUSE*, SO_KEEPALIVE, SO_LINGER, timeouts), SOL_TCP (TCP_NODELAY, keepalive
// tuning, TCP_MAXSEG, TCP_INFO), SOL_IP (IP_TOS, IP_TTL), SOL_IPV6 (IPV6_V6ONLY), and the
// errnos for bad lengths, values and levels.

#include "tests/conformance/inet_util.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <sys/time.h>

#include <gtest/gtest.h>

#include <chrono>
#include <tuple>

namespace moat::conformance {
namespace {

int GetInt(int fd, int level, int name) {
    int v = -12345;
    socklen_t len = sizeof(v);
    EXPECT_THAT(getsockopt(fd, level, name, &v, &len), SyscallSucceeds());
    EXPECT_EQ(len, sizeof(v));
    return v;
}

int SetInt(int fd, int level, int name, int v) { return setsockopt(fd, level, name, &v, sizeof(v)); }

// (family, type)
class InetSockoptTest : public ::testing::TestWithParam<std::tuple<int, int>> {
protected:
    int family() const { return std::get<0>(GetParam()); }
    int type() const { return std::get<1>(GetParam()); }
    bool tcp() const { return type() == SOCK_STREAM; }
};

TEST_P(InetSockoptTest, Identity) {
    Fd s(socket(family(), type(), 0));
    EXPECT_EQ(GetInt(s, SOL_SOCKET, SO_TYPE), type());
    EXPECT_EQ(GetInt(s, SOL_SOCKET, SO_DOMAIN), family());
    EXPECT_EQ(GetInt(s, SOL_SOCKET, SO_PROTOCOL), tcp() ? IPPROTO_TCP : IPPROTO_UDP);
    EXPECT_EQ(GetInt(s, SOL_SOCKET, SO_ACCEPTCONN), 0);
    EXPECT_EQ(GetInt(s, SOL_SOCKET, SO_ERROR), 0);
    EXPECT_THAT(SetInt(s, SOL_SOCKET, SO_TYPE, 1), SyscallFailsWithErrno(ENOPROTOOPT));
    if (tcp()) {
        InetAddr lo = Loopback(family());
        ASSERT_THAT(bind(s, lo.get(), lo.len), SyscallSucceeds());
        ASSERT_THAT(listen(s, 1), SyscallSucceeds());
        EXPECT_EQ(GetInt(s, SOL_SOCKET, SO_ACCEPTCONN), 1);
    }
}

TEST_P(InetSockoptTest, Buffers) {
    Fd s(socket(family(), type(), 0));
    EXPECT_EQ(GetInt(s, SOL_SOCKET, SO_SNDBUF), tcp() ? 16384 : 212992);
    EXPECT_EQ(GetInt(s, SOL_SOCKET, SO_RCVBUF), tcp() ? 131072 : 212992);
    ASSERT_THAT(SetInt(s, SOL_SOCKET, SO_SNDBUF, 10000), SyscallSucceeds());
    EXPECT_EQ(GetInt(s, SOL_SOCKET, SO_SNDBUF), 20000);
    ASSERT_THAT(SetInt(s, SOL_SOCKET, SO_RCVBUF, 10000), SyscallSucceeds());
    EXPECT_EQ(GetInt(s, SOL_SOCKET, SO_RCVBUF), 20000);
    ASSERT_THAT(SetInt(s, SOL_SOCKET, SO_SNDBUF, 1), SyscallSucceeds());
    EXPECT_EQ(GetInt(s, SOL_SOCKET, SO_SNDBUF), 4608);
    ASSERT_THAT(SetInt(s, SOL_SOCKET, SO_RCVBUF, 1), SyscallSucceeds());
    EXPECT_EQ(GetInt(s, SOL_SOCKET, SO_RCVBUF), 2304);
    // Clamped at twice net.core.rmem_max / wmem_max (host configuration natively; Moat's is
    // Linux's default, 212992).
    ASSERT_THAT(SetInt(s, SOL_SOCKET, SO_RCVBUF, 1 << 30), SyscallSucceeds());
    int rmax = GetInt(s, SOL_SOCKET, SO_RCVBUF);
    EXPECT_GE(rmax, 425984);
    EXPECT_LT(rmax, 1 << 30);
    ASSERT_THAT(SetInt(s, SOL_SOCKET, SO_SNDBUF, -1), SyscallSucceeds());
    EXPECT_GE(GetInt(s, SOL_SOCKET, SO_SNDBUF), 425984);
}

TEST_P(InetSockoptTest, FlagsRoundTrip) {
    Fd s(socket(family(), type(), 0));
    for (int name : {SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE}) {
        EXPECT_EQ(GetInt(s, SOL_SOCKET, name), 0) << name;
        ASSERT_THAT(SetInt(s, SOL_SOCKET, name, 5), SyscallSucceeds());
        EXPECT_EQ(GetInt(s, SOL_SOCKET, name), 1) << name;
    }
    // Shorter than an int: EINVAL.
    int one = 1;
    EXPECT_THAT(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, 2), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(SetInt(s, SOL_SOCKET, 9999, 1), SyscallFailsWithErrno(ENOPROTOOPT));
    // A short getsockopt buffer gets the first bytes.
    char small[2] = {9, 9};
    socklen_t len = sizeof(small);
    ASSERT_THAT(getsockopt(s, SOL_SOCKET, SO_TYPE, small, &len), SyscallSucceeds());
    EXPECT_EQ(len, 2u);
    EXPECT_EQ(small[0], type());
    len = static_cast<socklen_t>(-1);
    EXPECT_THAT(getsockopt(s, SOL_SOCKET, SO_TYPE, small, &len), SyscallFailsWithErrno(EINVAL));
}

TEST_P(InetSockoptTest, InetOnlyAnswers) {
    Fd s(socket(family(), type(), 0));
    ucred c{};
    socklen_t len = sizeof(c);
    ASSERT_THAT(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &c, &len), SyscallSucceeds());
    EXPECT_EQ(c.pid, 0);
    EXPECT_EQ(c.uid, static_cast<uid_t>(-1));
    EXPECT_THAT(SetInt(s, SOL_SOCKET, SO_PASSCRED, 1), SyscallFailsWithErrno(EOPNOTSUPP));
    ASSERT_THAT(setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3), SyscallSucceeds());
    char dev[16] = {};
    len = sizeof(dev);
    ASSERT_THAT(getsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, dev, &len), SyscallSucceeds());
    EXPECT_STREQ(dev, "lo");
    EXPECT_THAT(setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "nosuch0", 8), SyscallFailsWithErrno(ENODEV));
    ASSERT_THAT(SetInt(s, SOL_SOCKET, SO_RCVLOWAT, 3), SyscallSucceeds());
    EXPECT_EQ(GetInt(s, SOL_SOCKET, SO_RCVLOWAT), 3);
    EXPECT_EQ(GetInt(s, SOL_SOCKET, SO_SNDLOWAT), 1);
    EXPECT_THAT(SetInt(s, SOL_SOCKET, SO_SNDLOWAT, 1), SyscallFailsWithErrno(ENOPROTOOPT));
    if (tcp()) {
        // Seconds round up to whole SYN-ACK retransmission times.
        ASSERT_THAT(SetInt(s, IPPROTO_TCP, TCP_DEFER_ACCEPT, 5), SyscallSucceeds());
        EXPECT_EQ(GetInt(s, IPPROTO_TCP, TCP_DEFER_ACCEPT), 7);
    }
}

TEST_P(InetSockoptTest, LingerAndTimeouts) {
    Fd s(socket(family(), type(), 0));
    linger l{1, 7};
    ASSERT_THAT(setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), SyscallSucceeds());
    linger got{};
    socklen_t len = sizeof(got);
    ASSERT_THAT(getsockopt(s, SOL_SOCKET, SO_LINGER, &got, &len), SyscallSucceeds());
    EXPECT_EQ(got.l_onoff, 1);
    EXPECT_EQ(got.l_linger, 7);
    EXPECT_THAT(setsockopt(s, SOL_SOCKET, SO_LINGER, &l, 4), SyscallFailsWithErrno(EINVAL));
    timeval bad{0, 1000000};
    EXPECT_THAT(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &bad, sizeof(bad)), SyscallFailsWithErrno(EDOM));
    timeval tv{0, 100000};  // whole jiffies at any HZ, so it reads back exactly
    ASSERT_THAT(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), SyscallSucceeds());
    timeval back{};
    len = sizeof(back);
    ASSERT_THAT(getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &back, &len), SyscallSucceeds());
    EXPECT_EQ(back.tv_usec, 100000);
    if (tcp())
        return;
    InetAddr lo = Loopback(family());
    ASSERT_THAT(bind(s, lo.get(), lo.len), SyscallSucceeds());
    auto start = std::chrono::steady_clock::now();
    char c;
    EXPECT_THAT(recv(s, &c, 1, 0), SyscallFailsWithErrno(EAGAIN));
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(90));
}

TEST_P(InetSockoptTest, IpLevel) {
    Fd s(socket(family(), type(), 0));
    EXPECT_EQ(GetInt(s, IPPROTO_IP, IP_TTL), 64);
    ASSERT_THAT(SetInt(s, IPPROTO_IP, IP_TTL, 10), SyscallSucceeds());
    EXPECT_EQ(GetInt(s, IPPROTO_IP, IP_TTL), 10);
    EXPECT_THAT(SetInt(s, IPPROTO_IP, IP_TTL, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(SetInt(s, IPPROTO_IP, IP_TTL, 256), SyscallFailsWithErrno(EINVAL));
    EXPECT_EQ(GetInt(s, IPPROTO_IP, IP_TOS), 0);
    ASSERT_THAT(SetInt(s, IPPROTO_IP, IP_TOS, 0x13), SyscallSucceeds());
    // TCP keeps the ECN bits to itself.
    EXPECT_EQ(GetInt(s, IPPROTO_IP, IP_TOS), tcp() ? 0x10 : 0x13);
    EXPECT_THAT(SetInt(s, 12345, 1, 1), SyscallFailsWithErrno(ENOPROTOOPT));
    int v;
    socklen_t len = sizeof(v);
    EXPECT_THAT(getsockopt(s, 12345, 1, &v, &len),
                SyscallFailsWithErrno(family() == AF_INET ? EOPNOTSUPP : ENOPROTOOPT));
    EXPECT_THAT(SetInt(s, IPPROTO_IP, 9999, 1), SyscallFailsWithErrno(ENOPROTOOPT));
}

TEST_P(InetSockoptTest, Ipv6Level) {
    Fd s(socket(family(), type(), 0));
    if (family() == AF_INET) {
        EXPECT_THAT(SetInt(s, IPPROTO_IPV6, IPV6_V6ONLY, 1), SyscallFailsWithErrno(ENOPROTOOPT));
        return;
    }
    EXPECT_EQ(GetInt(s, IPPROTO_IPV6, IPV6_V6ONLY), 0);
    int one = 1;
    EXPECT_THAT(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, 2), SyscallFailsWithErrno(EINVAL));
    ASSERT_THAT(SetInt(s, IPPROTO_IPV6, IPV6_V6ONLY, 1), SyscallSucceeds());
    EXPECT_EQ(GetInt(s, IPPROTO_IPV6, IPV6_V6ONLY), 1);
    EXPECT_EQ(GetInt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS), 64);
    InetAddr lo = Loopback(AF_INET6);
    ASSERT_THAT(bind(s, lo.get(), lo.len), SyscallSucceeds());
    EXPECT_THAT(SetInt(s, IPPROTO_IPV6, IPV6_V6ONLY, 0), SyscallFailsWithErrno(EINVAL));
}

TEST_P(InetSockoptTest, TcpLevel) {
    Fd s(socket(family(), type(), 0));
    if (!tcp()) {
        EXPECT_THAT(SetInt(s, IPPROTO_TCP, TCP_NODELAY, 1), SyscallFailsWithErrno(ENOPROTOOPT));
        int v;
        socklen_t len = sizeof(v);
        EXPECT_THAT(getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &len),
                    SyscallFailsWithErrno(family() == AF_INET ? EOPNOTSUPP : ENOPROTOOPT));
        return;
    }
    EXPECT_EQ(GetInt(s, IPPROTO_TCP, TCP_NODELAY), 0);
    ASSERT_THAT(SetInt(s, IPPROTO_TCP, TCP_NODELAY, 1), SyscallSucceeds());
    EXPECT_EQ(GetInt(s, IPPROTO_TCP, TCP_NODELAY), 1);
    int one = 1;
    EXPECT_THAT(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, 2), SyscallFailsWithErrno(EINVAL));
    EXPECT_EQ(GetInt(s, IPPROTO_TCP, TCP_KEEPIDLE), 7200);
    EXPECT_EQ(GetInt(s, IPPROTO_TCP, TCP_KEEPINTVL), 75);
    EXPECT_EQ(GetInt(s, IPPROTO_TCP, TCP_KEEPCNT), 9);
    ASSERT_THAT(SetInt(s, IPPROTO_TCP, TCP_KEEPIDLE, 30), SyscallSucceeds());
    EXPECT_EQ(GetInt(s, IPPROTO_TCP, TCP_KEEPIDLE), 30);
    EXPECT_THAT(SetInt(s, IPPROTO_TCP, TCP_KEEPIDLE, 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(SetInt(s, IPPROTO_TCP, TCP_KEEPINTVL, 32768), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(SetInt(s, IPPROTO_TCP, TCP_KEEPCNT, 128), SyscallFailsWithErrno(EINVAL));
    EXPECT_EQ(GetInt(s, IPPROTO_TCP, TCP_MAXSEG), 536);
    EXPECT_THAT(SetInt(s, IPPROTO_TCP, TCP_MAXSEG, 10), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(SetInt(s, IPPROTO_TCP, 9999, 1), SyscallFailsWithErrno(ENOPROTOOPT));
    tcp_info info{};
    socklen_t len = sizeof(info);
    ASSERT_THAT(getsockopt(s, IPPROTO_TCP, TCP_INFO, &info, &len), SyscallSucceeds());
    EXPECT_EQ(info.tcpi_state, TCP_CLOSE);
    InetAddr lo = Loopback(family());
    ASSERT_THAT(bind(s, lo.get(), lo.len), SyscallSucceeds());
    ASSERT_THAT(listen(s, 1), SyscallSucceeds());
    ASSERT_THAT(getsockopt(s, IPPROTO_TCP, TCP_INFO, &info, &len), SyscallSucceeds());
    EXPECT_EQ(info.tcpi_state, TCP_LISTEN);
    InetAddr name = SockName(s);
    Fd c(socket(family(), SOCK_STREAM, 0));
    ASSERT_THAT(SetInt(c, IPPROTO_TCP, TCP_NODELAY, 1), SyscallSucceeds());
    ASSERT_THAT(connect(c, name.get(), name.len), SyscallSucceeds());
    ASSERT_THAT(getsockopt(c, IPPROTO_TCP, TCP_INFO, &info, &len), SyscallSucceeds());
    EXPECT_EQ(info.tcpi_state, TCP_ESTABLISHED);
    EXPECT_GT(GetInt(c, IPPROTO_TCP, TCP_MAXSEG), 536);
    // Options are inherited by the accepted socket.
    Fd a(accept(s, nullptr, nullptr));
    ASSERT_GE(a, 0);
    EXPECT_EQ(GetInt(a, IPPROTO_TCP, TCP_KEEPIDLE), 30);
    EXPECT_EQ(GetInt(a, IPPROTO_TCP, TCP_NODELAY), 1);
}

std::string ParamName(const ::testing::TestParamInfo<std::tuple<int, int>>& info) {
    return std::string(std::get<0>(info.param) == AF_INET ? "V4" : "V6") +
           (std::get<1>(info.param) == SOCK_STREAM ? "Tcp" : "Udp");
}

INSTANTIATE_TEST_SUITE_P(All, InetSockoptTest,
                         ::testing::Combine(::testing::Values(AF_INET, AF_INET6),
                                            ::testing::Values(SOCK_STREAM, SOCK_DGRAM)),
                         ParamName);

}  // namespace
}  // namespace moat::conformance
