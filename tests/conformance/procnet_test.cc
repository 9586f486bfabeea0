// /proc/net (a link to self/net) and /proc/self/net: the headers and rows Linux prints for a
// network with lo (dev, if_inet6, route), unix sockets (a listening abstract socket, a
// socketpair), and the inet socket tables' headers.

#include "tests/conformance/netlink_util.h"
#include "tests/conformance/syscall_matchers.h"
#include "tests/conformance/test_util.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::vector<std::string> Lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
        out.push_back(l);
    return out;
}

std::string Padded(std::string s, size_t width) {
    s.resize(std::max(s.size(), width), ' ');
    return s;
}

TEST(ProcNetTest, IsALinkToSelfNet) {
    char buf[64] = {};
    ASSERT_THAT(readlink("/proc/net", buf, sizeof(buf)), SyscallSucceedsWithValue(8));
    EXPECT_STREQ(buf, "self/net");
    EXPECT_EQ(ReadWholeFile("/proc/net/dev"), ReadWholeFile("/proc/self/net/dev"));
}

TEST(ProcNetTest, DevHasLo) {
    auto lines = Lines(ReadWholeFile("/proc/net/dev"));
    ASSERT_GE(lines.size(), 3u);
    EXPECT_EQ(lines[0], "Inter-|   Receive                                                |  Transmit");
    EXPECT_EQ(lines[1], " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
                        "drop fifo colls carrier compressed");
    bool lo = false;
    for (auto& l : lines)
        lo |= l.rfind("    lo:", 0) == 0;
    EXPECT_TRUE(lo);
    if (UnderMoat()) {
        EXPECT_EQ(lines.size(), 3u);
        EXPECT_EQ(lines[2], "    lo:       0       0    0    0    0     0          0         0        0       0    "
                            "0    0    0     0       0          0");
    }
}

TEST(ProcNetTest, IfInet6HasLoopback) {
    EXPECT_THAT(Lines(ReadWholeFile("/proc/net/if_inet6")),
                Contains("00000000000000000000000000000001 01 80 10 80       lo"));
}

TEST(ProcNetTest, RouteHeader) {
    auto lines = Lines(ReadWholeFile("/proc/net/route"));
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines[0],
              Padded("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT", 127));
    for (size_t i = 1; i < lines.size(); ++i)
        EXPECT_EQ(lines[i].size(), 127u);
    if (UnderMoat()) {
        EXPECT_EQ(lines.size(), 1u);  // lo's routes are all in the local table
    }
}

TEST(ProcNetTest, InetHeaders) {
    const std::string six = "  sl  local_address                         remote_address                        st "
                            "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
    EXPECT_EQ(Lines(ReadWholeFile("/proc/net/tcp"))[0],
              Padded("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
                     149));
    EXPECT_EQ(Lines(ReadWholeFile("/proc/net/udp"))[0],
              Padded("   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
                     "inode ref pointer drops",
                     127));
    EXPECT_EQ(Lines(ReadWholeFile("/proc/net/tcp6"))[0], six);
    EXPECT_EQ(Lines(ReadWholeFile("/proc/net/udp6"))[0], six + " ref pointer drops");
}

TEST(ProcNetTest, UnixListsSockets) {
    Fd listener(socket(AF_UNIX, SOCK_STREAM, 0));
    ASSERT_TRUE(listener.ok());
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::string name = "moat-procnet-" + std::to_string(getpid());
    memcpy(sun.sun_path + 1, name.data(), name.size());
    ASSERT_THAT(bind(listener.get(), reinterpret_cast<sockaddr*>(&sun),
                     static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size())),
                SyscallSucceeds());
    ASSERT_THAT(listen(listener.get(), 1), SyscallSucceeds());
    int sv[2];
    ASSERT_THAT(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), SyscallSucceeds());
    Fd a(sv[0]), b(sv[1]);
    struct stat st_l, st_a;
    ASSERT_THAT(fstat(listener.get(), &st_l), SyscallSucceeds());
    ASSERT_THAT(fstat(a.get(), &st_a), SyscallSucceeds());
    auto lines = Lines(ReadWholeFile("/proc/net/unix"));
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines[0], "Num       RefCount Protocol Flags    Type St Inode Path");
    bool found_l = false, found_a = false;
    for (auto& l : lines) {
        std::istringstream in(l);
        std::string num, ref, proto, flags, type, st, path;
        unsigned long ino = 0;
        in >> num >> ref >> proto >> flags >> type >> st >> ino >> path;
        if (ino == st_l.st_ino) {
            found_l = true;
            EXPECT_EQ(flags, "00010000");  // __SO_ACCEPTCON
            EXPECT_EQ(type, "0001");
            EXPECT_EQ(st, "01");
            EXPECT_EQ(path, "@" + name);
        } else if (ino == st_a.st_ino) {
            found_a = true;
            EXPECT_EQ(flags, "00000000");
            EXPECT_EQ(type, "0002");
            EXPECT_EQ(st, "03");
            EXPECT_EQ(path, "");
        }
    }
    EXPECT_TRUE(found_l);
    EXPECT_TRUE(found_a);
}

}  // namespace
}  // namespace moat::conformance
