#include "net/network.h"

#include <cerrno>
#include <climits>

namespace moat::net {

Result<void> Network::BindPort(uint32_t portid) {
    std::lock_guard lock(m_lock);
    if (!m_ports.insert(portid).second)
        return Error(EADDRINUSE);
    return {};
}

uint32_t Network::AutobindPort(int32_t tgid) {
    std::lock_guard lock(m_lock);
    if (tgid > 0 && m_ports.insert(static_cast<uint32_t>(tgid)).second)
        return static_cast<uint32_t>(tgid);
    for (;;) {
        uint32_t id = static_cast<uint32_t>(m_rover);
        m_rover = m_rover == INT_MIN ? -4097 : m_rover - 1;
        if (m_ports.insert(id).second)
            return id;
    }
}

void Network::ReleasePort(uint32_t portid) {
    std::lock_guard lock(m_lock);
    m_ports.erase(portid);
}

}  // namespace moat::net
