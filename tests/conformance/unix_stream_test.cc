// AF_UNIX SOCK_STREAM: creation errnos, socketpair data and EOF, path and abstract
// addresses, listen/accept/connect, backlog, shutdown, EPIPE/SIGPIPE, ECONNRESET, options,
// readiness, fstat and /proc/self/fd.

#include "tests/conformance/temp_dir.h"
#include "tests/conformance/unix_socket_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include <gtest/gtest.h>

#include <string>

namespace moat::conformance {
namespace {

TEST(UnixStreamTest, SocketErrnos) {
    errno = 0;
    EXPECT_EQ(syscall(SYS_socket, AF_UNIX, SOCK_STREAM | 0x100000, 0), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(syscall(SYS_socket, 12345, SOCK_STREAM, 0), -1);
    EXPECT_EQ(errno, EAFNOSUPPORT);
    EXPECT_EQ(syscall(SYS_socket, AF_UNIX, 11, 0), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(syscall(SYS_socket, AF_UNIX, SOCK_RDM, 0), -1);
    EXPECT_EQ(errno, ESOCKTNOSUPPORT);
    EXPECT_EQ(syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 7), -1);
    EXPECT_EQ(errno, EPROTONOSUPPORT);
    // SOCK_RAW is a datagram socket in AF_UNIX.
    Fd raw(socket(AF_UNIX, SOCK_RAW, 0));
    ASSERT_GE(raw, 0);
    int type = 0;
    socklen_t len = sizeof(type);
    ASSERT_EQ(getsockopt(raw, SOL_SOCKET, SO_TYPE, &type, &len), 0);
    EXPECT_EQ(type, SOCK_DGRAM);
}

TEST(UnixStreamTest, NotASocket) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    EXPECT_EQ(listen(p[0], 1), -1);
    EXPECT_EQ(errno, ENOTSOCK);
    EXPECT_EQ(shutdown(p[0], SHUT_RD), -1);
    EXPECT_EQ(errno, ENOTSOCK);
    close(p[0]);
    close(p[1]);
    EXPECT_EQ(listen(p[0], 1), -1);
    EXPECT_EQ(errno, EBADF);
}

TEST(UnixStreamTest, SocketpairDataAndEof) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    Fd a(sv[0]), b(sv[1]);
    EXPECT_EQ(fcntl(a, F_GETFD), FD_CLOEXEC);
    EXPECT_EQ(fcntl(a, F_GETFL), O_RDWR);
    ASSERT_EQ(write(a, "abc", 3), 3);
    ASSERT_EQ(send(a, "def", 3, 0), 3);
    char buf[16];
    // A stream has no boundaries: both writes arrive in one read.
    ASSERT_EQ(recv(b, buf, sizeof(buf), MSG_PEEK), 6);
    ASSERT_EQ(read(b, buf, sizeof(buf)), 6);
    EXPECT_EQ(std::string(buf, 6), "abcdef");
    EXPECT_EQ(recv(b, buf, sizeof(buf), MSG_DONTWAIT), -1);
    EXPECT_EQ(errno, EAGAIN);
    a.reset();
    EXPECT_EQ(read(b, buf, sizeof(buf)), 0);
    // Writing to a closed peer: EPIPE without a signal when MSG_NOSIGNAL.
    EXPECT_EQ(send(b, "x", 1, MSG_NOSIGNAL), -1);
    EXPECT_EQ(errno, EPIPE);
}

TEST(UnixStreamTest, SigpipeOnWrite) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[1]);
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, &old), 0);
    EXPECT_EQ(write(sv[0], "x", 1), -1);
    EXPECT_EQ(errno, EPIPE);
    sigset_t pending;
    sigpending(&pending);
    EXPECT_TRUE(sigismember(&pending, SIGPIPE));
    timespec zero{};
    sigtimedwait(&set, nullptr, &zero);
    // MSG_NOSIGNAL: no signal.
    EXPECT_EQ(send(sv[0], "x", 1, MSG_NOSIGNAL), -1);
    sigpending(&pending);
    EXPECT_FALSE(sigismember(&pending, SIGPIPE));
    sigprocmask(SIG_SETMASK, &old, nullptr);
    close(sv[0]);
}

