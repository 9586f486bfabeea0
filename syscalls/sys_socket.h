#pragma once
// Helpers shared by the socket syscall files (sys_socket.cc, sys_socket_msg.cc).

#include "net/socket.h"
#include "platform/base/result.h"
#include "sentry/kernel/forward.h"
#include "sentry/mm/user_addr.h"

#include <memory>

namespace moat::syscalls {

// The socket at `fd`: EBADF, ENOTSOCK.
Result<std::shared_ptr<net::Socket>> GetSocket(kernel::Task& task, int fd);
// move_addr_to_kernel: EINVAL for a length outside [0, sizeof(sockaddr_storage)], EFAULT.
Result<net::SockAddr> CopyInSockAddr(kernel::Task& task, mm::UserAddr addr, int64_t len);
// move_addr_to_user: reads the buffer size at `lenp` (EINVAL if negative), copies what fits
// and stores the full length.
Result<void> CopyOutSockAddr(kernel::Task& task, const net::SockAddr& value, mm::UserAddr addr, mm::UserAddr lenp);

}  // namespace moat::syscalls
