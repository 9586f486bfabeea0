#pragma once
// UnixSocket: an AF_UNIX socket's open file description (stream, datagram or seqpacket), as
// Linux's net/unix/af_unix.c behaves. Its state is a UnixEndpoint in the sandbox's UnixSpace.
//
// unix_socket.cc: creation, addresses, connection set-up, options, readiness.
// unix_io.cc: sending and receiving (queues, buffer accounting, blocking).

#include "net/socket.h"
#include "net/unix/unix_space.h"

#include <functional>
#include <memory>

namespace moat::net {

class UnixSocket final : public Socket {
public:
    // socket(2): `type` is SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET.
    static std::shared_ptr<UnixSocket> Create(std::shared_ptr<UnixSpace> space, int type, uint64_t ino,
                                              bool nonblock);
    // socketpair(2): two connected sockets (each one's SO_PEERCRED is the caller).
    static std::pair<std::shared_ptr<UnixSocket>, std::shared_ptr<UnixSocket>> CreatePair(
        std::shared_ptr<UnixSpace> space, int type, uint64_t ino_a, uint64_t ino_b, bool nonblock);

    UnixSocket(std::shared_ptr<UnixSpace> space, std::shared_ptr<UnixEndpoint> ep, bool nonblock);
    ~UnixSocket() override;

    int family() const override { return AF_UNIX; }
    int type() const override { return m_ep->type; }

    Result<void> Bind(const SockAddr& addr) override;
    Result<void> Listen(int backlog) override;
    Result<std::shared_ptr<fs::File>> Accept(bool nonblock, SockAddr* peer) override;
    Result<void> Connect(const SockAddr& addr) override;
    Result<void> Shutdown(int how) override;
    Result<SockAddr> GetName() override;
    Result<SockAddr> GetPeerName() override;
    Result<size_t> SendMsg(SendRequest& req) override;
    Result<RecvResult> RecvMsg(fs::IoDst& dst, int flags) override;
    Result<void> SetSockOpt(int level, int name, const std::string& value) override;
    Result<std::string> GetSockOpt(int level, int name) override;

    // ---- File ----
    Result<fs::InodeAttr> Stat() override;
    Result<size_t> Read(fs::IoDst& dst) override;
    Result<size_t> Write(fs::IoSrc& src) override;
    Result<int64_t> BytesReadable() override;
    uint32_t Readiness(uint32_t interest) override;
    std::shared_ptr<kernel::EventQueue> event_queue() override { return m_ep->events; }
    std::string anon_name() const override { return "socket:[" + std::to_string(m_ep->ino) + "]"; }

private:
    bool nonblocking(int msg_flags) const { return (msg_flags & MSG_DONTWAIT) || (status_flags() & O_NONBLOCK); }
    // Blocks (with `lock` on the space lock held on entry and return) on `queue` until
    // `ready()` (evaluated under the lock): EAGAIN when nonblocking or at the timeout,
    // ERESTARTSYS (EINTR with a timeout set) on a signal.
    Result<void> Wait(std::unique_lock<std::mutex>& lock, kernel::WaitQueue& queue, bool nonblock,
                      std::optional<std::chrono::steady_clock::time_point> deadline,
                      const std::function<bool()>& ready);
    // The endpoint a datagram or a connection for `addr` goes to (ENOENT, EACCES,
    // ECONNREFUSED, EPROTOTYPE…). Path resolution happens before the space lock is taken.
    Result<std::shared_ptr<UnixEndpoint>> FindPeer(const SockAddr& addr);
    Result<void> ConnectStream(const SockAddr& addr);
    Result<void> ConnectDgram(const SockAddr& addr);

    Result<size_t> SendStream(SendRequest& req);
    Result<size_t> SendDgram(SendRequest& req);
    Result<RecvResult> RecvStream(fs::IoDst& dst, int flags);
    Result<RecvResult> RecvDgram(fs::IoDst& dst, int flags);

    const std::shared_ptr<UnixSpace> m_space;
    const std::shared_ptr<UnixEndpoint> m_ep;
};

// The sandbox identity of the current task (pid = tgid), for credentials.
Ucred CurrentCreds();
// Checks an AF_UNIX address as Linux's unix_validate_addr (EINVAL).
Result<void> ValidateUnixAddr(const SockAddr& addr);

}  // namespace moat::net
