#pragma once
// The kernel side of NETLINK_ROUTE: what Linux's rtnetlink answers to the requests in one
// sendmsg, read from the sandbox's NetworkConfig. Only reading exists (an unprivileged
// network namespace's view): dumps of links, addresses, routes, rules and (empty)
// neighbours, RTM_GETLINK for one link; every change is EPERM.

#include "net/netdev.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace moat::net {

struct RtnlCaller {
    uint32_t portid = 0;  // the sender, as nlmsg_pid of every answer
    bool strict = false;  // NETLINK_GET_STRICT_CHK
    bool cap_ack = false; // NETLINK_CAP_ACK
    // The most bytes one answer datagram may hold (Linux sizes dump skbs by NLMSG_GOODSIZE
    // and the largest buffer the app has received with).
    size_t max_datagram = 0;
    uint32_t uid = 0;  // the sender's uid (RTA_UID of `ip route get`)
};

// netlink_rcv_skb + rtnetlink_rcv_msg over `data`: the answer datagrams in order.
std::vector<std::string> RtnlReceive(const NetworkConfig& config, std::string_view data, const RtnlCaller& caller);

}  // namespace moat::net
