// AF_UNIX SOCK_DGRAM: boundaries and truncation, connected and unconnected sendto, sender
// addresses, peer close, unix_may_send, message size and flood limits, SO_PASSCRED, recvmmsg
// and sendmmsg, readiness.

#include "tests/conformance/unix_socket_util.h"

#include <errno.h>
#include <poll.h>
#include <sys/syscall.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace moat::conformance {
namespace {

TEST(UnixDgramTest, BoundariesAndTruncation) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
    Fd a(sv[0]), b(sv[1]);
    ASSERT_EQ(send(a, "hello", 5, 0), 5);
    ASSERT_EQ(send(a, "", 0, 0), 0);
    ASSERT_EQ(send(a, "world!", 6, 0), 6);
    char buf[16];
    EXPECT_EQ(recv(b, buf, 3, MSG_PEEK), 3);
    // MSG_TRUNC returns the real length; the rest of the datagram is gone.
    EXPECT_EQ(recv(b, buf, 3, MSG_TRUNC), 5);
    EXPECT_EQ(std::string(buf, 3), "hel");
    EXPECT_EQ(recv(b, buf, sizeof(buf), 0), 0);  // the empty datagram
    iovec iov{buf, 2};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    EXPECT_EQ(recvmsg(b, &m, 0), 2);
    EXPECT_EQ(m.msg_flags, MSG_TRUNC);
    EXPECT_EQ(recv(b, buf, sizeof(buf), MSG_DONTWAIT), -1);
    EXPECT_EQ(errno, EAGAIN);
}

TEST(UnixDgramTest, UnconnectedSendtoAndSenderAddress) {
    UnixAddr server_addr(AbstractName("dgram-server"));
    UnixAddr client_addr(AbstractName("dgram-client"));
    Fd server(socket(AF_UNIX, SOCK_DGRAM, 0));
    ASSERT_EQ(bind(server, server_addr.get(), server_addr.len), 0);
    Fd client(socket(AF_UNIX, SOCK_DGRAM, 0));
    // Unbound sender: the receiver gets no address.
    ASSERT_EQ(sendto(client, "a", 1, 0, server_addr.get(), server_addr.len), 1);
    sockaddr_un from{};
    socklen_t len = sizeof(from);
    char c;
    ASSERT_EQ(recvfrom(server, &c, 1, 0, reinterpret_cast<sockaddr*>(&from), &len), 1);
    EXPECT_EQ(len, 0u);
    ASSERT_EQ(bind(client, client_addr.get(), client_addr.len), 0);
    ASSERT_EQ(sendto(client, "b", 1, 0, server_addr.get(), server_addr.len), 1);
    len = sizeof(from);
    ASSERT_EQ(recvfrom(server, &c, 1, 0, reinterpret_cast<sockaddr*>(&from), &len), 1);
    EXPECT_EQ(len, client_addr.len);
    EXPECT_EQ(memcmp(&from, &client_addr.sun, len), 0);
    // No address and no peer.
    EXPECT_EQ(send(client, "x", 1, 0), -1);
    EXPECT_EQ(errno, ENOTCONN);
    UnixAddr nobody(AbstractName("nobody"));
    EXPECT_EQ(sendto(client, "x", 1, 0, nobody.get(), nobody.len), -1);
    EXPECT_EQ(errno, ECONNREFUSED);
    // Listening and accepting are for connection-based sockets.
    EXPECT_EQ(listen(server, 1), -1);
    EXPECT_EQ(errno, EOPNOTSUPP);
    EXPECT_EQ(accept(server, nullptr, nullptr), -1);
    EXPECT_EQ(errno, EOPNOTSUPP);
}

TEST(UnixDgramTest, ConnectedPeerOnly) {
    UnixAddr a_addr(AbstractName("dgram-a"));
    UnixAddr b_addr(AbstractName("dgram-b"));
    Fd a(socket(AF_UNIX, SOCK_DGRAM, 0));
    Fd b(socket(AF_UNIX, SOCK_DGRAM, 0));
    Fd third(socket(AF_UNIX, SOCK_DGRAM, 0));
    ASSERT_EQ(bind(a, a_addr.get(), a_addr.len), 0);
    ASSERT_EQ(bind(b, b_addr.get(), b_addr.len), 0);
    ASSERT_EQ(connect(a, b_addr.get(), b_addr.len), 0);
    ASSERT_EQ(send(a, "1", 1, 0), 1);
    sockaddr_un peer{};
    socklen_t len = sizeof(peer);
    ASSERT_EQ(getpeername(a, reinterpret_cast<sockaddr*>(&peer), &len), 0);
    EXPECT_EQ(len, b_addr.len);
    // a is connected to b, so b accepts datagrams only from a... once b connects to a.
    ASSERT_EQ(connect(b, a_addr.get(), a_addr.len), 0);
    EXPECT_EQ(sendto(third, "x", 1, 0, b_addr.get(), b_addr.len), -1);
    EXPECT_EQ(errno, EPERM);
    // AF_UNSPEC dissolves the association.
    sockaddr unspec{};
    unspec.sa_family = AF_UNSPEC;
    ASSERT_EQ(connect(b, &unspec, sizeof(unspec)), 0);
    EXPECT_EQ(sendto(third, "x", 1, 0, b_addr.get(), b_addr.len), 1);
}

