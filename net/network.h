#pragma once
// Network: the sandbox's network namespace as the sentry keeps it. One per Kernel
// (Kernel::network()): its mode, its description (NetworkConfig, fixed at start-up), the
// netlink port ids in use and, under --network=host, the poller of the host sockets.
//
// Lock: m_lock guards the port table only; it is a leaf (taken under a NetlinkSocket's lock).

#include "net/host/host_poller.h"
#include "net/netdev.h"
#include "platform/base/result.h"

#include <cstdint>
#include <mutex>
#include <set>

namespace moat::net {

enum class NetworkMode { kNone, kHost };

class Network {
public:
    Network(NetworkMode mode, NetworkConfig config)
        : m_mode(mode), m_config(std::move(config)),
          m_host_poller(mode == NetworkMode::kHost ? std::make_shared<HostPoller>() : nullptr) {}

    NetworkMode mode() const { return m_mode; }
    const NetworkConfig& config() const { return m_config; }
    // --network=host: the thread that watches the sentry's host sockets (null otherwise).
    const std::shared_ptr<HostPoller>& host_poller() const { return m_host_poller; }

    // netlink_insert: EADDRINUSE when another socket holds `portid`.
    Result<void> BindPort(uint32_t portid);
    // netlink_autobind: the caller's tgid if free, else negative ids from -4097 down.
    uint32_t AutobindPort(int32_t tgid);
    void ReleasePort(uint32_t portid);

private:
    const NetworkMode m_mode;
    const NetworkConfig m_config;
    const std::shared_ptr<HostPoller> m_host_poller;
    std::mutex m_lock;
    std::set<uint32_t> m_ports;  // guarded by m_lock
    int32_t m_rover = -4097;     // guarded by m_lock
};

}  // namespace moat::net
