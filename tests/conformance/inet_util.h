#pragma once
// Helpers for the TCP/UDP suites (guest code only): loopback addresses of either family,
// sockets bound to an ephemeral loopback port, and a connected TCP pair.

#include "tests/conformance/syscall_matchers.h"
#include "tests/conformance/unix_socket_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace moat::conformance {

// A sockaddr_in or sockaddr_in6 with its length.
struct InetAddr {
    sockaddr_storage ss{};
    socklen_t len = 0;

    sockaddr* get() { return reinterpret_cast<sockaddr*>(&ss); }
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&ss); }
    int family() const { return ss.ss_family; }
    uint16_t port() const {
        return ntohs(family() == AF_INET ? reinterpret_cast<const sockaddr_in*>(&ss)->sin_port
                                         : reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
    }
    void set_port(uint16_t p) {
        if (family() == AF_INET)
            reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(p);
        else
            reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(p);
    }
    std::string ip() const {
        char buf[INET6_ADDRSTRLEN] = {};
        if (family() == AF_INET)
            inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof(buf));
        else
            inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof(buf));
        return buf;
    }
};

// `ip` ("127.0.0.1", "::1", "::ffff:127.0.0.1", "0.0.0.0"…) and `port` in `family`'s sockaddr.
inline InetAddr MakeAddr(int family, const char* ip, uint16_t port = 0) {
    InetAddr a;
    if (family == AF_INET) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&a.ss);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        inet_pton(AF_INET, ip, &sin->sin_addr);
        a.len = sizeof(sockaddr_in);
    } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&a.ss);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        inet_pton(AF_INET6, ip, &sin6->sin6_addr);
        a.len = sizeof(sockaddr_in6);
    }
    return a;
}

inline InetAddr Loopback(int family, uint16_t port = 0) {
    return MakeAddr(family, family == AF_INET ? "127.0.0.1" : "::1", port);
}
inline InetAddr Wildcard(int family, uint16_t port = 0) {
    return MakeAddr(family, family == AF_INET ? "0.0.0.0" : "::", port);
}

inline InetAddr SockName(int fd) {
    InetAddr a;
    a.len = sizeof(a.ss);
    EXPECT_THAT(getsockname(fd, a.get(), &a.len), SyscallSucceeds());
    return a;
}

inline InetAddr PeerName(int fd) {
    InetAddr a;
    a.len = sizeof(a.ss);
    EXPECT_THAT(getpeername(fd, a.get(), &a.len), SyscallSucceeds());
    return a;
}

// A socket bound to the loopback address on an ephemeral port (listening if TCP and `listen`).
inline int BoundSocket(int family, int type, bool listen_too = true) {
    int fd = socket(family, type, 0);
    EXPECT_GE(fd, 0);
    InetAddr a = Loopback(family);
    EXPECT_THAT(bind(fd, a.get(), a.len), SyscallSucceeds());
    if (type == SOCK_STREAM && listen_too) {
        EXPECT_THAT(listen(fd, 16), SyscallSucceeds());
    }
    return fd;
}

// A connected TCP pair over loopback: client, accepted server end, and the listener.
struct TcpPair {
    Fd listener, client, server;
    explicit TcpPair(int family) {
        listener.reset(BoundSocket(family, SOCK_STREAM));
        client.reset(socket(family, SOCK_STREAM, 0));
        InetAddr a = SockName(listener);
        EXPECT_THAT(connect(client, a.get(), a.len), SyscallSucceeds());
        server.reset(accept(listener, nullptr, nullptr));
        EXPECT_GE(server.get(), 0);
    }
};

// The revents of `fd` after waiting at most `ms` for `events`.
inline short PollEvents(int fd, short events, int ms = 0) {
    pollfd p{fd, events, 0};
    if (poll(&p, 1, ms) < 0)
        return -1;
    return p.revents;
}

inline const char* FamilyName(const ::testing::TestParamInfo<int>& info) {
    return info.param == AF_INET ? "V4" : "V6";
}

}  // namespace moat::conformance
