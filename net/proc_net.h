#pragma once
// The texts of /proc/net (fs/proc/net_dir.cc shows them): dev, if_inet6 and route from the
// network description, unix from the UnixSpace, and tcp, tcp6, udp, udp6 from the inet
// sockets, with Linux's exact headers and row formats.

#include "net/netdev.h"

#include <cstdint>
#include <string>
#include <vector>

namespace moat::net {

class UnixSpace;

std::string ProcNetDev(const NetworkConfig& config);
std::string ProcNetIfInet6(const NetworkConfig& config);
std::string ProcNetRoute(const NetworkConfig& config);
std::string ProcNetUnix(UnixSpace& space);

// One inet socket as /proc/net/{tcp,udp}{,6} list it (tcp4_seq_show / udp4_format_sock).
struct InetSocketRow {
    std::array<uint8_t, 16> local{};   // network byte order (4 bytes for IPv4)
    uint16_t local_port = 0;           // host byte order
    std::array<uint8_t, 16> remote{};
    uint16_t remote_port = 0;
    uint8_t state = 0;                 // TCP_* (UDP: TCP_CLOSE 7, connected TCP_ESTABLISHED 1)
    uint32_t tx_queue = 0, rx_queue = 0;
    uint32_t uid = 0;
    uint64_t inode = 0;
};

class InetSpace;

// The inet sockets of the sandbox for `protocol` (IPPROTO_TCP / IPPROTO_UDP) and `family`
// (InetSpace::List; none without a space).
std::vector<InetSocketRow> InetSocketRows(InetSpace* space, int protocol, int family);

std::string ProcNetInet(InetSpace* space, int protocol, int family);

}  // namespace moat::net
