#pragma once
// HostSocket: an AF_INET / AF_INET6 socket of --network=host, backed by a non-blocking host
// socket that only the sentry holds (the app never sees a host fd). Data and addresses pass
// through the sentry's buffers; blocking is the sandbox's own (Task-level waits woken by the
// HostPoller, so signals interrupt them), as are O_NONBLOCK, SO_RCVTIMEO and SO_SNDTIMEO.
// Options pass through an allowlist (never one whose value holds a pointer).

#include "net/host/host_poller.h"
#include "net/socket.h"
#include "platform/base/unique_fd.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

namespace moat::net {

class HostSocket final : public Socket {
public:
    // socket(2) on the host with the app's family, type and protocol (its errnos).
    static Result<std::shared_ptr<HostSocket>> Create(std::shared_ptr<HostPoller> poller, int family, int type,
                                                      int protocol, uint64_t ino, bool nonblock);
    HostSocket(std::shared_ptr<HostPoller> poller, UniqueFd fd, int family, int type, int protocol, uint64_t ino,
               bool nonblock);
    ~HostSocket() override;

    int family() const override { return m_family; }
    int type() const override { return m_type; }
    int protocol() const override { return m_protocol; }

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

    Result<fs::InodeAttr> Stat() override;
    Result<size_t> Read(fs::IoDst& dst) override;
    Result<size_t> Write(fs::IoSrc& src) override;
    Result<int64_t> BytesReadable() override;
    uint32_t Readiness(uint32_t interest) override;
    std::shared_ptr<kernel::EventQueue> event_queue() override { return m_events; }
    std::string anon_name() const override { return "socket:[" + std::to_string(m_ino) + "]"; }

private:
    // Until the host socket has `events` (or an error/hang-up): EAGAIN when non-blocking or at
    // the timeout, ERESTARTSYS (EINTR with a timeout) on a signal.
    Result<void> WaitFor(short events, bool nonblock, const std::optional<std::chrono::nanoseconds>& timeout);
    bool nonblocking(int msg_flags) const { return (msg_flags & MSG_DONTWAIT) || (status_flags() & O_NONBLOCK); }
    Result<void> CheckAddr(const SockAddr& addr, bool for_bind) const;

    const std::shared_ptr<HostPoller> m_poller;
    const UniqueFd m_fd;
    const int m_family, m_type, m_protocol;
    const uint64_t m_ino;
    const std::shared_ptr<kernel::EventQueue> m_events = std::make_shared<kernel::EventQueue>();
    std::mutex m_lock;
    std::optional<std::chrono::nanoseconds> m_rcvtimeo, m_sndtimeo;  // guarded by m_lock
};

}  // namespace moat::net
