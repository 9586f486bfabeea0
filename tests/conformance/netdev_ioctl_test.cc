// The interface ioctls on sockets (SIOCGIFCONF, SIOCGIFNAME, SIOCGIFINDEX, SIOCGIFFLAGS,
// SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFTXQLEN, and on AF_INET sockets SIOCGIFADDR / NETMASK /
// BRDADDR / DSTADDR), unknown names, bad pointers and the refused changes, about lo.

#include "tests/conformance/netlink_util.h"
#include "tests/conformance/process_util.h"
#include "tests/conformance/syscall_matchers.h"
#include "tests/conformance/test_util.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if_arp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>

#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

ifreq Req(const char* name) {
    ifreq r{};
    strncpy(r.ifr_name, name, IFNAMSIZ - 1);
    return r;
}

std::string Ip4(const sockaddr& sa) {
    EXPECT_EQ(sa.sa_family, AF_INET);
    sockaddr_in sin;
    memcpy(&sin, &sa, sizeof(sin));
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &sin.sin_addr, text, sizeof(text));
    return text;
}

// The device requests answer the same on every kind of socket.
class NetdevIoctlTest : public ::testing::TestWithParam<int> {
protected:
    void SetUp() override {
        int family = GetParam();
        m_fd = Fd(family == AF_NETLINK ? socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) : socket(family, SOCK_DGRAM, 0));
        ASSERT_TRUE(m_fd.ok()) << "family " << family;
    }
    Fd m_fd;
};

TEST_P(NetdevIoctlTest, DeviceGetters) {
    int fd = m_fd.get();
    ifreq r = Req("lo");
    ASSERT_THAT(ioctl(fd, SIOCGIFINDEX, &r), SyscallSucceeds());
    EXPECT_EQ(r.ifr_ifindex, 1);
    r = Req("lo");
    ASSERT_THAT(ioctl(fd, SIOCGIFFLAGS, &r), SyscallSucceeds());
    EXPECT_EQ(r.ifr_flags, IFF_UP | IFF_LOOPBACK | IFF_RUNNING);
    r = Req("lo");
    ASSERT_THAT(ioctl(fd, SIOCGIFMTU, &r), SyscallSucceeds());
    EXPECT_EQ(r.ifr_mtu, 65536);
    r = Req("lo");
    ASSERT_THAT(ioctl(fd, SIOCGIFTXQLEN, &r), SyscallSucceeds());
    EXPECT_EQ(r.ifr_qlen, 1000);
    r = Req("lo");
    memset(r.ifr_hwaddr.sa_data, 0x55, sizeof(r.ifr_hwaddr.sa_data));
    ASSERT_THAT(ioctl(fd, SIOCGIFHWADDR, &r), SyscallSucceeds());
    EXPECT_EQ(r.ifr_hwaddr.sa_family, ARPHRD_LOOPBACK);
    // The 6 address bytes; the rest of sa_data is left as it was.
    EXPECT_EQ(std::string(r.ifr_hwaddr.sa_data, sizeof(r.ifr_hwaddr.sa_data)),
              std::string(6, '\0') + std::string(sizeof(r.ifr_hwaddr.sa_data) - 6, '\x55'));
    // An alias label names its device.
    r = Req("lo:7");
    ASSERT_THAT(ioctl(fd, SIOCGIFINDEX, &r), SyscallSucceeds());
    EXPECT_EQ(r.ifr_ifindex, 1);
    EXPECT_STREQ(r.ifr_name, "lo:7");
    r = Req("");
    r.ifr_ifindex = 1;
    ASSERT_THAT(ioctl(fd, SIOCGIFNAME, &r), SyscallSucceeds());
    EXPECT_STREQ(r.ifr_name, "lo");
}

TEST_P(NetdevIoctlTest, UnknownNamesAndBadPointers) {
    int fd = m_fd.get();
    for (unsigned long req : {SIOCGIFINDEX, SIOCGIFFLAGS, SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFTXQLEN}) {
        ifreq r = Req("nosuchif0");
        EXPECT_THAT(ioctl(fd, req, &r), SyscallFailsWithErrno(ENODEV)) << req;
        EXPECT_THAT(ioctl(fd, req, nullptr), SyscallFailsWithErrno(EFAULT)) << req;
    }
    ifreq r = Req("");
    r.ifr_ifindex = 0x7fff0000;
    EXPECT_THAT(ioctl(fd, SIOCGIFNAME, &r), SyscallFailsWithErrno(ENODEV));
    EXPECT_THAT(ioctl(fd, SIOCGIFCONF, nullptr), SyscallFailsWithErrno(EFAULT));
    // A name without its NUL within IFNAMSIZ is cut there.
    memset(r.ifr_name, 'x', IFNAMSIZ);
    EXPECT_THAT(ioctl(fd, SIOCGIFINDEX, &r), SyscallFailsWithErrno(ENODEV));
}

TEST_P(NetdevIoctlTest, ChangesArePermissionDenied) {
    int fd = m_fd.get();
    pid_t pid = ForkAndRun([fd] {
        if (getuid() == 0 && setresuid(65534, 65534, 65534) != 0)
            return 10;
        int i = 0;
        for (unsigned long req : {SIOCSIFFLAGS, SIOCSIFMTU, SIOCSIFHWADDR, SIOCSIFTXQLEN, SIOCSIFNAME}) {
            ++i;
            ifreq r = Req("lo");
            if (ioctl(fd, req, &r) != -1 || errno != EPERM)
                return i;
        }
        return 0;
    });
    EXPECT_EQ(WaitStatus(pid), 0);
}

