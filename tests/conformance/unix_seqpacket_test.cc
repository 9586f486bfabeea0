// AF_UNIX SOCK_SEQPACKET: connection set-up, record boundaries and truncation, EOF and EPIPE
// after the peer closes, unconnected errnos.

#include "tests/conformance/unix_socket_util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>

#include <gtest/gtest.h>

#include <string>

namespace moat::conformance {
namespace {

TEST(UnixSeqpacketTest, ListenAcceptAndBoundaries) {
    UnixAddr addr(AbstractName("seqpacket"));
    Fd server(socket(AF_UNIX, SOCK_SEQPACKET, 0));
    ASSERT_EQ(bind(server, addr.get(), addr.len), 0);
    ASSERT_EQ(listen(server, 4), 0);
    Fd client(socket(AF_UNIX, SOCK_SEQPACKET, 0));
    ASSERT_EQ(connect(client, addr.get(), addr.len), 0);
    Fd conn(accept(server, nullptr, nullptr));
    ASSERT_GE(conn, 0);
    int type = 0;
    socklen_t len = sizeof(type);
    ASSERT_EQ(getsockopt(conn, SOL_SOCKET, SO_TYPE, &type, &len), 0);
    EXPECT_EQ(type, SOCK_SEQPACKET);

    ASSERT_EQ(send(client, "first", 5, 0), 5);
    ASSERT_EQ(send(client, "second", 6, 0), 6);
    char buf[16];
    // Each record is read alone; a short buffer truncates it.
    ASSERT_EQ(recv(conn, buf, sizeof(buf), 0), 5);
    iovec iov{buf, 3};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    ASSERT_EQ(recvmsg(conn, &m, 0), 3);
    EXPECT_EQ(m.msg_flags, MSG_TRUNC);
    EXPECT_EQ(std::string(buf, 3), "sec");
    // An address on send is ignored.
    UnixAddr elsewhere(AbstractName("nowhere"));
    ASSERT_EQ(sendto(client, "z", 1, 0, elsewhere.get(), elsewhere.len), 1);
    ASSERT_EQ(recv(conn, buf, sizeof(buf), 0), 1);

    client.reset();
    EXPECT_EQ(recv(conn, buf, sizeof(buf), 0), 0);
    pollfd pfd{conn, POLLIN, 0};
    ASSERT_EQ(poll(&pfd, 1, 0), 1);
    EXPECT_EQ(pfd.revents & (POLLIN | POLLHUP), POLLIN | POLLHUP);
    EXPECT_EQ(send(conn, "x", 1, MSG_NOSIGNAL), -1);
    EXPECT_EQ(errno, EPIPE);
}

TEST(UnixSeqpacketTest, SocketpairRecords) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    Fd a(sv[0]), b(sv[1]);
    ASSERT_EQ(write(a, "ab", 2), 2);
    ASSERT_EQ(write(a, "cd", 2), 2);
    char buf[8];
    EXPECT_EQ(read(b, buf, sizeof(buf)), 2);
    EXPECT_EQ(read(b, buf, sizeof(buf)), 2);
    EXPECT_EQ(recv(b, buf, sizeof(buf), MSG_DONTWAIT), -1);
    EXPECT_EQ(errno, EAGAIN);
}

TEST(UnixSeqpacketTest, UnconnectedErrnos) {
    Fd s(socket(AF_UNIX, SOCK_SEQPACKET, 0));
    char c;
    EXPECT_EQ(recv(s, &c, 1, 0), -1);
    EXPECT_EQ(errno, ENOTCONN);
    EXPECT_EQ(send(s, "x", 1, MSG_NOSIGNAL), -1);
    EXPECT_EQ(errno, ENOTCONN);
    UnixAddr stream_addr(AbstractName("stream-not-seq"));
    Fd stream(socket(AF_UNIX, SOCK_STREAM, 0));
    ASSERT_EQ(bind(stream, stream_addr.get(), stream_addr.len), 0);
    ASSERT_EQ(listen(stream, 1), 0);
    // Abstract names are looked up per type: a stream socket's name is not found.
    EXPECT_EQ(connect(s, stream_addr.get(), stream_addr.len), -1);
    EXPECT_EQ(errno, ECONNREFUSED);
}

}  // namespace
}  // namespace moat::conformance
