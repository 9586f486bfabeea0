#pragma once
// epoll(7): an interest list of (file description, fd) pairs and a ready list.
//
// Each item hangs a callback on its file's event queue; a notification whose events it cares
// about puts the item on the ready list and wakes the epoll's own queue (its waiters and, for
// nesting, any epoll watching this one). epoll_wait then evaluates each listed item's
// readiness (Linux's ep_send_events): a level-triggered item that is still ready goes back on
// the list, an edge-triggered one waits for the next notification, an EPOLLONESHOT one is
// disabled until EPOLL_CTL_MOD.
//
// An item refers to its file weakly: it lives as long as the file description (closing every
// fd to the description makes it disappear; it is reaped at the next epoll_ctl/epoll_wait).
//
// Lock order: EpollFile::m_mtx (interest list; held while evaluating readiness, so nested
// epolls nest outer → inner) → a file's locks → its EventQueue → EpollFile::m_ready_lock
// (leaf, taken by callbacks) → EpollFile's own EventQueue.

#include "fs/events/anon_file.h"

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace moat::fs {

class EpollFile final : public AnonFile {
public:
    struct Event {
        uint32_t events = 0;
        uint64_t data = 0;
    };
    // Linux's EP_MAX_NESTS: how deep epolls may nest below the one added to.
    static constexpr int kMaxNests = 4;

    EpollFile();
    ~EpollFile() override;

    // EPOLL_CTL_ADD/MOD/DEL. The syscall layer has done the argument checks that do not need
    // the interest list (EPERM, EINVAL, ELOOP). EEXIST / ENOENT / EINVAL (MOD of an
    // EPOLLEXCLUSIVE item) here.
    Result<void> Add(const std::shared_ptr<File>& file, int fd, Event ev);
    Result<void> Modify(const std::shared_ptr<File>& file, int fd, Event ev);
    Result<void> Remove(const std::shared_ptr<File>& file, int fd);
    // epoll_wait: at most `max` events; none after the deadline; ERESTARTSYS when a signal
    // interrupted the wait before any event.
    Result<std::vector<Event>> Wait(kernel::Task& task, size_t max, Deadline deadline);

    // POLLIN when an item is ready.
    uint32_t Readiness(uint32_t interest) override;

    // ELOOP check for adding `this` into `into`: true when `into` is reachable from this
    // epoll through nested epolls, or the nesting below this one is deeper than `depth_left`.
    bool WouldLoop(const EpollFile* into, int depth_left);

private:
    struct Item;
    using Key = std::pair<const File*, int>;

    void OnItemEvent(Item& item, uint32_t events);
    void MarkReady(Item& item);
    // With m_mtx held: the item for (file, fd), reaping one whose file is gone.
    Item* Find(const std::shared_ptr<File>& file, int fd);
    void Erase(Item* item);  // with m_mtx held
    // With m_mtx held: evaluates the ready list (ep_send_events).
    std::vector<Event> Collect(size_t max);
    std::vector<std::shared_ptr<EpollFile>> NestedEpolls();

    std::mutex m_mtx;
    std::map<Key, std::unique_ptr<Item>> m_items;  // guarded by m_mtx
    std::mutex m_ready_lock;
    std::deque<Item*> m_ready;  // guarded by m_ready_lock (items owned by m_items)
};

}  // namespace moat::fs