TEST_P(NetdevIoctlTest, IfConfListsIpv4Addresses) {
    int fd = m_fd.get();
    ifconf ifc{};
    ASSERT_THAT(ioctl(fd, SIOCGIFCONF, &ifc), SyscallSucceeds());
    ASSERT_GT(ifc.ifc_len, 0);
    EXPECT_EQ(ifc.ifc_len % static_cast<int>(sizeof(ifreq)), 0);
    size_t n = static_cast<size_t>(ifc.ifc_len) / sizeof(ifreq);
    std::vector<ifreq> reqs(n + 1);
    ifc.ifc_len = static_cast<int>(reqs.size() * sizeof(ifreq));
    ifc.ifc_req = reqs.data();
    ASSERT_THAT(ioctl(fd, SIOCGIFCONF, &ifc), SyscallSucceeds());
    EXPECT_EQ(ifc.ifc_len, static_cast<int>(n * sizeof(ifreq)));
    bool lo = false;
    for (size_t i = 0; i < n; ++i)
        if (std::string(reqs[i].ifr_name) == "lo")
            lo = Ip4(reqs[i].ifr_addr) == "127.0.0.1";
    EXPECT_TRUE(lo);
    if (UnderMoat()) {
        EXPECT_EQ(n, 1u);
    }
    // Room for none: nothing written, length 0.
    ifc.ifc_len = static_cast<int>(sizeof(ifreq)) - 1;
    ASSERT_THAT(ioctl(fd, SIOCGIFCONF, &ifc), SyscallSucceeds());
    EXPECT_EQ(ifc.ifc_len, 0);
}

TEST_P(NetdevIoctlTest, AddressRequestsOnlyOnInetSockets) {
    int fd = m_fd.get();
    ifreq r = Req("lo");
    if (GetParam() != AF_INET) {
        EXPECT_THAT(ioctl(fd, SIOCGIFADDR, &r), SyscallFailsWithErrno(ENOTTY));
        EXPECT_THAT(ioctl(fd, SIOCGIFNETMASK, &r), SyscallFailsWithErrno(ENOTTY));
        return;
    }
    ASSERT_THAT(ioctl(fd, SIOCGIFADDR, &r), SyscallSucceeds());
    EXPECT_EQ(Ip4(r.ifr_addr), "127.0.0.1");
    r = Req("lo");
    ASSERT_THAT(ioctl(fd, SIOCGIFNETMASK, &r), SyscallSucceeds());
    EXPECT_EQ(Ip4(r.ifr_netmask), "255.0.0.0");
    r = Req("lo");
    ASSERT_THAT(ioctl(fd, SIOCGIFBRDADDR, &r), SyscallSucceeds());
    EXPECT_EQ(Ip4(r.ifr_broadaddr), "0.0.0.0");
    r = Req("lo");
    ASSERT_THAT(ioctl(fd, SIOCGIFDSTADDR, &r), SyscallSucceeds());
    EXPECT_EQ(Ip4(r.ifr_dstaddr), "127.0.0.1");
    r = Req("lo:1");  // no such label
    EXPECT_THAT(ioctl(fd, SIOCGIFADDR, &r), SyscallFailsWithErrno(EADDRNOTAVAIL));
    r = Req("nosuchif0");
    EXPECT_THAT(ioctl(fd, SIOCGIFADDR, &r), SyscallFailsWithErrno(ENODEV));
}

INSTANTIATE_TEST_SUITE_P(Families, NetdevIoctlTest, ::testing::Values(AF_UNIX, AF_NETLINK, AF_INET, AF_INET6),
                         [](const ::testing::TestParamInfo<int>& info) {
                             switch (info.param) {
                             case AF_UNIX: return std::string("Unix");
                             case AF_NETLINK: return std::string("Netlink");
                             case AF_INET: return std::string("Inet");
                             default: return std::string("Inet6");
                             }
                         });

// glibc's getifaddrs (netlink) and if_nametoindex (SIOCGIFINDEX on a socket of its own).
TEST(GetifaddrsTest, HasLoWithItsAddresses) {
    ifaddrs* list = nullptr;
    ASSERT_THAT(getifaddrs(&list), SyscallSucceeds());
    bool packet = false, v4 = false, v6 = false;
    std::set<std::string> names;
    for (ifaddrs* p = list; p; p = p->ifa_next) {
        names.insert(p->ifa_name);
        if (std::string(p->ifa_name) != "lo" || !p->ifa_addr)
            continue;
        EXPECT_EQ(p->ifa_flags & (IFF_UP | IFF_LOOPBACK | IFF_RUNNING), unsigned{IFF_UP | IFF_LOOPBACK | IFF_RUNNING});
        switch (p->ifa_addr->sa_family) {
        case AF_PACKET: packet = true; break;
        case AF_INET:
            v4 = true;
            EXPECT_EQ(Ip4(*p->ifa_addr), "127.0.0.1");
            EXPECT_EQ(Ip4(*p->ifa_netmask), "255.0.0.0");
            break;
        case AF_INET6: {
            v6 = true;
            sockaddr_in6 s6;
            memcpy(&s6, p->ifa_addr, sizeof(s6));
            EXPECT_TRUE(IN6_IS_ADDR_LOOPBACK(&s6.sin6_addr));
            break;
        }
        }
    }
    freeifaddrs(list);
    EXPECT_TRUE(packet && v4 && v6);
    if (UnderMoat()) {
        EXPECT_EQ(names, std::set<std::string>{"lo"});
    }
}

}  // namespace
}  // namespace moat::conformance
