#include "net/unix/unix_space.h"

#include <algorithm>

#include <poll.h>
#include <sys/un.h>

#include <cstddef>
#include <cstdio>

namespace moat::net {

Result<void> UnixSpace::BindAbstract(const std::shared_ptr<UnixEndpoint>& ep, const SockAddr& addr) {
    auto it = m_abstract.find(addr);
    if (it != m_abstract.end() && !it->second.expired())
        return Error(EADDRINUSE);
    m_abstract[addr] = ep;
    ep->addr = addr;
    return {};
}

Result<void> UnixSpace::Autobind(const std::shared_ptr<UnixEndpoint>& ep) {
    // Five hex digits after the NUL, as Linux names them; 2^20 tries before giving up.
    for (uint32_t tries = 0; tries < (1u << 20); ++tries) {
        char name[8];
        snprintf(name, sizeof(name), "%05x", m_next_autobind++ & 0xfffff);
        SockAddr addr(offsetof(sockaddr_un, sun_path), '\0');
        addr[0] = static_cast<char>(AF_UNIX & 0xff);
        addr.push_back('\0');
        addr.append(name, 5);
        if (BindAbstract(ep, addr).ok())
            return {};
    }
    return Error(ENOSPC);
}

void UnixSpace::BindPath(const std::shared_ptr<UnixEndpoint>& ep, UnixPathKey key, fs::VfsPath path) {
    m_paths[key] = ep;
    ep->path_key = key;
    m_bound_paths[ep.get()] = std::move(path);
}

std::shared_ptr<UnixEndpoint> UnixSpace::FindAbstract(const SockAddr& addr) {
    auto it = m_abstract.find(addr);
    return it == m_abstract.end() ? nullptr : it->second.lock();
}

std::shared_ptr<UnixEndpoint> UnixSpace::FindPath(UnixPathKey key) {
    auto it = m_paths.find(key);
    return it == m_paths.end() ? nullptr : it->second.lock();
}

void UnixSpace::Uncharge(UnixMessage& msg) {
    if (!msg.sender)
        return;
    msg.sender->wmem -= msg.charge;
    msg.charge = 0;
    msg.sender->Notify(POLLOUT | POLLWRNORM);
}

void UnixSpace::Unbind(UnixEndpoint& ep, UnixGarbage& garbage) {
    if (ep.path_key) {
        auto it = m_paths.find(*ep.path_key);
        if (it != m_paths.end() && it->second.lock().get() == &ep)
            m_paths.erase(it);
        auto bound = m_bound_paths.find(&ep);
        if (bound != m_bound_paths.end()) {
            garbage.paths.push_back(std::move(bound->second));
            m_bound_paths.erase(bound);
        }
    } else if (!ep.addr.empty()) {
        auto it = m_abstract.find(ep.addr);
        if (it != m_abstract.end() && it->second.lock().get() == &ep)
            m_abstract.erase(it);
    }
}

void UnixSpace::Release(const std::shared_ptr<UnixEndpoint>& ep, UnixGarbage& garbage) {
    m_open.erase(ep.get());
    Disconnect(ep, false, garbage);
}

std::vector<std::shared_ptr<UnixEndpoint>> UnixSpace::OpenEndpoints() {
    std::vector<std::shared_ptr<UnixEndpoint>> out;
    for (auto& [key, weak] : m_open)
        if (auto ep = weak.lock())
            out.push_back(std::move(ep));
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a->ino < b->ino; });
    return out;
}

// Linux's unix_release_sock.
void UnixSpace::Disconnect(const std::shared_ptr<UnixEndpoint>& ep, bool embryo, UnixGarbage& garbage) {
    bool had_unread = !ep->queue.empty();
    ep->dead = true;
    ep->shutdown = kShutdownMask;
    if (auto peer = ep->peer) {
        if (ep->connection_based()) {
            peer->shutdown = kShutdownMask;
            if (had_unread || embryo)
                peer->error = ECONNRESET;
        }
        peer->Notify();
        garbage.endpoints.push_back(std::move(ep->peer));
    }
    for (auto& msg : ep->queue) {
        Uncharge(msg);
        garbage.messages.push_back(std::move(msg));
    }
    ep->queue.clear();
    for (auto& pending : ep->backlog) {
        Disconnect(pending, true, garbage);
        garbage.endpoints.push_back(std::move(pending));
    }
    ep->backlog.clear();
    ep->state = UnixEndpoint::State::kUnconnected;
    Unbind(*ep, garbage);
    ep->Notify();
}

}  // namespace moat::net
