#pragma once
// HostPoller: one sentry thread that watches the host sockets of --network=host (an edge-
// triggered host epoll) and notifies each socket's EventQueue when its host readiness
// changes; waiters then re-check readiness with a zero-timeout host poll. A host eventfd
// stops the thread. One per Network.
//
// Lock: m_lock guards the registration table; the thread notifies queues without it held
// (it keeps a reference to each queue it may notify).

#include "platform/base/unique_fd.h"
#include "sentry/kernel/event_queue.h"

#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace moat::net {

class HostPoller {
public:
    HostPoller();
    ~HostPoller();
    HostPoller(const HostPoller&) = delete;
    HostPoller& operator=(const HostPoller&) = delete;

    // Reports the host readiness changes of `fd` to `queue` until Unwatch(fd).
    void Watch(int fd, std::shared_ptr<kernel::EventQueue> queue);
    void Unwatch(int fd);

private:
    void Run();

    UniqueFd m_epoll;
    UniqueFd m_wake;
    std::mutex m_lock;
    std::map<int, std::shared_ptr<kernel::EventQueue>> m_queues;  // guarded by m_lock
    std::thread m_thread;  // last: starts once the rest is built
};

}  // namespace moat::net
