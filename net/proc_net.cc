#include "net/proc_net.h"

#include "net/inet/inet_space.h"

#include "net/unix/unix_space.h"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>

#include <fmt/format.h>

#include <cstring>

namespace moat::net {

namespace {

// seq_pad: a line padded with spaces to `width` characters, then "\n".
std::string Padded(const std::string& line, size_t width) {
    std::string s = line;
    if (s.size() < width)
        s.append(width - s.size(), ' ');
    return s + "\n";
}

// ipv6_addr_scope as if_inet6 prints it (IPV6_ADDR_LOOPBACK, LINKLOCAL, SITELOCAL, global).
int Ipv6ScopeBits(const std::array<uint8_t, 16>& a) {
    static const std::array<uint8_t, 16> kLoopback = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (a == kLoopback)
        return 0x10;
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return 0x20;
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
        return 0x40;
    return 0;
}

// %08X of an IPv4 address as the kernel holds it (network byte order read as a host int).
uint32_t Raw32(const std::array<uint8_t, 16>& a) {
    uint32_t v;
    memcpy(&v, a.data(), 4);
    return v;
}

std::string Hex6(const std::array<uint8_t, 16>& a) {
    // tcp6/udp6 print the address as four %08X words of its raw memory.
    uint32_t w[4];
    memcpy(w, a.data(), 16);
    return fmt::format("{:08X}{:08X}{:08X}{:08X}", w[0], w[1], w[2], w[3]);
}

}  // namespace

std::string ProcNetDev(const NetworkConfig& config) {
    std::string out =
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls "
        "carrier compressed\n";
    for (const auto& iface : config.interfaces())
        out += fmt::format("{:>6}:{:8} {:7} {:4} {:4} {:4} {:5} {:10} {:9} {:8} {:7} {:4} {:4} {:4} {:5} {:7} {:10}\n",
                           iface.name, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    return out;
}

std::string ProcNetIfInet6(const NetworkConfig& config) {
    std::string out;
    for (const auto& iface : config.interfaces()) {
        for (const auto& a : iface.addrs) {
            if (a.family != AF_INET6)
                continue;
            std::string hex;
            for (uint8_t b : a.addr)
                hex += fmt::format("{:02x}", b);
            out += fmt::format("{} {:02x} {:02x} {:02x} {:02x} {:>8}\n", hex, iface.index, a.prefixlen,
                               Ipv6ScopeBits(a.addr), a.flags & 0xff, iface.name);
        }
    }
    return out;
}

std::string ProcNetRoute(const NetworkConfig& config) {
    std::string out =
        Padded("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT", 127);
    for (const auto& r : config.routes()) {
        if (r.family != AF_INET || r.table != RT_TABLE_MAIN || r.type != RTN_UNICAST)
            continue;
        const Interface* iface = config.FindByIndex(r.oif);
        uint32_t mask = htonl(r.dst_len == 0 ? 0 : ~0u << (32 - r.dst_len));
        unsigned flags = RTF_UP | (r.has_gateway ? RTF_GATEWAY : 0);
        out += Padded(fmt::format("{}\t{:08X}\t{:08X}\t{:04X}\t0\t0\t{}\t{:08X}\t0\t0\t0", iface ? iface->name : "*",
                                  Raw32(r.dst), r.has_gateway ? Raw32(r.gateway) : 0, flags, r.priority, mask),
                      127);
    }
    return out;
}

// unix_seq_show: one row per open socket; addresses print '@' for the abstract namespace's
// leading NUL (and any NUL in it). Kernel pointers print as zeros (kptr_restrict).
std::string ProcNetUnix(UnixSpace& space) {
    std::string out = "Num       RefCount Protocol Flags    Type St Inode Path\n";
    std::lock_guard lock(space.lock());
    for (const auto& ep : space.OpenEndpoints()) {
        bool listening = ep->state == UnixEndpoint::State::kListening;
        int st = ep->state == UnixEndpoint::State::kConnected ? 3 : 1;  // SS_CONNECTED / SS_UNCONNECTED
        out += fmt::format("0000000000000000: {:08X} {:08X} {:08X} {:04X} {:02X} {:5}", st == 3 ? 3 : 2, 0,
                           listening ? 0x10000 : 0, ep->type, st, ep->ino);
        constexpr size_t kPathOffset = sizeof(sa_family_t);
        if (ep->addr.size() > kPathOffset) {
            std::string path = ep->addr.substr(kPathOffset);
            bool abstract = path[0] == '\0';
            if (!abstract)
                path = path.substr(0, path.find('\0'));
            for (char& c : path)
                if (c == '\0')
                    c = '@';
            out += " " + path;
        }
        out += "\n";
    }
    return out;
}

std::vector<InetSocketRow> InetSocketRows(InetSpace* space, int protocol, int family) {
    std::vector<InetSocketRow> rows;
    if (!space)
        return rows;
    for (const auto& s : space->List(family, protocol)) {
        InetSocketRow r;
        // IPv4 rows hold the address itself; the stack keeps it IPv4-mapped.
        size_t from = family == AF_INET ? 12 : 0, len = family == AF_INET ? 4 : 16;
        std::copy_n(s.local.ip.begin() + static_cast<long>(from), len, r.local.begin());
        std::copy_n(s.remote.ip.begin() + static_cast<long>(from), len, r.remote.begin());
        r.local_port = s.local.port;
        r.remote_port = s.remote.port;
        r.state = static_cast<uint8_t>(s.state);
        constexpr int kTcpListen = 10;  // Linux prints unsent bytes, which a listener has none of
        r.tx_queue = s.state == kTcpListen && protocol == IPPROTO_TCP ? 0 : static_cast<uint32_t>(s.tx_queue);
        r.rx_queue = static_cast<uint32_t>(s.rx_queue);
        r.uid = s.uid;
        r.inode = s.ino;
        rows.push_back(r);
    }
    return rows;
}

std::string ProcNetInet(InetSpace* space, int protocol, int family) {
    bool tcp = protocol == IPPROTO_TCP;
    std::string out;
    if (family == AF_INET)
        out = tcp ? Padded("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
                           "timeout inode",
                           149)
                  : Padded("   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
                           "timeout inode ref pointer drops",
                           127);
    else
        out = std::string("  sl  local_address                         remote_address                        st "
                          "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode") +
              (tcp ? "\n" : " ref pointer drops\n");
    int sl = 0;
    for (const auto& r : InetSocketRows(space, protocol, family)) {
        std::string local = family == AF_INET ? fmt::format("{:08X}:{:04X}", Raw32(r.local), r.local_port)
                                              : fmt::format("{}:{:04X}", Hex6(r.local), r.local_port);
        std::string remote = family == AF_INET ? fmt::format("{:08X}:{:04X}", Raw32(r.remote), r.remote_port)
                                               : fmt::format("{}:{:04X}", Hex6(r.remote), r.remote_port);
        std::string row = fmt::format("{:4}: {} {} {:02X} {:08X}:{:08X} 00:00000000 00000000 {:5} {:8} {}", sl++,
                                      local, remote, r.state, r.tx_queue, r.rx_queue, r.uid, 0, r.inode);
        if (tcp)
            row += " 1 0000000000000000 100 0 0 10 0";
        else
            row += " 2 0000000000000000 0";
        out += (family == AF_INET && tcp) ? Padded(row, 149) : (family == AF_INET ? Padded(row, 127) : row + "\n");
    }
    return out;
}

}  // namespace moat::net
