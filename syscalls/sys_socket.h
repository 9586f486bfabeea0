#pragma once
// Helpers shared by the socket syscall files (sys_socket.cc, sys_socket_msg.cc).

#include "net/socket.h"
#include "platform/base/result.h"
#include "sentry/kernel/forward.h"
#include "sentry/mm/user_addr.h"

#include <memory>
#include <optional>

namespace moat::syscalls {

// The socket at `fd`: EBADF, ENOTSOCK.
Result<std::shared_ptr<net::Socket>> GetSocket(kernel::Task& task, int fd);
// move_addr_to_kernel: EINVAL for a length outside [0, sizeof(sockaddr_storage)], EFAULT.
Result<net::SockAddr> CopyInSockAddr(kernel::Task& task, mm::UserAddr addr, int64_t len);
// move_addr_to_user: reads the buffer size at `lenp` (EINVAL if negative), copies what fits
// and stores the full length.
Result<void> CopyOutSockAddr(kernel::Task& task, const net::SockAddr& value, mm::UserAddr addr, mm::UserAddr lenp);

}  // namespace moat::syscalls

namespace moat::syscalls {

// The interface ioctls every socket answers (sock_do_ioctl → dev_ioctl, and devinet_ioctl
// for AF_INET sockets), from the sandbox's NetworkConfig: SIOCGIFCONF, SIOCGIFNAME,
// SIOCGIFINDEX, SIOCGIFFLAGS, SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFMETRIC, SIOCGIFTXQLEN,
// SIOCGIFMAP, and on AF_INET sockets SIOCGIFADDR / DSTADDR / BRDADDR / NETMASK; changes are
// EPERM. Null when `request` is not one of them.
std::optional<Result<uint64_t>> InterfaceIoctl(kernel::Task& task, net::Socket& sock, uint32_t request,
                                               uint64_t arg);

}  // namespace moat::syscalls
