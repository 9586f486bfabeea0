// Sockets, setting up: socket, socketpair, bind, listen, accept, accept4, connect, shutdown,
// getsockname, getpeername, setsockopt, getsockopt. AF_UNIX (net/unix/) and AF_INET/AF_INET6
// TCP and UDP (net/inet/); every other family is EAFNOSUPPORT. Data moves in sys_socket_msg.cc.

#include "syscalls/sys_socket.h"

#include "fs/fd_table.h"
#include "fs/task_fs.h"
#include "net/host/host_socket.h"
#include "net/netlink/netlink_socket.h"
#include "net/network.h"
#include "net/inet/inet_socket.h"
#include "net/unix/unix_socket.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <fcntl.h>
#include <sys/socket.h>

namespace moat::syscalls {

namespace {

constexpr int kSockTypeMask = 0xf;
constexpr int kAfMax = 46;    // AF_MAX
constexpr int kSockMax = 11;  // SOCK_MAX

// inet_create / inet6_create: TCP and UDP only. The type without flags.
Result<int> CheckInetArgs(int base, int protocol) {
    switch (base) {
    case SOCK_STREAM:
        if (protocol != 0 && protocol != IPPROTO_TCP)
            return Error(EPROTONOSUPPORT);
        return base;
    case SOCK_DGRAM:
        // Ping sockets: ping_group_range admits nobody.
        if (protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6)
            return Error(EACCES);
        if (protocol != 0 && protocol != IPPROTO_UDP)
            return Error(EPROTONOSUPPORT);
        return base;
    // No raw sockets in the sandbox: as for a task without CAP_NET_RAW.
    case SOCK_RAW: return Error(EPERM);
    default: return Error(ESOCKTNOSUPPORT);
    }
}

// __sys_socket's checks, then unix_create's (or CheckInetArgs). The type with SOCK_RAW folded into SOCK_DGRAM.
Result<int> CheckSocketArgs(int domain, int type, int protocol) {
    if ((type & ~kSockTypeMask) & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
        return Error(EINVAL);
    if (domain < 0 || domain >= kAfMax)
        return Error(EAFNOSUPPORT);
    int base = type & kSockTypeMask;
    if (base >= kSockMax)
        return Error(EINVAL);
    if (domain == AF_INET || domain == AF_INET6)
        return CheckInetArgs(base, protocol);
    if (domain != AF_UNIX)
        return Error(EAFNOSUPPORT);
    if (protocol != 0 && protocol != AF_UNIX)
        return Error(EPROTONOSUPPORT);
    switch (base) {
    case SOCK_STREAM:
    case SOCK_DGRAM:
    case SOCK_SEQPACKET: return base;
    case SOCK_RAW: return SOCK_DGRAM;
    default: return Error(ESOCKTNOSUPPORT);
    }
}

SyscallResult DoAccept(kernel::Task& task, int fd, mm::UserAddr addr, mm::UserAddr lenp, int flags) {
    if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
        return Error(EINVAL);
    auto sock = TRY(GetSocket(task, fd));
    net::SockAddr peer;
    auto file = TRY(sock->Accept(flags & SOCK_NONBLOCK, &peer));
    if (!addr.is_null())
        TRY(CopyOutSockAddr(task, peer, addr, lenp));
    return TRY(task.fd_table().Install(std::move(file), flags & SOCK_CLOEXEC, 0, fs::NofileLimit(task)));
}

}  // namespace

Result<std::shared_ptr<net::Socket>> GetSocket(kernel::Task& task, int fd) {
    auto file = TRY(fs::GetFile(task, fd));
    auto sock = std::dynamic_pointer_cast<net::Socket>(file);
    if (!sock)
        return Error(ENOTSOCK);
    return sock;
}

Result<net::SockAddr> CopyInSockAddr(kernel::Task& task, mm::UserAddr addr, int64_t len) {
    if (len < 0 || len > static_cast<int64_t>(sizeof(sockaddr_storage)))
        return Error(EINVAL);
    net::SockAddr out(static_cast<size_t>(len), '\0');
    if (len > 0)
        TRY(task.mm().CopyIn(addr, out.data(), out.size()));
    return out;
}

Result<void> CopyOutSockAddr(kernel::Task& task, const net::SockAddr& value, mm::UserAddr addr, mm::UserAddr lenp) {
    int len = TRY(task.mm().CopyInObject<int>(lenp));
    if (len < 0)
        return Error(EINVAL);
    size_t n = std::min(static_cast<size_t>(len), value.size());
    if (n > 0)
        TRY(task.mm().CopyOut(addr, value.data(), n));
    return task.mm().CopyOutObject(lenp, static_cast<int>(value.size()));
}

// Implements Linux socket(2) for AF_UNIX, AF_INET and AF_INET6 (Moat's own loopback stack, or
// host-backed under --network=host) and AF_NETLINK (NETLINK_ROUTE); other families EAFNOSUPPORT.
SyscallResult sys_socket(kernel::Task& task, const SyscallArgs& a) {
    int domain = arg_int(a, 0);
    int type = arg_int(a, 1);
    const auto& poller = task.kernel().network()->host_poller();
    if (domain == AF_NETLINK || ((domain == AF_INET || domain == AF_INET6) && poller)) {
        if ((type & ~kSockTypeMask) & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
            return Error(EINVAL);
        uint64_t ino = task.kernel().NextAnonInode();
        std::shared_ptr<net::Socket> sock;
        if (domain == AF_NETLINK)
            sock = TRY(net::NetlinkSocket::Create(task.kernel().network(), type & kSockTypeMask, arg_int(a, 2), ino,
                                                  type & SOCK_NONBLOCK));
        else  // --network=host
            sock = TRY(net::HostSocket::Create(poller, domain, type & kSockTypeMask, arg_int(a, 2), ino,
                                               type & SOCK_NONBLOCK));
        return TRY(task.fd_table().Install(std::move(sock), type & SOCK_CLOEXEC, 0, fs::NofileLimit(task)));
    }
    int base = TRY(CheckSocketArgs(domain, type, arg_int(a, 2)));
    std::shared_ptr<net::Socket> sock;
    if (domain == AF_INET || domain == AF_INET6)
        sock = net::InetSocket::Create(task.kernel().inet_space(), domain, base, task.kernel().NextAnonInode(),
                                       type & SOCK_NONBLOCK);
    else
        sock = net::UnixSocket::Create(task.kernel().unix_space(), base, task.kernel().NextAnonInode(),
                                       type & SOCK_NONBLOCK);
    return TRY(task.fd_table().Install(std::move(sock), type & SOCK_CLOEXEC, 0, fs::NofileLimit(task)));
}

// Implements Linux socketpair(2) for AF_UNIX.
SyscallResult sys_socketpair(kernel::Task& task, const SyscallArgs& a) {
    int type = arg_int(a, 1);
    if (arg_int(a, 0) == AF_NETLINK) {  // created, then sock_no_socketpair
        TRY(net::NetlinkSocket::Create(task.kernel().network(), type & kSockTypeMask, arg_int(a, 2), 0, false));
        return Error(EOPNOTSUPP);
    }
    int base = TRY(CheckSocketArgs(arg_int(a, 0), type, arg_int(a, 2)));
    if (arg_int(a, 0) != AF_UNIX)
        return Error(EOPNOTSUPP);  // sock_no_socketpair
    auto [s0, s1] = net::UnixSocket::CreatePair(task.kernel().unix_space(), base, task.kernel().NextAnonInode(),
                                                task.kernel().NextAnonInode(), type & SOCK_NONBLOCK);
    bool cloexec = type & SOCK_CLOEXEC;
    int limit = fs::NofileLimit(task);
    int fd0 = TRY(task.fd_table().Install(std::move(s0), cloexec, 0, limit));
    auto fd1 = task.fd_table().Install(std::move(s1), cloexec, 0, limit);
    if (!fd1.ok()) {
        (void)task.fd_table().Close(fd0);
        return Error(fd1.error());
    }
    int fds[2] = {fd0, *fd1};
    if (!task.mm().CopyOut(arg_addr(a, 3), fds, sizeof(fds)).ok()) {
        (void)task.fd_table().Close(fd0);
        (void)task.fd_table().Close(*fd1);
        return Error(EFAULT);
    }
    return 0;
}

// Implements Linux bind(2).
SyscallResult sys_bind(kernel::Task& task, const SyscallArgs& a) {
    auto sock = TRY(GetSocket(task, arg_int(a, 0)));
    auto addr = TRY(CopyInSockAddr(task, arg_addr(a, 1), arg_int(a, 2)));
    TRY(sock->Bind(addr));
    return 0;
}

// Implements Linux listen(2).
SyscallResult sys_listen(kernel::Task& task, const SyscallArgs& a) {
    auto sock = TRY(GetSocket(task, arg_int(a, 0)));
    TRY(sock->Listen(arg_int(a, 1)));
    return 0;
}

// Implements Linux accept(2).
SyscallResult sys_accept(kernel::Task& task, const SyscallArgs& a) {
    return DoAccept(task, arg_int(a, 0), arg_addr(a, 1), arg_addr(a, 2), 0);
}

// Implements Linux accept4(2).
SyscallResult sys_accept4(kernel::Task& task, const SyscallArgs& a) {
    return DoAccept(task, arg_int(a, 0), arg_addr(a, 1), arg_addr(a, 2), arg_int(a, 3));
}

// Implements Linux connect(2).
SyscallResult sys_connect(kernel::Task& task, const SyscallArgs& a) {
    auto sock = TRY(GetSocket(task, arg_int(a, 0)));
    auto addr = TRY(CopyInSockAddr(task, arg_addr(a, 1), arg_int(a, 2)));
    TRY(sock->Connect(addr));
    return 0;
}

// Implements Linux shutdown(2).
SyscallResult sys_shutdown(kernel::Task& task, const SyscallArgs& a) {
    auto sock = TRY(GetSocket(task, arg_int(a, 0)));
    int how = arg_int(a, 1);
    if (how < SHUT_RD || how > SHUT_RDWR)
        return Error(EINVAL);
    TRY(sock->Shutdown(how));
    return 0;
}

// Implements Linux getsockname(2).
SyscallResult sys_getsockname(kernel::Task& task, const SyscallArgs& a) {
    auto sock = TRY(GetSocket(task, arg_int(a, 0)));
    auto name = TRY(sock->GetName());
    TRY(CopyOutSockAddr(task, name, arg_addr(a, 1), arg_addr(a, 2)));
    return 0;
}

// Implements Linux getpeername(2).
SyscallResult sys_getpeername(kernel::Task& task, const SyscallArgs& a) {
    auto sock = TRY(GetSocket(task, arg_int(a, 0)));
    auto name = TRY(sock->GetPeerName());
    TRY(CopyOutSockAddr(task, name, arg_addr(a, 1), arg_addr(a, 2)));
    return 0;
}

// Implements Linux setsockopt(2): SOL_SOCKET options (see net/unix/unix_options.cc).
SyscallResult sys_setsockopt(kernel::Task& task, const SyscallArgs& a) {
    auto sock = TRY(GetSocket(task, arg_int(a, 0)));
    int optlen = arg_int(a, 4);
    if (optlen < 0)
        return Error(EINVAL);
    // No option reads more than a struct; a longer value is read only that far.
    std::string value(std::min(optlen, 64), '\0');
    if (!value.empty())
        TRY(task.mm().CopyIn(arg_addr(a, 3), value.data(), value.size()));
    TRY(sock->SetSockOpt(arg_int(a, 1), arg_int(a, 2), value));
    return 0;
}

// Implements Linux getsockopt(2).
SyscallResult sys_getsockopt(kernel::Task& task, const SyscallArgs& a) {
    auto sock = TRY(GetSocket(task, arg_int(a, 0)));
    int len = TRY(task.mm().CopyInObject<int>(arg_addr(a, 4)));
    if (len < 0)
        return Error(EINVAL);
    auto value = TRY(sock->GetSockOpt(arg_int(a, 1), arg_int(a, 2)));
    size_t n = std::min(static_cast<size_t>(len), value.size());
    if (n > 0)
        TRY(task.mm().CopyOut(arg_addr(a, 3), value.data(), n));
    TRY(task.mm().CopyOutObject(arg_addr(a, 4), static_cast<int>(n)));
    return 0;
}

}  // namespace moat::syscalls
