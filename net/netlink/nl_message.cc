#include "net/netlink/nl_message.h"

namespace moat::net {

NlMessage::NlMessage(uint16_t type, uint16_t flags, uint32_t seq, uint32_t portid) {
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_flags = flags;
    h.nlmsg_seq = seq;
    h.nlmsg_pid = portid;
    Put(h);
}

void NlMessage::PutBytes(const void* data, size_t len) {
    m_buf.append(static_cast<const char*>(data), len);
    m_buf.resize(NlAlign(m_buf.size()), '\0');
}

void NlMessage::Attr(uint16_t type, const void* data, size_t len) {
    nlattr a{};
    a.nla_len = static_cast<uint16_t>(sizeof(a) + len);
    a.nla_type = type;
    m_buf.append(reinterpret_cast<const char*>(&a), sizeof(a));
    if (len > 0)
        m_buf.append(static_cast<const char*>(data), len);
    m_buf.resize(NlAlign(m_buf.size()), '\0');
}

void NlMessage::AttrString(uint16_t type, std::string_view s) {
    std::string z(s);
    Attr(type, z.c_str(), z.size() + 1);
}

void NlMessage::AttrZeros(uint16_t type, size_t len) {
    std::string z(len, '\0');
    Attr(type, z.data(), z.size());
}

size_t NlMessage::BeginNest(uint16_t type) {
    size_t off = m_buf.size();
    Attr(type, nullptr, 0);
    return off;
}

void NlMessage::EndNest(size_t offset) {
    uint16_t len = static_cast<uint16_t>(m_buf.size() - offset);
    memcpy(m_buf.data() + offset, &len, sizeof(len));
}

std::string NlMessage::Finish() && {
    uint32_t len = static_cast<uint32_t>(m_buf.size());
    memcpy(m_buf.data(), &len, sizeof(len));
    return std::move(m_buf);
}

}  // namespace moat::net