TEST(UnixDgramTest, PeerClosed) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
    Fd a(sv[0]);
    close(sv[1]);
    // First the refusal, then no peer at all.
    EXPECT_EQ(send(a, "x", 1, 0), -1);
    EXPECT_EQ(errno, ECONNREFUSED);
    EXPECT_EQ(send(a, "x", 1, 0), -1);
    EXPECT_EQ(errno, ENOTCONN);
}

TEST(UnixDgramTest, MessageTooLongAndFlood) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv), 0);
    Fd a(sv[0]), b(sv[1]);
    int sndbuf = 0;
    socklen_t len = sizeof(sndbuf);
    ASSERT_EQ(getsockopt(a, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len), 0);
    std::vector<char> big(static_cast<size_t>(sndbuf) + 1);
    EXPECT_EQ(send(a, big.data(), big.size(), 0), -1);
    EXPECT_EQ(errno, EMSGSIZE);
    // Tiny datagrams still fill the send buffer eventually.
    int sent = 0;
    while (send(a, "x", 1, 0) == 1 && sent < 1000000)
        ++sent;
    EXPECT_EQ(errno, EAGAIN);
    EXPECT_GT(sent, 0);
    EXPECT_LT(sent, 1000000);
    pollfd pfd{a, POLLOUT, 0};
    EXPECT_EQ(poll(&pfd, 1, 0), 0);
    char c;
    int got = 0;
    while (recv(b, &c, 1, 0) == 1)
        ++got;
    EXPECT_EQ(got, sent);
    EXPECT_EQ(poll(&pfd, 1, 0), 1);
}

TEST(UnixDgramTest, PassCred) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
    Fd a(sv[0]), b(sv[1]);
    int one = 1;
    ASSERT_EQ(setsockopt(b, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
    ASSERT_EQ(send(a, "x", 1, 0), 1);
    char c;
    iovec iov{&c, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof(control);
    ASSERT_EQ(recvmsg(b, &m, 0), 1);
    cmsghdr* h = CMSG_FIRSTHDR(&m);
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->cmsg_level, SOL_SOCKET);
    EXPECT_EQ(h->cmsg_type, SCM_CREDENTIALS);
    ucred cred;
    memcpy(&cred, CMSG_DATA(h), sizeof(cred));
    EXPECT_EQ(cred.pid, getpid());
    EXPECT_EQ(cred.uid, geteuid());
    EXPECT_EQ(cred.gid, getegid());
    // Claiming another process's pid as an unprivileged sender.
    if (geteuid() != 0) {
        ucred fake{1, geteuid(), getegid()};
        char out[CMSG_SPACE(sizeof(ucred))] = {};
        msghdr s{};
        s.msg_iov = &iov;
        s.msg_iovlen = 1;
        s.msg_control = out;
        s.msg_controllen = sizeof(out);
        cmsghdr* oh = CMSG_FIRSTHDR(&s);
        oh->cmsg_level = SOL_SOCKET;
        oh->cmsg_type = SCM_CREDENTIALS;
        oh->cmsg_len = CMSG_LEN(sizeof(fake));
        memcpy(CMSG_DATA(oh), &fake, sizeof(fake));
        EXPECT_EQ(sendmsg(a, &s, 0), -1);
        EXPECT_EQ(errno, EPERM);
    }
}

TEST(UnixDgramTest, MmsgCalls) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
    Fd a(sv[0]), b(sv[1]);
    char d0[] = "one", d1[] = "three";
    iovec out_iov[2] = {{d0, 3}, {d1, 5}};
    mmsghdr out[2] = {};
    for (int i = 0; i < 2; ++i) {
        out[i].msg_hdr.msg_iov = &out_iov[i];
        out[i].msg_hdr.msg_iovlen = 1;
    }
    ASSERT_EQ(sendmmsg(a, out, 2, 0), 2);
    EXPECT_EQ(out[0].msg_len, 3u);
    EXPECT_EQ(out[1].msg_len, 5u);
    char r0[8], r1[8], r2[8];
    iovec in_iov[3] = {{r0, 8}, {r1, 8}, {r2, 8}};
    mmsghdr in[3] = {};
    for (int i = 0; i < 3; ++i) {
        in[i].msg_hdr.msg_iov = &in_iov[i];
        in[i].msg_hdr.msg_iovlen = 1;
    }
    ASSERT_EQ(recvmmsg(b, in, 3, MSG_WAITFORONE, nullptr), 2);
    EXPECT_EQ(in[0].msg_len, 3u);
    EXPECT_EQ(in[1].msg_len, 5u);
    EXPECT_EQ(std::string(r1, 5), "three");
    EXPECT_EQ(recvmmsg(b, in, 3, MSG_DONTWAIT, nullptr), -1);
    EXPECT_EQ(errno, EAGAIN);
}

TEST(UnixDgramTest, Readiness) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
    Fd a(sv[0]), b(sv[1]);
    pollfd pfd{b, POLLIN | POLLOUT, 0};
    ASSERT_EQ(poll(&pfd, 1, 0), 1);
    EXPECT_EQ(pfd.revents, POLLOUT);
    ASSERT_EQ(send(a, "x", 1, 0), 1);
    ASSERT_EQ(poll(&pfd, 1, 0), 1);
    EXPECT_EQ(pfd.revents, POLLIN | POLLOUT);
    ASSERT_EQ(shutdown(b, SHUT_RDWR), 0);
    ASSERT_EQ(poll(&pfd, 1, 0), 1);
    EXPECT_EQ(pfd.revents, POLLIN | POLLOUT | POLLHUP);
}

}  // namespace
}  // namespace moat::conformance
