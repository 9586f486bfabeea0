#pragma once
// The rtnetlink messages for the sandbox's objects, attribute for attribute as Linux's
// rtnl_fill_ifinfo, inet_fill_ifaddr / inet6_fill_ifaddr, fib_dump_info / rt6_fill_node and
// fib_nl_fill_rule write them.

#include "net/netdev.h"
#include "platform/base/result.h"

#include <cstdint>
#include <string>
#include <vector>

namespace moat::net {

struct NlHead {
    uint16_t flags = 0;  // NLM_F_MULTI for dumps
    uint32_t seq = 0;
    uint32_t portid = 0;
};

std::string FillLink(const Interface& iface, const NlHead& h);
std::string FillAddr(const Interface& iface, const InterfaceAddr& addr, const NlHead& h);
std::string FillRoute(const Route& route, const NlHead& h);
// The default policy rules of a fresh namespace (`ip rule`): local, main (and default for IPv4).
std::vector<std::string> FillRules(int family, const NlHead& h);
// rtnl_route_get.cc: the answer to `ip route get DST` (ENETUNREACH without a route).
Result<std::string> FillRouteGet(const NetworkConfig& config, int family, const std::array<uint8_t, 16>& dst,
                                 uint32_t uid, const NlHead& h);

}  // namespace moat::net
