// TCP over loopback, IPv4 and IPv6: creation errnos, bind (conflicts, SO_REUSEADDR,
// SO_REUSEPORT, ephemeral ports), listen/accept/connect (blocking and not, refused, a full
// backlog), names, data with MSG_PEEK/MSG_WAITALL/MSG_TRUNC/MSG_DONTWAIT, half-close,
// EPIPE/SIGPIPE, resets, readiness, flow control, FIONREAD, IPv4-mapped IPv6 and IPV6_V6ONLY.

#include "tests/conformance/inet_util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace moat::conformance {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;

class TcpTest : public ::testing::TestWithParam<int> {
protected:
    int family() const { return GetParam(); }
};

TEST(TcpCreateTest, Errnos) {
    EXPECT_THAT(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), SyscallFailsWithErrno(EPROTONOSUPPORT));
    EXPECT_THAT(socket(AF_INET6, SOCK_DGRAM, IPPROTO_TCP), SyscallFailsWithErrno(EPROTONOSUPPORT));
    EXPECT_THAT(socket(AF_INET, SOCK_SEQPACKET, 0), SyscallFailsWithErrno(ESOCKTNOSUPPORT));
    int sv[2];
    EXPECT_THAT(socketpair(AF_INET, SOCK_STREAM, 0, sv), SyscallFailsWithErrno(EOPNOTSUPP));
    Fd s(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
    ASSERT_GE(s, 0);
    EXPECT_EQ(fcntl(s, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    EXPECT_EQ(fcntl(s, F_GETFD), FD_CLOEXEC);
}

TEST_P(TcpTest, BindErrnos) {
    Fd s(socket(family(), SOCK_STREAM, 0));
    InetAddr a = Loopback(family());
    EXPECT_THAT(bind(s, a.get(), a.len - 5), SyscallFailsWithErrno(EINVAL));
    InetAddr other = Loopback(family() == AF_INET ? AF_INET6 : AF_INET);
    EXPECT_THAT(bind(s, other.get(), a.len), SyscallFailsWithErrno(EAFNOSUPPORT));
    InetAddr far = MakeAddr(family(), family() == AF_INET ? "192.0.2.1" : "2001:db8::1");
    EXPECT_THAT(bind(s, far.get(), far.len), SyscallFailsWithErrno(EADDRNOTAVAIL));
    ASSERT_THAT(bind(s, a.get(), a.len), SyscallSucceeds());
    EXPECT_THAT(bind(s, a.get(), a.len), SyscallFailsWithErrno(EINVAL));
    if (family() == AF_INET) {
        // 127.0.0.0/8 is all loopback.
        Fd t(socket(AF_INET, SOCK_STREAM, 0));
        InetAddr b = MakeAddr(AF_INET, "127.0.0.2");
        EXPECT_THAT(bind(t, b.get(), b.len), SyscallSucceeds());
        EXPECT_EQ(SockName(t).ip(), "127.0.0.2");
    }
}

TEST_P(TcpTest, EphemeralPortAndNames) {
    Fd s(socket(family(), SOCK_STREAM, 0));
    InetAddr unbound = SockName(s);
    EXPECT_EQ(unbound.port(), 0);
    EXPECT_EQ(unbound.ip(), family() == AF_INET ? "0.0.0.0" : "::");
    EXPECT_EQ(unbound.len, family() == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
    InetAddr a = Loopback(family());
    ASSERT_THAT(bind(s, a.get(), a.len), SyscallSucceeds());
    InetAddr b = SockName(s);
    EXPECT_GE(b.port(), 32768);
    EXPECT_LE(b.port(), 60999);
    InetAddr peer;
    peer.len = sizeof(peer.ss);
    EXPECT_THAT(getpeername(s, peer.get(), &peer.len), SyscallFailsWithErrno(ENOTCONN));
}

TEST_P(TcpTest, BindConflicts) {
    Fd a(BoundSocket(family(), SOCK_STREAM, false));
    InetAddr name = SockName(a);
    Fd b(socket(family(), SOCK_STREAM, 0));
    EXPECT_THAT(bind(b, name.get(), name.len), SyscallFailsWithErrno(EADDRINUSE));
    InetAddr wild = Wildcard(family(), name.port());
    EXPECT_THAT(bind(b, wild.get(), wild.len), SyscallFailsWithErrno(EADDRINUSE));
    // SO_REUSEADDR on both shares the port while neither listens…
    int one = 1;
    Fd c(socket(family(), SOCK_STREAM, 0)), d(socket(family(), SOCK_STREAM, 0));
    ASSERT_THAT(setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), SyscallSucceeds());
    ASSERT_THAT(setsockopt(d, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), SyscallSucceeds());
    InetAddr lo = Loopback(family());
    ASSERT_THAT(bind(c, lo.get(), lo.len), SyscallSucceeds());
    InetAddr cname = SockName(c);
    EXPECT_THAT(bind(d, cname.get(), cname.len), SyscallSucceeds());
    // …and only one may listen on it.
    EXPECT_THAT(listen(c, 1), SyscallSucceeds());
    EXPECT_THAT(listen(d, 1), SyscallFailsWithErrno(EADDRINUSE));
    Fd e(socket(family(), SOCK_STREAM, 0));
    ASSERT_THAT(setsockopt(e, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), SyscallSucceeds());
    EXPECT_THAT(bind(e, cname.get(), cname.len), SyscallFailsWithErrno(EADDRINUSE));
}

TEST_P(TcpTest, ReusePortListeners) {
    int one = 1;
    Fd a(socket(family(), SOCK_STREAM, 0)), b(socket(family(), SOCK_STREAM, 0));
    ASSERT_THAT(setsockopt(a, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), SyscallSucceeds());
    ASSERT_THAT(setsockopt(b, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), SyscallSucceeds());
    InetAddr lo = Loopback(family());
    ASSERT_THAT(bind(a, lo.get(), lo.len), SyscallSucceeds());
    InetAddr name = SockName(a);
    ASSERT_THAT(bind(b, name.get(), name.len), SyscallSucceeds());
    EXPECT_THAT(listen(a, 16), SyscallSucceeds());
    EXPECT_THAT(listen(b, 16), SyscallSucceeds());
    // The group shares the connections (Linux: by a hash of the addresses; 2^-15 odds that
    // 16 land on one).
    std::vector<std::unique_ptr<Fd>> clients;
    for (int i = 0; i < 16; ++i) {
        clients.push_back(std::make_unique<Fd>(socket(family(), SOCK_STREAM, 0)));
        ASSERT_THAT(connect(*clients.back(), name.get(), name.len), SyscallSucceeds());
    }
    int got_a = 0, got_b = 0;
    ASSERT_EQ(fcntl(a, F_SETFL, O_NONBLOCK), 0);
    ASSERT_EQ(fcntl(b, F_SETFL, O_NONBLOCK), 0);
    for (int fd; (fd = accept(a, nullptr, nullptr)) >= 0; ++got_a)
        close(fd);
    for (int fd; (fd = accept(b, nullptr, nullptr)) >= 0; ++got_b)
        close(fd);
    EXPECT_EQ(got_a + got_b, 16);
    EXPECT_GT(got_a, 0);
    EXPECT_GT(got_b, 0);
}

TEST_P(TcpTest, ConnectAcceptNamesAndData) {
    Fd l(BoundSocket(family(), SOCK_STREAM));
    InetAddr lname = SockName(l);
    Fd c(socket(family(), SOCK_STREAM, 0));
    ASSERT_THAT(connect(c, lname.get(), lname.len), SyscallSucceeds());
    InetAddr peer;
    peer.len = sizeof(peer.ss);
    Fd s(accept4(l, peer.get(), &peer.len, SOCK_NONBLOCK | SOCK_CLOEXEC));
    ASSERT_GE(s, 0);
    EXPECT_EQ(fcntl(s, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    InetAddr cname = SockName(c);
    EXPECT_EQ(peer.port(), cname.port());
    EXPECT_EQ(peer.ip(), cname.ip());
    EXPECT_EQ(cname.ip(), Loopback(family()).ip());
    EXPECT_EQ(PeerName(c).port(), lname.port());
    EXPECT_EQ(SockName(s).port(), lname.port());
    EXPECT_EQ(PeerName(s).port(), cname.port());
    ASSERT_THAT(write(c, "hello", 5), SyscallSucceedsWithValue(5));
    char buf[16] = {};
    EXPECT_THAT(PollEvents(s, POLLIN, 1000) & POLLIN, Eq(POLLIN));
    ASSERT_THAT(read(s, buf, sizeof(buf)), SyscallSucceedsWithValue(5));
    EXPECT_EQ(std::string(buf, 5), "hello");
    ASSERT_THAT(send(s, "back", 4, 0), SyscallSucceedsWithValue(4));
    ASSERT_THAT(recv(c, buf, sizeof(buf), 0), SyscallSucceedsWithValue(4));
    EXPECT_THAT(connect(c, lname.get(), lname.len), SyscallFailsWithErrno(EISCONN));
    EXPECT_THAT(listen(c, 1), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(connect(l, lname.get(), lname.len), SyscallFailsWithErrno(EISCONN));
    EXPECT_THAT(accept(c, nullptr, nullptr), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(read(l, buf, 1), SyscallFailsWithErrno(ENOTCONN));
}

TEST_P(TcpTest, UnconnectedErrnos) {
    Fd s(socket(family(), SOCK_STREAM, 0));
    // A fresh socket is "closed": writable and hung up.
    EXPECT_EQ(PollEvents(s, POLLIN | POLLOUT), POLLOUT | POLLHUP);
    char c = 0;
    EXPECT_THAT(recv(s, &c, 1, 0), SyscallFailsWithErrno(ENOTCONN));
    EXPECT_THAT(send(s, &c, 1, MSG_NOSIGNAL), SyscallFailsWithErrno(EPIPE));
    EXPECT_THAT(shutdown(s, SHUT_RDWR), SyscallFailsWithErrno(ENOTCONN));
    EXPECT_THAT(accept(s, nullptr, nullptr), SyscallFailsWithErrno(EINVAL));
    // shutdown set the bits even so: now readable (EOF) too.
    EXPECT_EQ(PollEvents(s, POLLIN | POLLOUT), POLLIN | POLLOUT | POLLHUP);
}

TEST_P(TcpTest, ConnectRefusedThenReusable) {
    Fd probe(BoundSocket(family(), SOCK_STREAM, false));
    InetAddr dead = SockName(probe);  // bound, not listening: nothing accepts
    Fd c(socket(family(), SOCK_STREAM, 0));
    EXPECT_THAT(connect(c, dead.get(), dead.len), SyscallFailsWithErrno(ECONNREFUSED));
    Fd l(BoundSocket(family(), SOCK_STREAM));
    InetAddr lname = SockName(l);
    EXPECT_THAT(connect(c, lname.get(), lname.len), SyscallSucceeds());
}

TEST_P(TcpTest, NonblockingConnect) {
    Fd l(BoundSocket(family(), SOCK_STREAM));
    InetAddr lname = SockName(l);
    Fd c(socket(family(), SOCK_STREAM | SOCK_NONBLOCK, 0));
    EXPECT_THAT(connect(c, lname.get(), lname.len), SyscallFailsWithErrno(EINPROGRESS));
    EXPECT_EQ(PollEvents(c, POLLOUT, 2000) & POLLOUT, POLLOUT);
    int err = -1;
    socklen_t len = sizeof(err);
    ASSERT_THAT(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len), SyscallSucceeds());
    EXPECT_EQ(err, 0);
    // The connect that completes is 0, the next EISCONN.
    EXPECT_THAT(connect(c, lname.get(), lname.len), SyscallSucceeds());
    EXPECT_THAT(connect(c, lname.get(), lname.len), SyscallFailsWithErrno(EISCONN));
}

TEST_P(TcpTest, NonblockingConnectRefused) {
    Fd probe(BoundSocket(family(), SOCK_STREAM, false));
    InetAddr dead = SockName(probe);
    Fd c(socket(family(), SOCK_STREAM | SOCK_NONBLOCK, 0));
    EXPECT_THAT(connect(c, dead.get(), dead.len), SyscallFailsWithErrno(EINPROGRESS));
    short ev = PollEvents(c, POLLOUT, 2000);
    EXPECT_EQ(ev & (POLLOUT | POLLERR | POLLHUP), POLLOUT | POLLERR | POLLHUP);
    int err = -1;
    socklen_t len = sizeof(err);
    ASSERT_THAT(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len), SyscallSucceeds());
    EXPECT_EQ(err, ECONNREFUSED);
    ASSERT_THAT(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len), SyscallSucceeds());
    EXPECT_EQ(err, 0);
    // The failed attempt is still "connecting": with its error taken, the next connect reports
    // ECONNABORTED and resets it.
    EXPECT_THAT(connect(c, dead.get(), dead.len), SyscallFailsWithErrno(ECONNABORTED));
    // Refused again: the error is reported by the connect after the one that started it.
    EXPECT_THAT(connect(c, dead.get(), dead.len), SyscallFailsWithErrno(EINPROGRESS));
    EXPECT_EQ(PollEvents(c, POLLOUT, 2000) & POLLERR, POLLERR);
    EXPECT_THAT(connect(c, dead.get(), dead.len), SyscallFailsWithErrno(ECONNREFUSED));
}

TEST_P(TcpTest, ShutdownReadStopsListening) {
    Fd l(BoundSocket(family(), SOCK_STREAM));
    InetAddr lname = SockName(l);
    Fd c(socket(family(), SOCK_STREAM, 0));
    ASSERT_THAT(connect(c, lname.get(), lname.len), SyscallSucceeds());
    EXPECT_EQ(PollEvents(l, POLLIN, 1000) & POLLIN, POLLIN);
    ASSERT_THAT(shutdown(l, SHUT_RD), SyscallSucceeds());
    EXPECT_THAT(accept(l, nullptr, nullptr), SyscallFailsWithErrno(EINVAL));
    EXPECT_EQ(SockName(l).port(), lname.port());
    EXPECT_EQ(PollEvents(l, POLLIN | POLLOUT), POLLOUT | POLLHUP);
    // The connection that waited in the accept queue is reset.
    EXPECT_EQ(PollEvents(c, POLLIN, 1000) & POLLERR, POLLERR);
    char ch;
    EXPECT_THAT(read(c, &ch, 1), SyscallFailsWithErrno(ECONNRESET));
    EXPECT_THAT(getpeername(c, nullptr, nullptr), SyscallFailsWithErrno(ENOTCONN));
}

TEST_P(TcpTest, FullBacklogLeavesConnectorWaiting) {
    Fd l(socket(family(), SOCK_STREAM, 0));
    InetAddr lo = Loopback(family());
    ASSERT_THAT(bind(l, lo.get(), lo.len), SyscallSucceeds());
    ASSERT_THAT(listen(l, 0), SyscallSucceeds());  // room for one
    InetAddr lname = SockName(l);
    Fd a(socket(family(), SOCK_STREAM | SOCK_NONBLOCK, 0));
    EXPECT_THAT(connect(a, lname.get(), lname.len), SyscallFailsWithErrno(EINPROGRESS));
    EXPECT_EQ(PollEvents(a, POLLOUT, 2000) & POLLOUT, POLLOUT);
    EXPECT_EQ(PollEvents(l, POLLIN, 2000) & POLLIN, POLLIN);
    Fd b(socket(family(), SOCK_STREAM | SOCK_NONBLOCK, 0));
    EXPECT_THAT(connect(b, lname.get(), lname.len), SyscallFailsWithErrno(EINPROGRESS));
    EXPECT_EQ(PollEvents(b, POLLOUT, 200), 0);
    EXPECT_THAT(connect(b, lname.get(), lname.len), SyscallFailsWithErrno(EALREADY));
    Fd s1(accept(l, nullptr, nullptr));
    ASSERT_GE(s1, 0);
    // Room again: the waiting connector gets through (Linux: at its SYN retransmission).
    EXPECT_EQ(PollEvents(b, POLLOUT, 5000) & POLLOUT, POLLOUT);
    EXPECT_EQ(PollEvents(l, POLLIN, 5000) & POLLIN, POLLIN);
    Fd s2(accept(l, nullptr, nullptr));
    EXPECT_GE(s2, 0);
}

TEST_P(TcpTest, HalfCloseAndEpipe) {
    TcpPair p(family());
    ASSERT_THAT(shutdown(p.client, SHUT_WR), SyscallSucceeds());
    char buf[8];
    EXPECT_EQ(PollEvents(p.server, POLLIN | POLLRDHUP, 1000) & (POLLIN | POLLRDHUP), POLLIN | POLLRDHUP);
    EXPECT_THAT(read(p.server, buf, sizeof(buf)), SyscallSucceedsWithValue(0));
    // The other direction still works.
    ASSERT_THAT(write(p.server, "ok", 2), SyscallSucceedsWithValue(2));
    EXPECT_THAT(read(p.client, buf, sizeof(buf)), SyscallSucceedsWithValue(2));
    EXPECT_THAT(send(p.client, "x", 1, MSG_NOSIGNAL), SyscallFailsWithErrno(EPIPE));
    // Without MSG_NOSIGNAL: SIGPIPE (blocked here, so it stays pending).
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, &old), 0);
    EXPECT_THAT(write(p.client, "x", 1), SyscallFailsWithErrno(EPIPE));
    sigset_t pending;
    sigpending(&pending);
    EXPECT_TRUE(sigismember(&pending, SIGPIPE));
    timespec zero{};
    sigtimedwait(&set, nullptr, &zero);
    sigprocmask(SIG_SETMASK, &old, nullptr);
    ASSERT_THAT(shutdown(p.server, SHUT_WR), SyscallSucceeds());
    EXPECT_EQ(PollEvents(p.client, POLLIN) & POLLHUP, POLLHUP);
}

TEST_P(TcpTest, ShutdownReadKeepsQueuedData) {
    TcpPair p(family());
    ASSERT_THAT(write(p.server, "abc", 3), SyscallSucceedsWithValue(3));
    EXPECT_EQ(PollEvents(p.client, POLLIN, 1000) & POLLIN, POLLIN);
    ASSERT_THAT(shutdown(p.client, SHUT_RD), SyscallSucceeds());
    char buf[8];
    EXPECT_THAT(read(p.client, buf, sizeof(buf)), SyscallSucceedsWithValue(3));
    EXPECT_THAT(read(p.client, buf, sizeof(buf)), SyscallSucceedsWithValue(0));
}

TEST_P(TcpTest, CloseWithUnreadDataResetsPeer) {
    TcpPair p(family());
    ASSERT_THAT(write(p.server, "unread", 6), SyscallSucceedsWithValue(6));
    EXPECT_EQ(PollEvents(p.client, POLLIN, 1000) & POLLIN, POLLIN);
    p.client.reset();
    EXPECT_EQ(PollEvents(p.server, POLLIN, 1000) & (POLLERR | POLLHUP), POLLERR | POLLHUP);
    char buf[8];
    EXPECT_THAT(read(p.server, buf, sizeof(buf)), SyscallFailsWithErrno(ECONNRESET));
    EXPECT_THAT(read(p.server, buf, sizeof(buf)), SyscallSucceedsWithValue(0));
    EXPECT_THAT(send(p.server, "x", 1, MSG_NOSIGNAL), SyscallFailsWithErrno(EPIPE));
}

TEST_P(TcpTest, LingerZeroResetsPeer) {
    TcpPair p(family());
    linger l{1, 0};
    ASSERT_THAT(setsockopt(p.client, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), SyscallSucceeds());
    p.client.reset();
    EXPECT_EQ(PollEvents(p.server, POLLIN, 1000) & POLLERR, POLLERR);
    char buf[8];
    EXPECT_THAT(read(p.server, buf, sizeof(buf)), SyscallFailsWithErrno(ECONNRESET));
    int err = -1;
    socklen_t len = sizeof(err);
    ASSERT_THAT(getsockopt(p.server, SOL_SOCKET, SO_ERROR, &err, &len), SyscallSucceeds());
    EXPECT_EQ(err, 0);
}

TEST_P(TcpTest, WriteToClosedPeerThenEpipe) {
    TcpPair p(family());
    p.server.reset();  // a clean close: FIN
    char buf[8];
    EXPECT_THAT(read(p.client, buf, sizeof(buf)), SyscallSucceedsWithValue(0));
    // The first write is taken; the closed end answers with a reset.
    EXPECT_THAT(send(p.client, "x", 1, MSG_NOSIGNAL), SyscallSucceedsWithValue(1));
    EXPECT_EQ(PollEvents(p.client, POLLIN, 1000) & POLLERR, POLLERR);
    EXPECT_THAT(send(p.client, "x", 1, MSG_NOSIGNAL), SyscallFailsWithErrno(EPIPE));
}

TEST_P(TcpTest, ListenerCloseResetsUnaccepted) {
    Fd l(BoundSocket(family(), SOCK_STREAM));
    InetAddr lname = SockName(l);
    Fd c(socket(family(), SOCK_STREAM, 0));
    ASSERT_THAT(connect(c, lname.get(), lname.len), SyscallSucceeds());
    EXPECT_EQ(PollEvents(l, POLLIN, 1000) & POLLIN, POLLIN);
    l.reset();
    char buf[4];
    EXPECT_EQ(PollEvents(c, POLLIN, 1000) & POLLERR, POLLERR);
    EXPECT_THAT(read(c, buf, sizeof(buf)), SyscallFailsWithErrno(ECONNRESET));
}

TEST_P(TcpTest, RecvFlags) {
    TcpPair p(family());
    char buf[16] = {};
    EXPECT_THAT(recv(p.client, buf, sizeof(buf), MSG_DONTWAIT), SyscallFailsWithErrno(EAGAIN));
    EXPECT_THAT(recv(p.client, buf, sizeof(buf), MSG_OOB), SyscallFailsWithErrno(EINVAL));
    ASSERT_THAT(send(p.server, "abcdef", 6, MSG_MORE), SyscallSucceedsWithValue(6));
    ASSERT_THAT(send(p.server, "gh", 2, 0), SyscallSucceedsWithValue(2));
    EXPECT_EQ(PollEvents(p.client, POLLIN, 1000) & POLLIN, POLLIN);
    usleep(20000);
    int avail = -1;
    ASSERT_THAT(ioctl(p.client, FIONREAD, &avail), SyscallSucceeds());
    EXPECT_EQ(avail, 8);
    ASSERT_THAT(ioctl(p.client, SIOCINQ, &avail), SyscallSucceeds());
    EXPECT_EQ(avail, 8);
    EXPECT_THAT(recv(p.client, buf, 3, MSG_PEEK), SyscallSucceedsWithValue(3));
    EXPECT_EQ(std::string(buf, 3), "abc");
    // MSG_TRUNC on a stream discards.
    EXPECT_THAT(recv(p.client, nullptr, 2, MSG_TRUNC), SyscallSucceedsWithValue(2));
    EXPECT_THAT(recv(p.client, buf, sizeof(buf), 0), SyscallSucceedsWithValue(6));
    EXPECT_EQ(std::string(buf, 6), "cdefgh");
    int listening = 0;
    EXPECT_THAT(ioctl(p.listener, SIOCINQ, &listening), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(ioctl(p.listener, SIOCOUTQ, &listening), SyscallFailsWithErrno(EINVAL));
}

TEST_P(TcpTest, WaitAllGathersPieces) {
    TcpPair p(family());
    std::thread writer([&] {
        for (int i = 0; i < 4; ++i) {
            usleep(10000);
            EXPECT_EQ(write(p.server, "ab", 2), 2);
        }
    });
    char buf[8] = {};
    EXPECT_THAT(recv(p.client, buf, 8, MSG_WAITALL), SyscallSucceedsWithValue(8));
    writer.join();
    EXPECT_EQ(std::string(buf, 8), "abababab");
}

TEST_P(TcpTest, FlowControlIsBounded) {
    TcpPair p(family());
    int fl = fcntl(p.client, F_GETFL);
    ASSERT_EQ(fcntl(p.client, F_SETFL, fl | O_NONBLOCK), 0);
    std::string chunk(65536, 'x');
    size_t total = 0;
    ssize_t n;
    while ((n = write(p.client, chunk.data(), chunk.size())) > 0) {
        total += static_cast<size_t>(n);
        ASSERT_LT(total, size_t{256} << 20);
    }
    EXPECT_EQ(errno, EAGAIN);
    EXPECT_EQ(PollEvents(p.client, POLLOUT) & POLLOUT, 0);
    std::string sink(1 << 20, '\0');
    size_t got = 0;
    while (got < total) {
        ssize_t r = read(p.server, sink.data(), sink.size());
        ASSERT_GT(r, 0);
        got += static_cast<size_t>(r);
    }
    EXPECT_EQ(PollEvents(p.client, POLLOUT, 1000) & POLLOUT, POLLOUT);
}

TEST_P(TcpTest, Readiness) {
    Fd l(BoundSocket(family(), SOCK_STREAM));
    EXPECT_EQ(PollEvents(l, POLLIN | POLLOUT), 0);
    InetAddr lname = SockName(l);
    Fd c(socket(family(), SOCK_STREAM, 0));
    ASSERT_THAT(connect(c, lname.get(), lname.len), SyscallSucceeds());
    EXPECT_EQ(PollEvents(l, POLLIN, 1000), POLLIN);
    Fd s(accept(l, nullptr, nullptr));
    EXPECT_EQ(PollEvents(c, POLLIN | POLLOUT), POLLOUT);
    ASSERT_THAT(write(s, "x", 1), SyscallSucceeds());
    EXPECT_EQ(PollEvents(c, POLLIN | POLLOUT, 1000), POLLIN | POLLOUT);
}

TEST_P(TcpTest, EpollAndSelect) {
    TcpPair p(family());
    Fd ep(epoll_create1(EPOLL_CLOEXEC));
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
    ev.data.fd = p.client;
    ASSERT_THAT(epoll_ctl(ep, EPOLL_CTL_ADD, p.client, &ev), SyscallSucceeds());
    epoll_event out{};
    EXPECT_THAT(epoll_wait(ep, &out, 1, 0), SyscallSucceedsWithValue(0));
    std::thread writer([&] {
        usleep(20000);
        EXPECT_EQ(write(p.server, "e", 1), 1);
    });
    ASSERT_THAT(epoll_wait(ep, &out, 1, 5000), SyscallSucceedsWithValue(1));
    writer.join();
    EXPECT_EQ(out.events, static_cast<uint32_t>(EPOLLIN));
    // Edge-triggered: nothing new, no event.
    EXPECT_THAT(epoll_wait(ep, &out, 1, 0), SyscallSucceedsWithValue(0));
    ASSERT_THAT(shutdown(p.server, SHUT_WR), SyscallSucceeds());
    ASSERT_THAT(epoll_wait(ep, &out, 1, 1000), SyscallSucceedsWithValue(1));
    EXPECT_EQ(out.events, static_cast<uint32_t>(EPOLLIN | EPOLLRDHUP));
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(p.client.get(), &rd);
    timeval tv{1, 0};
    EXPECT_THAT(select(p.client + 1, &rd, nullptr, nullptr, &tv), SyscallSucceedsWithValue(1));
}

TEST_P(TcpTest, BlockingAcceptWakesOnConnect) {
    Fd l(BoundSocket(family(), SOCK_STREAM));
    InetAddr lname = SockName(l);
    std::thread connector([&] {
        usleep(20000);
        Fd c(socket(family(), SOCK_STREAM, 0));
        EXPECT_EQ(connect(c, lname.get(), lname.len), 0);
        EXPECT_EQ(write(c, "z", 1), 1);
    });
    Fd s(accept(l, nullptr, nullptr));
    ASSERT_GE(s, 0);
    char ch = 0;
    EXPECT_THAT(read(s, &ch, 1), SyscallSucceedsWithValue(1));
    connector.join();
}

TEST_P(TcpTest, FstatAndProcFd) {
    Fd s(socket(family(), SOCK_STREAM, 0));
    struct stat st {};
    ASSERT_THAT(fstat(s, &st), SyscallSucceeds());
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    char link[64] = {};
    std::string path = "/proc/self/fd/" + std::to_string(s.get());
    ASSERT_GT(readlink(path.c_str(), link, sizeof(link) - 1), 0);
    EXPECT_EQ(std::string(link), "socket:[" + std::to_string(st.st_ino) + "]");
}

INSTANTIATE_TEST_SUITE_P(Families, TcpTest, ::testing::Values(AF_INET, AF_INET6), FamilyName);

// ---- IPv4-mapped IPv6 and IPV6_V6ONLY ----

TEST(TcpMappedTest, DualStackListenerTakesV4) {
    Fd l(socket(AF_INET6, SOCK_STREAM, 0));
    InetAddr any = Wildcard(AF_INET6);
    ASSERT_THAT(bind(l, any.get(), any.len), SyscallSucceeds());
    ASSERT_THAT(listen(l, 4), SyscallSucceeds());
    uint16_t port = SockName(l).port();
    Fd c(socket(AF_INET, SOCK_STREAM, 0));
    InetAddr dst = Loopback(AF_INET, port);
    ASSERT_THAT(connect(c, dst.get(), dst.len), SyscallSucceeds());
    InetAddr peer;
    peer.len = sizeof(peer.ss);
    Fd s(accept(l, peer.get(), &peer.len));
    ASSERT_GE(s, 0);
    EXPECT_EQ(peer.family(), AF_INET6);
    EXPECT_EQ(peer.ip(), "::ffff:127.0.0.1");
    EXPECT_EQ(SockName(s).ip(), "::ffff:127.0.0.1");
    // A v6 socket reaches a v4 listener through a mapped address.
    Fd l4(BoundSocket(AF_INET, SOCK_STREAM));
    Fd c6(socket(AF_INET6, SOCK_STREAM, 0));
    InetAddr mapped = MakeAddr(AF_INET6, "::ffff:127.0.0.1", SockName(l4).port());
    ASSERT_THAT(connect(c6, mapped.get(), mapped.len), SyscallSucceeds());
    EXPECT_EQ(SockName(c6).ip(), "::ffff:127.0.0.1");
}

TEST(TcpMappedTest, V6OnlyAndWildcardConflicts) {
    Fd l4(socket(AF_INET, SOCK_STREAM, 0));
    InetAddr any4 = Wildcard(AF_INET);
    ASSERT_THAT(bind(l4, any4.get(), any4.len), SyscallSucceeds());
    uint16_t port = SockName(l4).port();
    // :: without IPV6_V6ONLY covers 0.0.0.0 too.
    Fd dual(socket(AF_INET6, SOCK_STREAM, 0));
    InetAddr any6 = Wildcard(AF_INET6, port);
    EXPECT_THAT(bind(dual, any6.get(), any6.len), SyscallFailsWithErrno(EADDRINUSE));
    Fd only(socket(AF_INET6, SOCK_STREAM, 0));
    int one = 1;
    ASSERT_THAT(setsockopt(only, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), SyscallSucceeds());
    ASSERT_THAT(bind(only, any6.get(), any6.len), SyscallSucceeds());
    EXPECT_THAT(setsockopt(only, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), SyscallFailsWithErrno(EINVAL));
    ASSERT_THAT(listen(only, 1), SyscallSucceeds());
    // A v4 connection does not reach the v6-only listener.
    Fd c(socket(AF_INET, SOCK_STREAM, 0));
    InetAddr dst = Loopback(AF_INET, port);
    EXPECT_THAT(connect(c, dst.get(), dst.len), SyscallFailsWithErrno(ECONNREFUSED));
    // A v6-only socket cannot bind or connect to a mapped address.
    Fd m(socket(AF_INET6, SOCK_STREAM, 0));
    ASSERT_THAT(setsockopt(m, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), SyscallSucceeds());
    InetAddr mapped = MakeAddr(AF_INET6, "::ffff:127.0.0.1", port);
    EXPECT_THAT(bind(m, mapped.get(), mapped.len), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(connect(m, mapped.get(), mapped.len), SyscallFailsWithErrno(ENETUNREACH));
}

}  // namespace
}  // namespace moat::conformance
