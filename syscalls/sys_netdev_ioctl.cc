// The interface ioctls on sockets (Linux's net/core/dev_ioctl.c and devinet_ioctl), read from
// the sandbox's network description (net/netdev.h).

#include "net/network.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/sys_socket.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>

#include <cstring>

namespace moat::syscalls {

namespace {

const net::NetworkConfig& Config(kernel::Task& task) { return task.kernel().network()->config(); }

// dev_ifconf + inet_gifconf: one ifreq per IPv4 address; a null buffer asks for the size.
Result<uint64_t> GetIfConf(kernel::Task& task, uint64_t arg) {
    mm::UserAddr uifc(arg);
    ifconf ifc = TRY(task.mm().CopyInObject<ifconf>(uifc));
    uint64_t buf = reinterpret_cast<uint64_t>(ifc.ifc_buf);
    int total = 0;
    for (const auto& iface : Config(task).interfaces()) {
        for (const auto& a : iface.addrs) {
            if (a.family != AF_INET)
                continue;
            if (buf == 0) {
                total += sizeof(ifreq);
                continue;
            }
            if (ifc.ifc_len - total < static_cast<int>(sizeof(ifreq)))
                break;
            ifreq r{};
            strncpy(r.ifr_name, iface.name.c_str(), IFNAMSIZ - 1);
            sockaddr_in sin{};
            sin.sin_family = AF_INET;
            memcpy(&sin.sin_addr, a.addr.data(), 4);
            memcpy(&r.ifr_addr, &sin, sizeof(sin));
            TRY(task.mm().CopyOutObject(mm::UserAddr(buf + static_cast<uint64_t>(total)), r));
            total += sizeof(ifreq);
        }
    }
    TRY(task.mm().CopyOutObject(TRY(uifc.offset(offsetof(ifconf, ifc_len))), total));
    return 0;
}

sockaddr InetSockaddr(const uint8_t* addr4) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    memcpy(&sin.sin_addr, addr4, 4);
    sockaddr out;
    memcpy(&out, &sin, sizeof(out));
    return out;
}

// devinet_ioctl's getters: the address whose label is the full name ("lo", "lo:1").
Result<void> InetGet(const net::NetworkConfig& config, uint32_t request, const std::string& label,
                     const net::Interface& iface, ifreq& r) {
    if (label != iface.name)  // no alias labels exist
        return Error(EADDRNOTAVAIL);
    for (const auto& a : iface.addrs) {
        if (a.family != AF_INET)
            continue;
        switch (request) {
        case SIOCGIFADDR:
        case SIOCGIFDSTADDR: r.ifr_addr = InetSockaddr(a.addr.data()); break;
        case SIOCGIFBRDADDR: r.ifr_broadaddr = InetSockaddr(a.broadcast.data()); break;
        case SIOCGIFNETMASK: {
            uint32_t mask = htonl(a.prefixlen == 0 ? 0 : ~0u << (32 - a.prefixlen));
            r.ifr_netmask = InetSockaddr(reinterpret_cast<const uint8_t*>(&mask));
            break;
        }
        }
        return {};
    }
    (void)config;
    return Error(EADDRNOTAVAIL);
}

// dev_ifsioc_locked's getters.
void DevGet(uint32_t request, const net::Interface& iface, ifreq& r) {
    switch (request) {
    case SIOCGIFFLAGS: r.ifr_flags = static_cast<short>(iface.flags); break;
    case SIOCGIFMETRIC: r.ifr_metric = 0; break;
    case SIOCGIFMTU: r.ifr_mtu = static_cast<int>(iface.mtu); break;
    case SIOCGIFHWADDR:
        // Only the address bytes are written (the rest of sa_data stays the caller's).
        r.ifr_hwaddr.sa_family = iface.arp_type;
        memcpy(r.ifr_hwaddr.sa_data, iface.hwaddr.data(), iface.hwaddr.size());
        break;
    case SIOCGIFINDEX: r.ifr_ifindex = iface.index; break;
    case SIOCGIFTXQLEN: r.ifr_qlen = static_cast<int>(iface.txqlen); break;
    case SIOCGIFMAP: memset(&r.ifr_map, 0, sizeof(r.ifr_map)); break;
    }
}

bool IsDevGetter(uint32_t request) {
    switch (request) {
    case SIOCGIFFLAGS:
    case SIOCGIFMETRIC:
    case SIOCGIFMTU:
    case SIOCGIFHWADDR:
    case SIOCGIFINDEX:
    case SIOCGIFTXQLEN:
    case SIOCGIFMAP: return true;
    default: return false;
    }
}

bool IsInetGetter(uint32_t request) {
    return request == SIOCGIFADDR || request == SIOCGIFDSTADDR || request == SIOCGIFBRDADDR ||
           request == SIOCGIFNETMASK;
}

// Changes dev_ioctl refuses without CAP_NET_ADMIN, before looking at the device.
bool IsDevSetter(uint32_t request) {
    switch (request) {
    case SIOCSIFFLAGS:
    case SIOCSIFMETRIC:
    case SIOCSIFMTU:
    case SIOCSIFHWADDR:
    case SIOCSIFSLAVE:
    case SIOCADDMULTI:
    case SIOCDELMULTI:
    case SIOCSIFHWBROADCAST:
    case SIOCSIFMAP:
    case SIOCSIFNAME:
    case SIOCSIFTXQLEN: return true;
    default: return false;
    }
}

}  // namespace

std::optional<Result<uint64_t>> InterfaceIoctl(kernel::Task& task, net::Socket& sock, uint32_t request,
                                               uint64_t arg) {
    bool inet = sock.family() == AF_INET;
    if (request == SIOCGIFCONF)
        return GetIfConf(task, arg);
    if (IsDevSetter(request))
        return Result<uint64_t>(Error(EPERM));
    if (request == SIOCSIFADDR || request == SIOCSIFDSTADDR ||
        (inet && (request == SIOCSIFBRDADDR || request == SIOCSIFNETMASK || request == SIOCDIFADDR)))
        return (inet || sock.family() == AF_INET6) ? Result<uint64_t>(Error(EPERM)) : Result<uint64_t>(Error(ENOTTY));
    bool getter = IsDevGetter(request) || (inet && IsInetGetter(request));
    if (!getter && request != SIOCGIFNAME)
        return std::nullopt;
    mm::UserAddr uifr(arg);
    auto run = [&]() -> Result<uint64_t> {
        ifreq r = TRY(task.mm().CopyInObject<ifreq>(uifr));
        const auto& config = Config(task);
        if (request == SIOCGIFNAME) {
            const net::Interface* iface = config.FindByIndex(r.ifr_ifindex);
            if (!iface)
                return Error(ENODEV);
            memset(r.ifr_name, 0, IFNAMSIZ);
            strncpy(r.ifr_name, iface->name.c_str(), IFNAMSIZ - 1);
            TRY(task.mm().CopyOutObject(uifr, r));
            return 0;
        }
        r.ifr_name[IFNAMSIZ - 1] = '\0';
        std::string label(r.ifr_name);
        std::string dev = label.substr(0, label.find(':'));
        const net::Interface* iface = config.FindByName(dev);
        if (!iface)
            return Error(ENODEV);
        if (IsInetGetter(request))
            TRY(InetGet(config, request, label, *iface, r));
        else
            DevGet(request, *iface, r);
        TRY(task.mm().CopyOutObject(uifr, r));
        return 0;
    };
    return run();
}

}  // namespace moat::syscalls
