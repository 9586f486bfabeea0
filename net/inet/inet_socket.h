#pragma once
// InetSocket: an AF_INET / AF_INET6 socket's open file description, TCP (SOCK_STREAM) or UDP
// (SOCK_DGRAM), served by Moat's own stack over loopback. Its state is an InetEndpoint in the
// sandbox's InetSpace.
//
// inet_socket.cc: creation, bind/listen/accept, names, shutdown, readiness, release.
// tcp_io.cc:      the loopback TCP transport: connection set-up, the byte streams, FIN/RST.
// udp_io.cc:      UDP: connect, datagrams, the bounded receive queue.
// inet_options.cc: SOL_SOCKET, SOL_TCP, SOL_IP and SOL_IPV6 options.

#include "net/inet/inet_space.h"
#include "net/socket.h"

#include <functional>
#include <memory>

namespace moat::net {

class InetSocket final : public Socket {
public:
    // socket(2): `family` AF_INET or AF_INET6, `type` SOCK_STREAM or SOCK_DGRAM (checked).
    static std::shared_ptr<InetSocket> Create(std::shared_ptr<InetSpace> space, int family, int type,
                                              uint64_t ino, bool nonblock);

    InetSocket(std::shared_ptr<InetSpace> space, std::shared_ptr<InetEndpoint> ep, bool nonblock);
    ~InetSocket() override;

    int family() const override { return m_ep->family; }
    int type() const override { return m_ep->type; }
    int protocol() const override { return m_ep->protocol(); }

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
    Result<uint64_t> Ioctl(kernel::Task& task, uint32_t request, uint64_t arg) override;
    uint32_t Readiness(uint32_t interest) override;
    std::shared_ptr<kernel::EventQueue> event_queue() override { return m_ep->events; }
    std::string anon_name() const override { return "socket:[" + std::to_string(m_ep->ino) + "]"; }

private:
    bool nonblocking(int msg_flags) const { return (msg_flags & MSG_DONTWAIT) || (status_flags() & O_NONBLOCK); }
    // Blocks (the space lock held on entry and return) until `ready()`: EAGAIN when
    // nonblocking or at the deadline, ERESTARTSYS (EINTR with a timeout) on a signal.
    Result<void> Wait(std::unique_lock<std::mutex>& lock, bool nonblock,
                      std::optional<std::chrono::steady_clock::time_point> deadline,
                      const std::function<bool()>& ready);
    // The socket's unspecified local address (0.0.0.0 or ::).
    InetAddr AnyAddr() const;
    // Binds to an ephemeral port on `src` if unbound (connect, sendto, listen).
    Result<void> Autobind(const InetAddr& src);
    // Where a connect/sendto address goes: EINVAL/EAFNOSUPPORT, ENETUNREACH.
    Result<InetAddr> Destination(const SockAddr& addr);
    // The source address for a packet to `dst`.
    InetAddr SourceFor(const InetAddr& dst) const;
    void Release(InetGarbage& garbage);

    // tcp_io.cc
    Result<void> ConnectStream(const SockAddr& addr);
    Result<size_t> SendStream(SendRequest& req);
    Result<RecvResult> RecvStream(fs::IoDst& dst, int flags);
    void ReleaseStream(InetGarbage& garbage);
    void ShutdownStream(int mode, InetGarbage& garbage);

    // udp_io.cc
    Result<void> ConnectDgram(const SockAddr& addr);
    Result<size_t> SendDgram(SendRequest& req);
    Result<RecvResult> RecvDgram(fs::IoDst& dst, int flags);

    const std::shared_ptr<InetSpace> m_space;
    const std::shared_ptr<InetEndpoint> m_ep;
};

// Establishes the connection of `connector` (kSynSent) to `listener`: a new server endpoint
// goes to the accept queue. With the space lock held.
void EstablishStream(InetSpace& space, const std::shared_ptr<InetEndpoint>& listener,
                     const std::shared_ptr<InetEndpoint>& connector);
// Resets a connection end (RST): `err` reported once, both directions shut.
void ResetStream(InetEndpoint& ep, int err);

}  // namespace moat::net
