#include "fs/inotify/inotify.h"

#include "fs/vfs/filesystem.h"
#include "sentry/kernel/task.h"

#include <poll.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

namespace moat::fs {

namespace {
// IN_MASK_CREATE (Linux 4.18), missing from older headers.
constexpr uint32_t kInMaskCreate = 0x10000000;
constexpr size_t kEventHeader = sizeof(struct inotify_event);

void CountWatchedDir(Inode& inode, int delta) {
    if (inode.is_dir())
        inode.filesystem().watched_dirs().fetch_add(delta, std::memory_order_acq_rel);
}
}  // namespace

size_t InotifyEvent::size() const {
    if (name.empty())
        return kEventHeader;
    return kEventHeader + (name.size() + 1 + kEventHeader - 1) / kEventHeader * kEventHeader;
}

void InodeWatchers::Deliver(uint32_t mask, uint32_t cookie, std::string_view name) {
    std::vector<std::shared_ptr<Inode>> released;  // dropped after m_lock
    std::lock_guard lock(m_lock);
    for (auto it = m_entries.begin(); it != m_entries.end();) {
        uint32_t hit = it->mask & mask & IN_ALL_EVENTS;
        if (!hit) {
            ++it;
            continue;
        }
        it->instance->Queue(it->wd, hit | (mask & IN_ISDIR), cookie, name);
        if (it->mask & IN_ONESHOT) {
            released.push_back(it->instance->Ended(it->wd));
            it = m_entries.erase(it);
        } else {
            ++it;
        }
    }
    for (auto& inode : released)
        if (inode)
            CountWatchedDir(*inode, -1);
}

void InodeWatchers::Removed() {
    std::vector<std::shared_ptr<Inode>> released;
    std::lock_guard lock(m_lock);
    for (auto& e : m_entries) {
        if (e.mask & IN_DELETE_SELF)
            e.instance->Queue(e.wd, IN_DELETE_SELF, 0, {});
        released.push_back(e.instance->Ended(e.wd));
    }
    m_entries.clear();
    for (auto& inode : released)
        if (inode)
            CountWatchedDir(*inode, -1);
}

InotifyFile::~InotifyFile() {
    std::map<int, Watch> watches;
    {
        std::lock_guard lock(m_lock);
        watches.swap(m_watches);
    }
    for (auto& [wd, w] : watches) {
        InodeWatchers& list = w.inode->watchers();
        std::lock_guard lock(list.m_lock);
        std::erase_if(list.m_entries, [&](auto& e) { return e.instance == this; });
        CountWatchedDir(*w.inode, -1);
    }
}

Result<int> InotifyFile::AddWatch(const std::shared_ptr<Inode>& inode, uint32_t mask) {
    InodeWatchers& list = inode->watchers();
    std::lock_guard list_lock(list.m_lock);
    std::lock_guard lock(m_lock);
    auto entry = std::find_if(list.m_entries.begin(), list.m_entries.end(), [&](auto& e) { return e.instance == this; });
    uint32_t kept = mask & (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK);
    if (entry != list.m_entries.end()) {
        if (mask & kInMaskCreate)
            return Error(EEXIST);
        entry->mask = (mask & IN_MASK_ADD) ? (entry->mask | kept) : kept;
        return entry->wd;
    }
    int wd = m_next_wd++;
    m_watches[wd] = Watch{inode};
    list.m_entries.push_back({this, wd, kept});
    CountWatchedDir(*inode, 1);
    return wd;
}

Result<void> InotifyFile::RemoveWatch(int wd) {
    std::shared_ptr<Inode> inode;
    {
        std::lock_guard lock(m_lock);
        auto it = m_watches.find(wd);
        if (it == m_watches.end())
            return Error(EINVAL);
        inode = it->second.inode;
    }
    InodeWatchers& list = inode->watchers();
    {
        std::lock_guard list_lock(list.m_lock);
        auto entry = std::find_if(list.m_entries.begin(), list.m_entries.end(),
                                  [&](auto& e) { return e.instance == this && e.wd == wd; });
        if (entry == list.m_entries.end())
            return Error(EINVAL);  // ended from the inode's side meanwhile
        list.m_entries.erase(entry);
        Ended(wd);
    }
    CountWatchedDir(*inode, -1);
    return {};
}

std::shared_ptr<Inode> InotifyFile::Ended(int wd) {
    std::shared_ptr<Inode> inode;
    {
        std::lock_guard lock(m_lock);
        auto it = m_watches.find(wd);
        if (it != m_watches.end()) {
            inode = std::move(it->second.inode);
            m_watches.erase(it);
        }
    }
    Queue(wd, IN_IGNORED, 0, {});
    return inode;
}

void InotifyFile::Queue(int wd, uint32_t mask, uint32_t cookie, std::string_view name) {
    std::lock_guard lock(m_lock);
    InotifyEvent event{wd, mask, cookie, std::string(name)};
    // Linux merges an event identical to the last one still queued.
    if (!m_events.empty() && m_events.back() == event)
        return;
    if (m_events.size() >= kInotifyMaxQueued) {
        if (m_events.back().mask == IN_Q_OVERFLOW)
            return;
        event = InotifyEvent{-1, IN_Q_OVERFLOW, 0, {}};
    }
    m_queued_bytes += event.size();
    m_events.push_back(std::move(event));
    m_cv.notify_all();
    m_waiters.Notify();
    m_events_ready->Notify(POLLIN | POLLRDNORM);
}

uint32_t InotifyFile::Readiness(uint32_t) {
    std::lock_guard lock(m_lock);
    return m_events.empty() ? 0 : (POLLIN | POLLRDNORM);
}

Result<void> InotifyFile::WaitForEvents(std::unique_lock<std::mutex>& lock) {
    while (m_events.empty()) {
        if (status_flags() & O_NONBLOCK)
            return Error(EAGAIN);
        kernel::Task* task = kernel::Task::Current();
        if (!task) {
            m_cv.wait(lock);
            continue;
        }
        lock.unlock();
        auto r = task->Block(m_waiters, [&] {
            std::lock_guard g(m_lock);
            return !m_events.empty();
        });
        lock.lock();
        TRY(r);
    }
    return {};
}

Result<size_t> InotifyFile::Read(IoDst& dst) {
    std::vector<uint8_t> out;
    {
        std::unique_lock lock(m_lock);
        TRY(WaitForEvents(lock));
        if (m_events.front().size() > dst.remaining())
            return Error(EINVAL);
        while (!m_events.empty() && out.size() + m_events.front().size() <= dst.remaining()) {
            const InotifyEvent& e = m_events.front();
            size_t at = out.size();
            out.resize(at + e.size(), 0);
            struct inotify_event header {};
            header.wd = e.wd;
            header.mask = e.mask;
            header.cookie = e.cookie;
            header.len = static_cast<uint32_t>(e.size() - kEventHeader);
            std::memcpy(out.data() + at, &header, kEventHeader);
            std::memcpy(out.data() + at + kEventHeader, e.name.data(), e.name.size());
            m_queued_bytes -= e.size();
            m_events.pop_front();
        }
    }
    // The events left the queue; a fault copying them out loses them, as on Linux.
    return dst.Put(out);
}

Result<int64_t> InotifyFile::BytesReadable() {
    std::lock_guard lock(m_lock);
    return static_cast<int64_t>(m_queued_bytes);
}

Result<InodeAttr> InotifyFile::Stat() {
    InodeAttr a;
    a.dev = 0xf;  // the anonymous inode filesystem's device
    a.ino = m_ino;
    a.mode = 0600;  // anon_inode: no file type bits
    a.nlink = 1;
    a.blksize = 4096;
    return a;
}

}  // namespace moat::fs
