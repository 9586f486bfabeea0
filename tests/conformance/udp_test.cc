// UDP over loopback, IPv4 and IPv6: sendto/recvfrom with source addresses, datagram
// boundaries, MSG_TRUNC/MSG_PEEK, EMSGSIZE, connect (filtering, AF_UNSPEC, ICMP
// ECONNREFUSED), bind conflicts, the bounded receive queue, readiness, FIONREAD, v4 into a
// dual-stack v6 socket.

#include "tests/conformance/inet_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace moat::conformance {
namespace {

using ::testing::Eq;

class UdpTest : public ::testing::TestWithParam<int> {
protected:
    int family() const { return GetParam(); }
};

TEST_P(UdpTest, SendtoRecvfromWithSource) {
    Fd a(BoundSocket(family(), SOCK_DGRAM));
    Fd b(socket(family(), SOCK_DGRAM, 0));
    InetAddr aname = SockName(a);
    ASSERT_THAT(sendto(b, "ping", 4, 0, aname.get(), aname.len), SyscallSucceedsWithValue(4));
    // The sender was bound to an ephemeral port on the wildcard address.
    InetAddr bname = SockName(b);
    EXPECT_EQ(bname.ip(), Wildcard(family()).ip());
    EXPECT_GE(bname.port(), 32768);
    char buf[16] = {};
    InetAddr from;
    from.len = sizeof(from.ss);
    ASSERT_THAT(recvfrom(a, buf, sizeof(buf), 0, from.get(), &from.len), SyscallSucceedsWithValue(4));
    EXPECT_EQ(std::string(buf, 4), "ping");
    EXPECT_EQ(from.family(), family());
    EXPECT_EQ(from.ip(), Loopback(family()).ip());
    EXPECT_EQ(from.port(), bname.port());
    ASSERT_THAT(sendto(a, "pong", 4, 0, from.get(), from.len), SyscallSucceedsWithValue(4));
    EXPECT_THAT(recv(b, buf, sizeof(buf), 0), SyscallSucceedsWithValue(4));
}

TEST_P(UdpTest, BoundariesTruncAndPeek) {
    Fd a(BoundSocket(family(), SOCK_DGRAM));
    Fd b(socket(family(), SOCK_DGRAM, 0));
    InetAddr aname = SockName(a);
    for (int n : {1, 10, 100}) {
        ASSERT_THAT(sendto(b, std::string(n, 'a').data(), n, 0, aname.get(), aname.len), SyscallSucceedsWithValue(n));
    }
    char buf[256];
    EXPECT_THAT(recv(a, buf, sizeof(buf), MSG_PEEK), SyscallSucceedsWithValue(1));
    EXPECT_THAT(recv(a, buf, sizeof(buf), 0), SyscallSucceedsWithValue(1));
    int avail = -1;
    ASSERT_THAT(ioctl(a, FIONREAD, &avail), SyscallSucceeds());
    EXPECT_EQ(avail, 10);
    // A short buffer truncates (MSG_TRUNC in msg_flags); the rest is gone.
    iovec iov{buf, 4};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    EXPECT_THAT(recvmsg(a, &m, 0), SyscallSucceedsWithValue(4));
    EXPECT_EQ(m.msg_flags & MSG_TRUNC, MSG_TRUNC);
    // With the MSG_TRUNC flag: the datagram's full length.
    EXPECT_THAT(recv(a, buf, 4, MSG_TRUNC), SyscallSucceedsWithValue(100));
    EXPECT_THAT(recv(a, buf, sizeof(buf), MSG_DONTWAIT), SyscallFailsWithErrno(EAGAIN));
    // A zero-length datagram is a datagram.
    ASSERT_THAT(sendto(b, "", 0, 0, aname.get(), aname.len), SyscallSucceedsWithValue(0));
    EXPECT_THAT(recv(a, buf, sizeof(buf), 0), SyscallSucceedsWithValue(0));
}

TEST_P(UdpTest, SendmmsgRecvmmsg) {
    Fd a(BoundSocket(family(), SOCK_DGRAM));
    Fd b(socket(family(), SOCK_DGRAM, 0));
    InetAddr aname = SockName(a);
    ASSERT_THAT(connect(b, aname.get(), aname.len), SyscallSucceeds());
    char out[3][4] = {{'a'}, {'b', 'b'}, {'c', 'c', 'c'}};
    iovec oiov[3];
    mmsghdr omsg[3] = {};
    for (int i = 0; i < 3; ++i) {
        oiov[i] = {out[i], static_cast<size_t>(i + 1)};
        omsg[i].msg_hdr.msg_iov = &oiov[i];
        omsg[i].msg_hdr.msg_iovlen = 1;
    }
    ASSERT_THAT(sendmmsg(b, omsg, 3, 0), SyscallSucceedsWithValue(3));
    char in[3][8];
    iovec iiov[3];
    mmsghdr imsg[3] = {};
    sockaddr_storage from[3];
    for (int i = 0; i < 3; ++i) {
        iiov[i] = {in[i], sizeof(in[i])};
        imsg[i].msg_hdr.msg_iov = &iiov[i];
        imsg[i].msg_hdr.msg_iovlen = 1;
        imsg[i].msg_hdr.msg_name = &from[i];
        imsg[i].msg_hdr.msg_namelen = sizeof(from[i]);
    }
    ASSERT_THAT(recvmmsg(a, imsg, 3, MSG_DONTWAIT, nullptr), SyscallSucceedsWithValue(3));
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(imsg[i].msg_len, static_cast<unsigned>(i + 1));
        EXPECT_EQ(imsg[i].msg_hdr.msg_namelen, family() == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
    }
}

TEST_P(UdpTest, MessageSizeLimit) {
    Fd a(BoundSocket(family(), SOCK_DGRAM));
    int big = 1 << 20;
    ASSERT_THAT(setsockopt(a, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)), SyscallSucceeds());
    Fd b(socket(family(), SOCK_DGRAM, 0));
    InetAddr aname = SockName(a);
    size_t max = family() == AF_INET ? 65507 : 65527;
    std::vector<char> data(max + 1, 'x');
    EXPECT_THAT(sendto(b, data.data(), max, 0, aname.get(), aname.len), SyscallSucceedsWithValue(max));
    EXPECT_THAT(sendto(b, data.data(), max + 1, 0, aname.get(), aname.len), SyscallFailsWithErrno(EMSGSIZE));
    EXPECT_THAT(recv(a, data.data(), data.size(), 0), SyscallSucceedsWithValue(max));
}

