#pragma once
// Helpers for the netlink suites: a bound NETLINK_ROUTE socket, requests, and the answers
// parsed into messages and attributes.

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace moat::conformance {

// Under Moat the network is exactly a fresh namespace's lo; natively the host has more, so
// the suites check relations there and exact lists under Moat.
inline bool UnderMoat() {
    utsname u{};
    uname(&u);
    return std::string(u.release).find("-moat") != std::string::npos;
}

struct NlMsg {
    nlmsghdr h{};
    std::string payload;  // after the nlmsghdr

    template <typename T>
    T Header() const {
        T t{};
        memcpy(&t, payload.data(), std::min(sizeof(T), payload.size()));
        return t;
    }
    // Attributes after a family header of `hdrlen` bytes, by type (the last one wins).
    std::map<int, std::string> Attrs(size_t hdrlen) const {
        std::map<int, std::string> out;
        size_t off = NLMSG_ALIGN(hdrlen);
        while (off + sizeof(nlattr) <= payload.size()) {
            nlattr a;
            memcpy(&a, payload.data() + off, sizeof(a));
            if (a.nla_len < sizeof(a) || off + a.nla_len > payload.size())
                break;
            out[a.nla_type & NLA_TYPE_MASK] = payload.substr(off + sizeof(a), a.nla_len - sizeof(a));
            off += NLMSG_ALIGN(a.nla_len);
        }
        return out;
    }
    int Error() const { return Header<nlmsgerr>().error; }
};

inline std::vector<NlMsg> ParseNl(const char* buf, size_t n) {
    std::vector<NlMsg> out;
    size_t off = 0;
    while (off + sizeof(nlmsghdr) <= n) {
        NlMsg m;
        memcpy(&m.h, buf + off, sizeof(m.h));
        if (m.h.nlmsg_len < sizeof(nlmsghdr) || off + m.h.nlmsg_len > n)
            break;
        m.payload.assign(buf + off + sizeof(nlmsghdr), m.h.nlmsg_len - sizeof(nlmsghdr));
        out.push_back(m);
        off += NLMSG_ALIGN(m.h.nlmsg_len);
    }
    return out;
}

inline std::string NlRequest(uint16_t type, uint16_t flags, uint32_t seq, const void* body, size_t len) {
    nlmsghdr h{};
    h.nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + len);
    h.nlmsg_type = type;
    h.nlmsg_flags = flags;
    h.nlmsg_seq = seq;
    std::string s(reinterpret_cast<const char*>(&h), sizeof(h));
    s.append(static_cast<const char*>(body), len);
    s.resize(NLMSG_ALIGN(s.size()), '\0');
    return s;
}

template <typename T>
std::string NlRequest(uint16_t type, uint16_t flags, uint32_t seq, const T& body) {
    return NlRequest(type, flags, seq, &body, sizeof(body));
}

inline int NlSocket() {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return -1;
    sockaddr_nl nl{};
    nl.nl_family = AF_NETLINK;
    if (bind(fd, reinterpret_cast<sockaddr*>(&nl), sizeof(nl)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

inline uint32_t NlPortId(int fd) {
    sockaddr_nl nl{};
    socklen_t len = sizeof(nl);
    getsockname(fd, reinterpret_cast<sockaddr*>(&nl), &len);
    return nl.nl_pid;
}

// Every message received until NLMSG_DONE or NLMSG_ERROR (included), or until nothing
// arrives for 200 ms.
inline std::vector<NlMsg> NlReceiveAll(int fd) {
    std::vector<NlMsg> out;
    std::vector<char> buf(65536);
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            return out;
        ssize_t n = recv(fd, buf.data(), buf.size(), 0);
        if (n <= 0)
            return out;
        for (auto& m : ParseNl(buf.data(), static_cast<size_t>(n))) {
            out.push_back(m);
            if (m.h.nlmsg_type == NLMSG_DONE || m.h.nlmsg_type == NLMSG_ERROR)
                return out;
        }
    }
}

// Sends one request and returns every answer.
inline std::vector<NlMsg> NlTalk(int fd, const std::string& req) {
    if (send(fd, req.data(), req.size(), 0) != static_cast<ssize_t>(req.size()))
        return {};
    return NlReceiveAll(fd);
}

}  // namespace moat::conformance
