#pragma once
// Socket: a File that is a socket. The syscall layer (syscalls/sys_socket*.cc) decodes the
// app's arguments (addresses as raw sockaddr bytes, control messages as SendRequest fields)
// and calls these; a family (net/unix/…) implements them with Linux's errnos.

#include "fs/file.h"
#include "fs/io.h"
#include "platform/base/result.h"

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace moat::net {

// A sockaddr as the app passed it or is to receive it (family first, exactly `size()` bytes).
using SockAddr = std::string;

// SCM_CREDENTIALS / SO_PEERCRED: the sandbox's pid and ids.
struct Ucred {
    int32_t pid = 0;
    uint32_t uid = static_cast<uint32_t>(-1);
    uint32_t gid = static_cast<uint32_t>(-1);
};

struct SendRequest {
    fs::IoSrc* data = nullptr;
    std::optional<SockAddr> to;                   // msg_name (empty optional: none)
    std::vector<std::shared_ptr<fs::File>> rights;  // SCM_RIGHTS
    std::optional<Ucred> creds;                   // SCM_CREDENTIALS, validated
    int flags = 0;                                // MSG_*
};

struct RecvResult {
    size_t bytes = 0;   // the return value (the full datagram length with MSG_TRUNC)
    int msg_flags = 0;  // MSG_TRUNC, MSG_CTRUNC (the syscall layer adds CTRUNC for cmsgs)
    SockAddr from;      // empty: no address
    std::vector<std::shared_ptr<fs::File>> rights;
    std::optional<Ucred> creds;  // set when the receiver asked for SO_PASSCRED
};

// What fstat shows for a socket of any family: sockfs's anonymous device, `ino`, S_IFSOCK|0777,
// owned by the caller (socket.cc).
fs::InodeAttr SocketInodeAttr(uint64_t ino);

class Socket : public fs::File {
public:
    using fs::File::File;

    virtual int family() const = 0;
    virtual int type() const = 0;
    virtual int protocol() const { return 0; }

    virtual Result<void> Bind(const SockAddr& addr) = 0;
    virtual Result<void> Listen(int backlog) = 0;
    // The accepted connection as a new file with `nonblock`; its peer's address in `peer`.
    virtual Result<std::shared_ptr<fs::File>> Accept(bool nonblock, SockAddr* peer) = 0;
    virtual Result<void> Connect(const SockAddr& addr) = 0;
    // `how`: SHUT_RD, SHUT_WR, SHUT_RDWR (validated by the caller).
    virtual Result<void> Shutdown(int how) = 0;
    virtual Result<SockAddr> GetName() = 0;
    virtual Result<SockAddr> GetPeerName() = 0;
    // Blocking calls block the current task (kernel::Task::Current()); path addresses are
    // resolved with its identity.
    virtual Result<size_t> SendMsg(SendRequest& req) = 0;
    virtual Result<RecvResult> RecvMsg(fs::IoDst& dst, int flags) = 0;
    // SOL_SOCKET options; `value` as the app passed it (optlen bytes).
    virtual Result<void> SetSockOpt(int level, int name, const std::string& value) = 0;
    virtual Result<std::string> GetSockOpt(int level, int name) = 0;
};

}  // namespace moat::net
