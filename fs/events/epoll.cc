#include "fs/events/epoll.h"

#include <poll.h>
#include <sys/epoll.h>

#include <algorithm>
#include <chrono>

namespace moat::fs {

namespace {
// Flags that steer the item rather than name events (Linux's EP_PRIVATE_BITS).
constexpr uint32_t kPrivateBits = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
}  // namespace

struct EpollFile::Item final : kernel::EventQueue::Waiter {
    Item(EpollFile& o, const std::shared_ptr<File>& f, int d)
        : owner(o), file(f), key{f.get(), d}, queue(f->event_queue()) {}
    void OnEvent(uint32_t ev) override { owner.OnItemEvent(*this, ev); }

    EpollFile& owner;
    std::weak_ptr<File> file;
    Key key;
    std::shared_ptr<kernel::EventQueue> queue;
    std::atomic<uint32_t> events{0};  // written under owner.m_mtx, read by callbacks
    uint64_t data = 0;                // guarded by owner.m_mtx
    bool ready = false;               // on owner.m_ready; guarded by owner.m_ready_lock
};

EpollFile::EpollFile() : AnonFile("eventpoll", false) {}

EpollFile::~EpollFile() {
    for (auto& [key, item] : m_items)
        item->queue->Remove(item.get());
}

void EpollFile::OnItemEvent(Item& item, uint32_t events) {
    uint32_t want = item.events.load(std::memory_order_relaxed);
    if (!(want & ~kPrivateBits))
        return;  // a fired EPOLLONESHOT item, disabled until EPOLL_CTL_MOD
    if (events && !(events & want))
        return;
    MarkReady(item);
}

void EpollFile::MarkReady(Item& item) {
    {
        std::lock_guard lock(m_ready_lock);
        if (item.ready)
            return;
        item.ready = true;
        m_ready.push_back(&item);
    }
    m_events->Notify(POLLIN | POLLRDNORM);
}

EpollFile::Item* EpollFile::Find(const std::shared_ptr<File>& file, int fd) {
    auto it = m_items.find(Key{file.get(), fd});
    if (it == m_items.end())
        return nullptr;
    if (it->second->file.lock() != file) {
        Erase(it->second.get());  // an earlier description that lived at the same address
        return nullptr;
    }
    return it->second.get();
}

void EpollFile::Erase(Item* item) {
    item->queue->Remove(item);  // no callback after this
    {
        std::lock_guard lock(m_ready_lock);
        if (item->ready)
            m_ready.erase(std::find(m_ready.begin(), m_ready.end(), item));
    }
    Key key = item->key;  // not a reference into the item being destroyed
    m_items.erase(key);
}

Result<void> EpollFile::Add(const std::shared_ptr<File>& file, int fd, Event ev) {
    std::lock_guard lock(m_mtx);
    if (Find(file, fd))
        return Error(EEXIST);
    auto owned = std::make_unique<Item>(*this, file, fd);
    Item* item = owned.get();
    item->events = ev.events | POLLERR | POLLHUP;
    item->data = ev.data;
    m_items.emplace(item->key, std::move(owned));
    item->queue->Add(item);
    // Listening first, then looking: a change in between is not lost.
    if (file->Readiness(item->events) & item->events)
        MarkReady(*item);
    return {};
}

Result<void> EpollFile::Modify(const std::shared_ptr<File>& file, int fd, Event ev) {
    std::lock_guard lock(m_mtx);
    Item* item = Find(file, fd);
    if (!item)
        return Error(ENOENT);
    if (item->events & EPOLLEXCLUSIVE)
        return Error(EINVAL);
    item->events = ev.events | POLLERR | POLLHUP;
    item->data = ev.data;
    if (file->Readiness(item->events) & item->events)
        MarkReady(*item);
    return {};
}

Result<void> EpollFile::Remove(const std::shared_ptr<File>& file, int fd) {
    std::lock_guard lock(m_mtx);
    Item* item = Find(file, fd);
    if (!item)
        return Error(ENOENT);
    Erase(item);
    return {};
}

std::vector<EpollFile::Event> EpollFile::Collect(size_t max) {
    std::deque<Item*> batch;
    {
        std::lock_guard lock(m_ready_lock);
        batch.swap(m_ready);
        for (Item* item : batch)
            item->ready = false;
    }
    std::vector<Event> out;
    std::vector<Item*> again, dead;
    size_t i = 0;
    for (; i < batch.size() && out.size() < max; ++i) {
        Item* item = batch[i];
        auto file = item->file.lock();
        if (!file) {
            dead.push_back(item);
            continue;
        }
        uint32_t want = item->events;
        uint32_t revents = file->Readiness(want) & want & ~kPrivateBits;
        if (!revents)
            continue;  // not ready after all: off the list until the next notification
        out.push_back(Event{revents, item->data});
        if (want & EPOLLONESHOT)
            item->events = want & kPrivateBits;
        else if (!(want & EPOLLET))
            again.push_back(item);  // level-triggered: reported again while ready
    }
    {
        std::lock_guard lock(m_ready_lock);
        // Items past `max` were not looked at: they stay first in line.
        for (size_t j = batch.size(); j-- > i;) {
            if (!batch[j]->ready) {
                batch[j]->ready = true;
                m_ready.push_front(batch[j]);
            }
        }
        for (Item* item : again) {
            if (!item->ready) {
                item->ready = true;
                m_ready.push_back(item);
            }
        }
    }
    for (Item* item : dead)
        Erase(item);
    return out;
}

Result<std::vector<EpollFile::Event>> EpollFile::Wait(kernel::Task& task, size_t max, Deadline deadline) {
    for (;;) {
        {
            std::lock_guard lock(m_mtx);
            auto out = Collect(max);
            if (!out.empty())
                return out;
        }
        if (deadline && *deadline <= std::chrono::steady_clock::now())
            return std::vector<Event>{};
        FileWaiter waiter(task);
        waiter.Watch(m_events);
        auto r = waiter.Wait([&] {
            std::lock_guard lock(m_ready_lock);
            return !m_ready.empty();
        }, deadline);
        if (!r.ok() && r.error() != ETIMEDOUT)
            return Error(r.error());
    }
}

uint32_t EpollFile::Readiness(uint32_t) {
    std::lock_guard lock(m_mtx);
    std::vector<Item*> listed;
    {
        std::lock_guard ready_lock(m_ready_lock);
        listed.assign(m_ready.begin(), m_ready.end());
    }
    for (Item* item : listed) {
        auto file = item->file.lock();
        uint32_t want = item->events;
        if (file && (file->Readiness(want) & want & ~kPrivateBits))
            return POLLIN | POLLRDNORM;
    }
    return 0;
}

std::vector<std::shared_ptr<EpollFile>> EpollFile::NestedEpolls() {
    std::vector<std::shared_ptr<EpollFile>> out;
    std::lock_guard lock(m_mtx);
    for (auto& [key, item] : m_items)
        if (auto file = item->file.lock())
            if (auto ep = std::dynamic_pointer_cast<EpollFile>(file))
                out.push_back(std::move(ep));
    return out;
}

bool EpollFile::WouldLoop(const EpollFile* into, int depth_left) {
    if (this == into)
        return true;
    auto nested = NestedEpolls();  // each epoll's lock is taken alone, never two at once
    if (!nested.empty() && depth_left <= 0)
        return true;
    for (auto& ep : nested)
        if (ep->WouldLoop(into, depth_left - 1))
            return true;
    return false;
}

}  // namespace moat::fs
