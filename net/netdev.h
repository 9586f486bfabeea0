#pragma once
// The sandbox's network description: which interfaces it has and their addresses. The one
// source of truth that netlink route (net/netlink/), the interface ioctls (SIOCGIF*) and
// /proc/net (fs/proc/) all read.
//
// Under --network=none (the default) it is a fresh network namespace with lo up: index 1,
// UP|LOOPBACK|RUNNING|LOWER_UP, mtu 65536, 127.0.0.1/8 and ::1/128, and the routes Linux puts in
// the local table for them. Under --network=host it is the host's interfaces as the sentry read
// them once at start-up (getifaddrs).

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace moat::net {

struct InterfaceAddr {
    int family = 0;                  // AF_INET or AF_INET6
    std::array<uint8_t, 16> addr{};  // network byte order, the first 4 bytes for AF_INET
    uint8_t prefixlen = 0;
    uint8_t scope = 0;                // RT_SCOPE_*
    uint32_t flags = 0;               // IFA_F_*
    std::array<uint8_t, 16> broadcast{};  // AF_INET only; all zero: none

    uint32_t v4() const;  // the AF_INET address, host byte order
};

struct Interface {
    int index = 0;
    std::string name;
    uint32_t flags = 0;  // IFF_*, as SIOCGIFFLAGS and ifi_flags report them
    uint32_t mtu = 0;
    uint16_t arp_type = 0;  // ARPHRD_*
    std::array<uint8_t, 6> hwaddr{};
    std::array<uint8_t, 6> hwbroadcast{};
    uint32_t txqlen = 1000;
    std::string qdisc = "noqueue";
    std::vector<InterfaceAddr> addrs;
};

// A route as `ip route show table all` lists it (Linux's fib entries for the interfaces).
struct Route {
    int family = 0;
    std::array<uint8_t, 16> dst{};
    uint8_t dst_len = 0;
    uint8_t table = 0;     // RT_TABLE_*
    uint8_t protocol = 0;  // RTPROT_*
    uint8_t scope = 0;     // RT_SCOPE_*
    uint8_t type = 0;      // RTN_*
    int oif = 0;
    bool has_prefsrc = false;
    std::array<uint8_t, 16> prefsrc{};
    bool has_gateway = false;
    std::array<uint8_t, 16> gateway{};
    uint32_t priority = 0;
};

class NetworkConfig {
public:
    // --network=none: lo only.
    static NetworkConfig LoopbackOnly();
    // --network=host: the host's interfaces and addresses (getifaddrs, SIOCGIF*), the routes
    // they imply and the host's IPv4 gateway routes (/proc/net/route), read once.
    static NetworkConfig FromHost();

    const std::vector<Interface>& interfaces() const { return m_interfaces; }
    const std::vector<Route>& routes() const { return m_routes; }
    const Interface* FindByIndex(int index) const;
    const Interface* FindByName(const std::string& name) const;

    void AddInterface(Interface iface) { m_interfaces.push_back(std::move(iface)); }
    // Adds the local-table routes Linux creates for every address of every interface
    // (fib_add_ifaddr / addrconf: local, subnet and broadcast for IPv4, local for IPv6).
    void AddLocalRoutes();
    void AddRoute(Route r) { m_routes.push_back(r); }

private:
    std::vector<Interface> m_interfaces;
    std::vector<Route> m_routes;
};

}  // namespace moat::net