TEST(UnixStreamTest, UnreadDataGivesConnReset) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ASSERT_EQ(write(sv[0], "x", 1), 1);
    ASSERT_EQ(write(sv[1], "y", 1), 1);
    close(sv[1]);  // with "x" unread
    char c;
    // The byte sent to us is still readable, then the reset, then EOF.
    EXPECT_EQ(read(sv[0], &c, 1), 1);
    EXPECT_EQ(read(sv[0], &c, 1), -1);
    EXPECT_EQ(errno, ECONNRESET);
    EXPECT_EQ(read(sv[0], &c, 1), 0);
    close(sv[0]);
}

TEST(UnixStreamTest, UnconnectedErrnos) {
    Fd s(socket(AF_UNIX, SOCK_STREAM, 0));
    char c;
    EXPECT_EQ(recv(s, &c, 1, 0), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(send(s, "x", 1, MSG_NOSIGNAL), -1);
    EXPECT_EQ(errno, ENOTCONN);
    sockaddr_un sun{};
    socklen_t len = sizeof(sun);
    EXPECT_EQ(getpeername(s, reinterpret_cast<sockaddr*>(&sun), &len), -1);
    EXPECT_EQ(errno, ENOTCONN);
    // listen needs an address; accept needs a listener.
    EXPECT_EQ(listen(s, 1), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(accept(s, nullptr, nullptr), -1);
    EXPECT_EQ(errno, EINVAL);
    len = sizeof(sun);
    ASSERT_EQ(getsockname(s, reinterpret_cast<sockaddr*>(&sun), &len), 0);
    EXPECT_EQ(len, sizeof(sa_family_t));
    EXPECT_EQ(sun.sun_family, AF_UNIX);
    EXPECT_EQ(shutdown(s, 7), -1);
    EXPECT_EQ(errno, EINVAL);
}

TEST(UnixStreamTest, BindAddressErrnos) {
    Fd s(socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un sun{};
    sun.sun_family = AF_INET;
    strcpy(sun.sun_path, "x");
    EXPECT_EQ(bind(s, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(syscall(SYS_bind, s.get(), &sun, 200), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(syscall(SYS_bind, s.get(), &sun, -1), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(syscall(SYS_bind, s.get(), reinterpret_cast<void*>(1), 10), -1);
    EXPECT_EQ(errno, EFAULT);
    UnixAddr missing("/nonexistent-dir/sock");
    EXPECT_EQ(bind(s, missing.get(), missing.len), -1);
    EXPECT_EQ(errno, ENOENT);
}

TEST(UnixStreamTest, PathListenConnectAccept) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir / "sock";
    UnixAddr addr(path);
    Fd server(socket(AF_UNIX, SOCK_STREAM, 0));
    ASSERT_EQ(bind(server, addr.get(), addr.len), 0);
    struct stat st;
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    // The path is taken (checked first); a bound socket takes no second name (and the node
    // made for it is gone again).
    EXPECT_EQ(bind(server, addr.get(), addr.len), -1);
    EXPECT_EQ(errno, EADDRINUSE);
    UnixAddr second(dir / "second");
    EXPECT_EQ(bind(server, second.get(), second.len), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(access((dir / "second").c_str(), F_OK), -1);
    Fd other(socket(AF_UNIX, SOCK_STREAM, 0));
    EXPECT_EQ(bind(other, addr.get(), addr.len), -1);
    EXPECT_EQ(errno, EADDRINUSE);

    Fd client(socket(AF_UNIX, SOCK_STREAM, 0));
    // Bound but not listening.
    EXPECT_EQ(connect(client, addr.get(), addr.len), -1);
    EXPECT_EQ(errno, ECONNREFUSED);
    ASSERT_EQ(listen(server, 5), 0);
    int acc = 0;
    socklen_t len = sizeof(acc);
    ASSERT_EQ(getsockopt(server, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len), 0);
    EXPECT_EQ(acc, 1);
    pollfd pfd{server, POLLIN, 0};
    EXPECT_EQ(poll(&pfd, 1, 0), 0);
    ASSERT_EQ(connect(client, addr.get(), addr.len), 0);
    EXPECT_EQ(poll(&pfd, 1, 0), 1);
    EXPECT_EQ(pfd.revents, POLLIN);
    EXPECT_EQ(connect(client, addr.get(), addr.len), -1);
    EXPECT_EQ(errno, EISCONN);

    sockaddr_un peer{};
    len = sizeof(peer);
    Fd conn(accept4(server, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK));
    ASSERT_GE(conn, 0);
    EXPECT_EQ(len, sizeof(sa_family_t));  // the client is unnamed
    EXPECT_EQ(fcntl(conn, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    sockaddr_un name{};
    len = sizeof(name);
    ASSERT_EQ(getpeername(client, reinterpret_cast<sockaddr*>(&name), &len), 0);
    EXPECT_EQ(len, addr.len);
    EXPECT_EQ(std::string(name.sun_path), path);
    len = sizeof(name);
    ASSERT_EQ(getsockname(conn, reinterpret_cast<sockaddr*>(&name), &len), 0);
    EXPECT_EQ(std::string(name.sun_path), path);

    ASSERT_EQ(write(client, "ping", 4), 4);
    char buf[8];
    ASSERT_EQ(read(conn, buf, sizeof(buf)), 4);
    EXPECT_EQ(std::string(buf, 4), "ping");
    EXPECT_EQ(accept4(server, nullptr, nullptr, SOCK_NONBLOCK | 0x4000), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(fcntl(server, F_SETFL, O_NONBLOCK), 0);
    EXPECT_EQ(accept(server, nullptr, nullptr), -1);
    EXPECT_EQ(errno, EAGAIN);

    // Once the listener is gone (its file closed and the path removed), nobody answers.
    server.reset();
    Fd late(socket(AF_UNIX, SOCK_STREAM, 0));
    EXPECT_EQ(connect(late, addr.get(), addr.len), -1);
    EXPECT_EQ(errno, ECONNREFUSED);
    unlink(path.c_str());
    EXPECT_EQ(connect(late, addr.get(), addr.len), -1);
    EXPECT_EQ(errno, ENOENT);
}

TEST(UnixStreamTest, ConnectToNonSocketAndWrongType) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string file = dir / "file";
    Fd f(open(file.c_str(), O_CREAT | O_WRONLY, 0666));
    Fd s(socket(AF_UNIX, SOCK_STREAM, 0));
    UnixAddr fa(file);
    EXPECT_EQ(connect(s, fa.get(), fa.len), -1);
    EXPECT_EQ(errno, ECONNREFUSED);
    UnixAddr da(dir / "dgram");
    Fd d(socket(AF_UNIX, SOCK_DGRAM, 0));
    ASSERT_EQ(bind(d, da.get(), da.len), 0);
    EXPECT_EQ(connect(s, da.get(), da.len), -1);
    EXPECT_EQ(errno, EPROTOTYPE);
}

TEST(UnixStreamTest, AbstractAndAutobind) {
    UnixAddr addr(AbstractName("stream"));
    Fd server(socket(AF_UNIX, SOCK_STREAM, 0));
    ASSERT_EQ(bind(server, addr.get(), addr.len), 0);
    Fd dup_name(socket(AF_UNIX, SOCK_STREAM, 0));
    EXPECT_EQ(bind(dup_name, addr.get(), addr.len), -1);
    EXPECT_EQ(errno, EADDRINUSE);
    ASSERT_EQ(listen(server, 1), 0);
    Fd client(socket(AF_UNIX, SOCK_STREAM, 0));
    // An empty address autobinds an abstract name: NUL and five hex digits.
    sa_family_t fam = AF_UNIX;
    ASSERT_EQ(bind(client, reinterpret_cast<sockaddr*>(&fam), sizeof(fam)), 0);
    sockaddr_un name{};
    socklen_t len = sizeof(name);
    ASSERT_EQ(getsockname(client, reinterpret_cast<sockaddr*>(&name), &len), 0);
    EXPECT_EQ(len, offsetof(sockaddr_un, sun_path) + 6);
    EXPECT_EQ(name.sun_path[0], '\0');
    ASSERT_EQ(connect(client, addr.get(), addr.len), 0);
    sockaddr_un peer{};
    len = sizeof(peer);
    Fd conn(accept(server, reinterpret_cast<sockaddr*>(&peer), &len));
    ASSERT_GE(conn, 0);
    EXPECT_EQ(len, offsetof(sockaddr_un, sun_path) + 6);
    EXPECT_EQ(memcmp(peer.sun_path, name.sun_path, 6), 0);
    // A short buffer gets the beginning and the full length.
    char small[4];
    len = sizeof(small);
    ASSERT_EQ(getpeername(client, reinterpret_cast<sockaddr*>(small), &len), 0);
    EXPECT_EQ(len, addr.len);
}

TEST(UnixStreamTest, BacklogFullNonblockingConnect) {
    UnixAddr addr(AbstractName("backlog"));
    Fd server(socket(AF_UNIX, SOCK_STREAM, 0));
    ASSERT_EQ(bind(server, addr.get(), addr.len), 0);
    ASSERT_EQ(listen(server, 0), 0);
    // Backlog 0 still takes one pending connection.
    Fd c1(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0));
    ASSERT_EQ(connect(c1, addr.get(), addr.len), 0);
    Fd c2(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0));
    EXPECT_EQ(connect(c2, addr.get(), addr.len), -1);
    EXPECT_EQ(errno, EAGAIN);
    Fd conn(accept(server, nullptr, nullptr));
    ASSERT_GE(conn, 0);
    EXPECT_EQ(connect(c2, addr.get(), addr.len), 0);
    // Closing the listener resets the connection nobody accepted.
    server.reset();
    char c;
    EXPECT_EQ(read(c2, &c, 1), -1);
    EXPECT_EQ(errno, ECONNRESET);
}

TEST(UnixStreamTest, ShutdownAndReadiness) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    Fd a(sv[0]), b(sv[1]);
    pollfd pfd{b, POLLIN | POLLOUT | POLLRDHUP, 0};
    ASSERT_EQ(poll(&pfd, 1, 0), 1);
    EXPECT_EQ(pfd.revents, POLLOUT);
    ASSERT_EQ(shutdown(a, SHUT_WR), 0);
    ASSERT_EQ(poll(&pfd, 1, 0), 1);
    EXPECT_EQ(pfd.revents, POLLIN | POLLOUT | POLLRDHUP);
    char c;
    EXPECT_EQ(read(b, &c, 1), 0);
    EXPECT_EQ(send(a, "x", 1, MSG_NOSIGNAL), -1);
    EXPECT_EQ(errno, EPIPE);
    // The other direction still works.
    ASSERT_EQ(write(b, "y", 1), 1);
    ASSERT_EQ(read(a, &c, 1), 1);
    b.reset();
    pollfd pa{a, POLLIN | POLLOUT, 0};
    ASSERT_EQ(poll(&pa, 1, 0), 1);
    EXPECT_EQ(pa.revents, POLLIN | POLLOUT | POLLHUP);
    // An unconnected stream socket reports POLLHUP.
    Fd s(socket(AF_UNIX, SOCK_STREAM, 0));
    pollfd ps{s, POLLIN | POLLOUT, 0};
    ASSERT_EQ(poll(&ps, 1, 0), 1);
    EXPECT_EQ(ps.revents, POLLOUT | POLLHUP);
}

TEST(UnixStreamTest, FloodIsBoundedBySendBuffer) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    Fd a(sv[0]), b(sv[1]);
    int sndbuf = 65536;
    ASSERT_EQ(setsockopt(a, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
    socklen_t len = sizeof(sndbuf);
    ASSERT_EQ(getsockopt(a, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len), 0);
    EXPECT_EQ(sndbuf, 131072);
    std::string chunk(4096, 'z');
    size_t total = 0;
    ssize_t n;
    while ((n = write(a, chunk.data(), chunk.size())) > 0)
        total += static_cast<size_t>(n);
    EXPECT_EQ(errno, EAGAIN);
    EXPECT_GT(total, 0u);
    EXPECT_LE(total, 2u * 131072);
    pollfd pfd{a, POLLOUT, 0};
    EXPECT_EQ(poll(&pfd, 1, 0), 0);
    // Draining makes room again.
    char buf[4096];
    size_t drained = 0;
    while ((n = read(b, buf, sizeof(buf))) > 0)
        drained += static_cast<size_t>(n);
    EXPECT_EQ(drained, total);
    EXPECT_EQ(poll(&pfd, 1, 0), 1);
}

TEST(UnixStreamTest, WaitallAndTimeout) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    Fd a(sv[0]), b(sv[1]);
    timeval tv{0, 100000};
    ASSERT_EQ(setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    timeval got{};
    socklen_t len = sizeof(got);
    ASSERT_EQ(getsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &got, &len), 0);
    EXPECT_EQ(got.tv_sec, 0);
    EXPECT_EQ(got.tv_usec, 100000);
    timeval bad{0, 1000000};
    EXPECT_EQ(setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &bad, sizeof(bad)), -1);
    EXPECT_EQ(errno, EDOM);
    EXPECT_EQ(setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &tv, 4), -1);
    EXPECT_EQ(errno, EINVAL);
    char buf[8];
    EXPECT_EQ(recv(b, buf, sizeof(buf), 0), -1);
    EXPECT_EQ(errno, EAGAIN);
    // MSG_WAITALL: a partial read after the timeout returns what came.
    ASSERT_EQ(write(a, "abc", 3), 3);
    EXPECT_EQ(recv(b, buf, sizeof(buf), MSG_WAITALL), 3);
}

TEST(UnixStreamTest, Options) {
    Fd s(socket(AF_UNIX, SOCK_STREAM, 0));
    int v = -1;
    socklen_t len = sizeof(v);
    ASSERT_EQ(getsockopt(s, SOL_SOCKET, SO_DOMAIN, &v, &len), 0);
    EXPECT_EQ(v, AF_UNIX);
    ASSERT_EQ(getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &v, &len), 0);
    EXPECT_EQ(v, 0);
    ASSERT_EQ(getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &len), 0);
    EXPECT_EQ(v, 0);
    ASSERT_EQ(getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &len), 0);
    EXPECT_EQ(v, 0);
    int one = 1;
    ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
    ASSERT_EQ(getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, &len), 0);
    EXPECT_EQ(v, 1);
    linger l{1, 5};
    ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
    EXPECT_EQ(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, 2), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(getsockopt(s, SOL_SOCKET, 9999, &v, &len), -1);
    EXPECT_EQ(errno, ENOPROTOOPT);
    EXPECT_EQ(getsockopt(s, 6 /* SOL_TCP */, 1, &v, &len), -1);
    EXPECT_EQ(errno, EOPNOTSUPP);
    len = -1;
    EXPECT_EQ(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &len), -1);
    EXPECT_EQ(errno, EINVAL);
    // A short buffer gets a truncated value.
    char c = 0;
    len = 1;
    ASSERT_EQ(getsockopt(s, SOL_SOCKET, SO_TYPE, &c, &len), 0);
    EXPECT_EQ(len, 1u);
    EXPECT_EQ(c, SOCK_STREAM);
}

TEST(UnixStreamTest, PeerCred) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    Fd a(sv[0]), b(sv[1]);
    ucred c{};
    socklen_t len = sizeof(c);
    ASSERT_EQ(getsockopt(a, SOL_SOCKET, SO_PEERCRED, &c, &len), 0);
    EXPECT_EQ(c.pid, getpid());
    EXPECT_EQ(c.uid, geteuid());
    EXPECT_EQ(c.gid, getegid());
    Fd s(socket(AF_UNIX, SOCK_STREAM, 0));
    ASSERT_EQ(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &c, &len), 0);
    EXPECT_EQ(c.pid, 0);
    EXPECT_EQ(c.uid, static_cast<uid_t>(-1));
}

TEST(UnixStreamTest, StatAndProcFd) {
    Fd s(socket(AF_UNIX, SOCK_STREAM, 0));
    struct stat st;
    ASSERT_EQ(fstat(s, &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    char link[64] = {};
    std::string proc = "/proc/self/fd/" + std::to_string(s.get());
    ASSERT_GT(readlink(proc.c_str(), link, sizeof(link) - 1), 0);
    EXPECT_EQ(std::string(link), "socket:[" + std::to_string(st.st_ino) + "]");
}

}  // namespace
}  // namespace moat::conformance
