#pragma once
// NetlinkSocket: an AF_NETLINK socket of protocol NETLINK_ROUTE (SOCK_RAW or SOCK_DGRAM, the
// same thing), as Linux's net/netlink/af_netlink.c behaves towards an unprivileged
// process. What the app sends goes to the sandbox's rtnetlink (rtnetlink.h), which answers at
// once: the answers wait in this socket's queue until the app receives them.
//
// Lock order: NetlinkSocket::m_lock → Network::m_lock; app memory is copied outside m_lock
// (requests are copied in before, answers copied out of a datagram taken off the queue under
// it, with MSG_PEEK a copy).

#include "net/network.h"
#include "net/socket.h"
#include "sentry/kernel/wait_queue.h"

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

namespace moat::net {

class NetlinkSocket final : public Socket {
public:
    // netlink_create: ESOCKTNOSUPPORT for a type other than SOCK_RAW/SOCK_DGRAM,
    // EPROTONOSUPPORT for a protocol other than NETLINK_ROUTE.
    static Result<std::shared_ptr<NetlinkSocket>> Create(std::shared_ptr<Network> network, int type, int protocol,
                                                         uint64_t ino, bool nonblock);
    NetlinkSocket(std::shared_ptr<Network> network, int type, uint64_t ino, bool nonblock);
    ~NetlinkSocket() override;

    int family() const override { return AF_NETLINK; }
    int type() const override { return m_type; }
    int protocol() const override { return 0; }

    Result<void> Bind(const SockAddr& addr) override;
    Result<void> Listen(int) override { return Error(EOPNOTSUPP); }
    Result<std::shared_ptr<fs::File>> Accept(bool, SockAddr*) override { return Error(EOPNOTSUPP); }
    Result<void> Connect(const SockAddr& addr) override;
    Result<void> Shutdown(int) override { return Error(EOPNOTSUPP); }
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
    uint32_t Readiness(uint32_t interest) override;
    std::shared_ptr<kernel::EventQueue> event_queue() override { return m_events; }
    std::string anon_name() const override { return "socket:[" + std::to_string(m_ino) + "]"; }

private:
    // The port id, autobinding first (under m_lock).
    uint32_t EnsureBound();
    // Queues answers, dropping them with ENOBUFS once the queue passes SO_RCVBUF.
    void Enqueue(std::vector<std::string> datagrams);
    Result<void> SetNetlinkOpt(int name, const std::string& value);
    Result<std::string> GetNetlinkOpt(int name);
    bool nonblocking(int msg_flags) const { return (msg_flags & MSG_DONTWAIT) || (status_flags() & O_NONBLOCK); }

    const std::shared_ptr<Network> m_network;
    const int m_type;
    const uint64_t m_ino;
    const std::shared_ptr<kernel::EventQueue> m_events = std::make_shared<kernel::EventQueue>();
    kernel::WaitQueue m_readers;

    std::mutex m_lock;
    bool m_bound = false;        // guarded by m_lock
    uint32_t m_portid = 0;       // guarded by m_lock
    uint32_t m_groups = 0;       // guarded by m_lock
    std::deque<std::string> m_queue;  // guarded by m_lock
    size_t m_queued = 0;         // bytes in m_queue, guarded by m_lock
    int m_error = 0;             // sk_err (ENOBUFS), guarded by m_lock
    size_t m_max_recvmsg_len = 0;  // guarded by m_lock
    int m_sndbuf = 212992;       // guarded by m_lock
    int m_rcvbuf = 212992;       // guarded by m_lock
    bool m_passcred = false;     // guarded by m_lock
    std::optional<std::chrono::nanoseconds> m_rcvtimeo, m_sndtimeo;  // guarded by m_lock
    // NETLINK_* flags, guarded by m_lock.
    bool m_pktinfo = false, m_broadcast_error = false, m_no_enobufs = false, m_cap_ack = false, m_ext_ack = false,
         m_strict = false;
};

}  // namespace moat::net
