#pragma once
// Building and reading netlink messages (nlmsghdr + a family header + rtattrs), with the
// NLMSG_ALIGN / RTA_ALIGN rules of linux/netlink.h. Sentry-side bytes only: what the app sent
// has been copied in whole and is bounded by SO_SNDBUF.

#include <linux/netlink.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace moat::net {

inline constexpr size_t NlAlign(size_t n) { return (n + 3) & ~size_t{3}; }

// One message, built front to back; Finish() writes nlmsg_len.
class NlMessage {
public:
    NlMessage(uint16_t type, uint16_t flags, uint32_t seq, uint32_t portid);

    template <typename T>
    void Put(const T& header) {
        PutBytes(&header, sizeof(header));
    }
    void PutBytes(const void* data, size_t len);  // padded to 4 bytes
    void Attr(uint16_t type, const void* data, size_t len);
    void AttrU8(uint16_t type, uint8_t v) { Attr(type, &v, 1); }
    void AttrU16(uint16_t type, uint16_t v) { Attr(type, &v, 2); }
    void AttrU32(uint16_t type, uint32_t v) { Attr(type, &v, 4); }
    void AttrString(uint16_t type, std::string_view s);  // NUL-terminated
    void AttrZeros(uint16_t type, size_t len);
    // A nested attribute: BeginNest returns its offset, EndNest writes its length.
    size_t BeginNest(uint16_t type);
    void EndNest(size_t offset);

    std::string Finish() &&;

private:
    std::string m_buf;
};

// One message the app sent, as netlink_rcv_skb walks them.
struct NlRequest {
    nlmsghdr header;
    std::string_view payload;  // nlmsg_len - NLMSG_HDRLEN bytes
};

// The attributes after a family header of `hdrlen` bytes: calls `fn(type, value)` for each
// well-formed one (type without NLA_F_NESTED / NLA_F_NET_BYTEORDER); false if one is
// malformed (Linux's nla_validate: EINVAL).
template <typename Fn>
bool ForEachAttr(std::string_view payload, size_t hdrlen, Fn&& fn) {
    size_t off = NlAlign(hdrlen);
    while (off + sizeof(nlattr) <= payload.size()) {
        nlattr a;
        memcpy(&a, payload.data() + off, sizeof(a));
        if (a.nla_len < sizeof(nlattr) || a.nla_len > payload.size() - off)
            return false;
        fn(static_cast<uint16_t>(a.nla_type & NLA_TYPE_MASK),
           payload.substr(off + sizeof(nlattr), a.nla_len - sizeof(nlattr)));
        off += NlAlign(a.nla_len);
    }
    return true;
}

}  // namespace moat::net