TEST_P(UdpTest, ConnectFiltersAndDisconnects) {
    Fd a(BoundSocket(family(), SOCK_DGRAM));
    Fd b(BoundSocket(family(), SOCK_DGRAM));
    Fd other(BoundSocket(family(), SOCK_DGRAM));
    InetAddr aname = SockName(a), bname = SockName(b);
    char c = 0;
    EXPECT_THAT(send(a, "x", 1, 0), SyscallFailsWithErrno(EDESTADDRREQ));
    ASSERT_THAT(connect(a, bname.get(), bname.len), SyscallSucceeds());
    EXPECT_EQ(PeerName(a).port(), bname.port());
    // Only the peer's datagrams reach a connected socket.
    ASSERT_THAT(sendto(other, "o", 1, 0, aname.get(), aname.len), SyscallSucceeds());
    ASSERT_THAT(sendto(b, "b", 1, 0, aname.get(), aname.len), SyscallSucceeds());
    EXPECT_THAT(recv(a, &c, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(c, 'b');
    EXPECT_THAT(recv(a, &c, 1, MSG_DONTWAIT), SyscallFailsWithErrno(EAGAIN));
    ASSERT_THAT(send(a, "s", 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_THAT(recv(b, &c, 1, 0), SyscallSucceedsWithValue(1));
    sockaddr unspec{};
    unspec.sa_family = AF_UNSPEC;
    ASSERT_THAT(connect(a, &unspec, sizeof(unspec)), SyscallSucceeds());
    InetAddr peer;
    peer.len = sizeof(peer.ss);
    EXPECT_THAT(getpeername(a, peer.get(), &peer.len), SyscallFailsWithErrno(ENOTCONN));
    // bind chose the address, so it stays; the port was ephemeral, so it goes.
    EXPECT_EQ(SockName(a).ip(), Loopback(family()).ip());
    EXPECT_EQ(SockName(a).port(), 0);
}

TEST_P(UdpTest, ConnectedToNobodyGetsRefused) {
    Fd probe(BoundSocket(family(), SOCK_DGRAM));
    InetAddr dead = SockName(probe);
    probe.reset();
    Fd a(socket(family(), SOCK_DGRAM, 0));
    ASSERT_THAT(connect(a, dead.get(), dead.len), SyscallSucceeds());
    EXPECT_EQ(SockName(a).ip(), Loopback(family()).ip());
    ASSERT_THAT(send(a, "x", 1, 0), SyscallSucceeds());
    EXPECT_EQ(PollEvents(a, POLLIN, 1000) & POLLERR, POLLERR);
    char c;
    EXPECT_THAT(recv(a, &c, 1, 0), SyscallFailsWithErrno(ECONNREFUSED));
    EXPECT_THAT(recv(a, &c, 1, MSG_DONTWAIT), SyscallFailsWithErrno(EAGAIN));
}

TEST_P(UdpTest, BindConflicts) {
    Fd a(BoundSocket(family(), SOCK_DGRAM));
    InetAddr name = SockName(a);
    Fd b(socket(family(), SOCK_DGRAM, 0));
    EXPECT_THAT(bind(b, name.get(), name.len), SyscallFailsWithErrno(EADDRINUSE));
    int one = 1;
    Fd c(socket(family(), SOCK_DGRAM, 0)), d(socket(family(), SOCK_DGRAM, 0));
    ASSERT_THAT(setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), SyscallSucceeds());
    ASSERT_THAT(setsockopt(d, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), SyscallSucceeds());
    InetAddr lo = Loopback(family());
    ASSERT_THAT(bind(c, lo.get(), lo.len), SyscallSucceeds());
    InetAddr cname = SockName(c);
    EXPECT_THAT(bind(d, cname.get(), cname.len), SyscallSucceeds());
}

TEST_P(UdpTest, FullReceiveBufferDrops) {
    Fd a(BoundSocket(family(), SOCK_DGRAM));
    int small = 1;  // the floor: 2304
    ASSERT_THAT(setsockopt(a, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), SyscallSucceeds());
    Fd b(socket(family(), SOCK_DGRAM, 0));
    InetAddr aname = SockName(a);
    std::string data(1000, 'd');
    for (int i = 0; i < 100; ++i) {
        ASSERT_THAT(sendto(b, data.data(), data.size(), MSG_DONTWAIT, aname.get(), aname.len),
                    SyscallSucceedsWithValue(data.size()));
    }
    int got = 0;
    char buf[2000];
    while (recv(a, buf, sizeof(buf), MSG_DONTWAIT) > 0)
        ++got;
    EXPECT_GT(got, 0);
    EXPECT_LT(got, 20);
}

TEST_P(UdpTest, ReadinessAndErrnos) {
    Fd a(BoundSocket(family(), SOCK_DGRAM));
    EXPECT_EQ(PollEvents(a, POLLIN | POLLOUT | POLLWRBAND), POLLOUT | POLLWRBAND);
    Fd b(socket(family(), SOCK_DGRAM, 0));
    InetAddr aname = SockName(a);
    ASSERT_THAT(sendto(b, "x", 1, 0, aname.get(), aname.len), SyscallSucceeds());
    EXPECT_EQ(PollEvents(a, POLLIN, 1000), POLLIN);
    EXPECT_THAT(listen(a, 1), SyscallFailsWithErrno(EOPNOTSUPP));
    EXPECT_THAT(accept(a, nullptr, nullptr), SyscallFailsWithErrno(EOPNOTSUPP));
    EXPECT_THAT(shutdown(b, SHUT_RD), SyscallFailsWithErrno(ENOTCONN));
    InetAddr zero = Loopback(family(), 0);
    EXPECT_THAT(sendto(b, "x", 1, 0, zero.get(), zero.len), SyscallFailsWithErrno(EINVAL));
    if (family() == AF_INET) {
        EXPECT_THAT(sendto(b, "x", 1, MSG_OOB, aname.get(), aname.len), SyscallFailsWithErrno(EOPNOTSUPP));
    }
}

INSTANTIATE_TEST_SUITE_P(Families, UdpTest, ::testing::Values(AF_INET, AF_INET6), FamilyName);

TEST(UdpMappedTest, V4IntoDualStackSocket) {
    Fd a(socket(AF_INET6, SOCK_DGRAM, 0));
    InetAddr any = Wildcard(AF_INET6);
    ASSERT_THAT(bind(a, any.get(), any.len), SyscallSucceeds());
    uint16_t port = SockName(a).port();
    Fd b(socket(AF_INET, SOCK_DGRAM, 0));
    InetAddr dst = Loopback(AF_INET, port);
    ASSERT_THAT(sendto(b, "v4", 2, 0, dst.get(), dst.len), SyscallSucceeds());
    char buf[4];
    InetAddr from;
    from.len = sizeof(from.ss);
    ASSERT_THAT(recvfrom(a, buf, sizeof(buf), 0, from.get(), &from.len), SyscallSucceedsWithValue(2));
    EXPECT_EQ(from.family(), AF_INET6);
    EXPECT_EQ(from.ip(), "::ffff:127.0.0.1");
    EXPECT_EQ(from.port(), SockName(b).port());
    // A v6-only socket does not get it.
    Fd c(socket(AF_INET6, SOCK_DGRAM, 0));
    int one = 1;
    ASSERT_THAT(setsockopt(c, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), SyscallSucceeds());
    ASSERT_THAT(bind(c, any.get(), any.len), SyscallSucceeds());
    InetAddr dst2 = Loopback(AF_INET, SockName(c).port());
    ASSERT_THAT(sendto(b, "v4", 2, 0, dst2.get(), dst2.len), SyscallSucceeds());
    usleep(20000);
    EXPECT_THAT(recv(c, buf, sizeof(buf), MSG_DONTWAIT), SyscallFailsWithErrno(EAGAIN));
    InetAddr mapped = MakeAddr(AF_INET6, "::ffff:127.0.0.1", port);
    EXPECT_THAT(sendto(c, "x", 1, 0, mapped.get(), mapped.len), SyscallFailsWithErrno(ENETUNREACH));
}

}  // namespace
}  // namespace moat::conformance
