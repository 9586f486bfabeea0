#include "net/host/host_poller.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

namespace moat::net {

HostPoller::HostPoller()
    : m_epoll(::epoll_create1(EPOLL_CLOEXEC)), m_wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (m_epoll.get() >= 0 && m_wake.get() >= 0) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = m_wake.get();
        ::epoll_ctl(m_epoll.get(), EPOLL_CTL_ADD, m_wake.get(), &ev);
        m_thread = std::thread([this] { Run(); });
    }
}

HostPoller::~HostPoller() {
    if (m_thread.joinable()) {
        uint64_t one = 1;
        (void)!::write(m_wake.get(), &one, sizeof(one));
        m_thread.join();
    }
}

void HostPoller::Watch(int fd, std::shared_ptr<kernel::EventQueue> queue) {
    std::lock_guard lock(m_lock);
    m_queues[fd] = std::move(queue);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET;
    ev.data.fd = fd;
    ::epoll_ctl(m_epoll.get(), EPOLL_CTL_ADD, fd, &ev);
}

void HostPoller::Unwatch(int fd) {
    std::lock_guard lock(m_lock);
    ::epoll_ctl(m_epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
    m_queues.erase(fd);
}

void HostPoller::Run() {
    epoll_event events[64];
    for (;;) {
        int n = ::epoll_wait(m_epoll.get(), events, 64, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        for (int i = 0; i < n; ++i) {
            if (events[i].data.fd == m_wake.get())
                return;
            std::shared_ptr<kernel::EventQueue> queue;
            {
                std::lock_guard lock(m_lock);
                auto it = m_queues.find(events[i].data.fd);
                if (it != m_queues.end())
                    queue = it->second;
            }
            // EPOLL* bits are the POLL* bits.
            if (queue)
                queue->Notify(events[i].events & 0xffff);
        }
    }
}

}  // namespace moat::net
