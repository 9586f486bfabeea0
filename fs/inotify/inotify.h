#pragma once
// inotify: InotifyFile is an inotify instance (inotify_init1's fd): its watches (wd → inode +
// mask) and its queue of events. InodeWatchers, hung on an Inode on the first watch, lists who
// watches that inode. Events originate in fs/inotify/notify.h's hooks, called from the Vfs's
// namespace and attribute operations and from file open/read/write/close.
//
// Lock order: InodeWatchers::m_lock → InotifyFile::m_lock → WaitQueue, EventQueue. A watch holds its inode
// (as Linux's marks pin it), so an inode with watchers outlives them.

#include "fs/file.h"
#include "sentry/kernel/wait_queue.h"

#include <sys/inotify.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace moat::fs {

class InotifyFile;

// Linux's fs.inotify.max_queued_events default.
inline constexpr size_t kInotifyMaxQueued = 16384;

struct InotifyEvent {
    int32_t wd = 0;
    uint32_t mask = 0;
    uint32_t cookie = 0;
    std::string name;
    // The record's size: struct inotify_event + the name NUL-padded to a multiple of 16.
    size_t size() const;
    bool operator==(const InotifyEvent&) const = default;
};

class InodeWatchers {
public:
    struct Entry {
        InotifyFile* instance;
        int wd;
        uint32_t mask;  // events and IN_ONESHOT/IN_EXCL_UNLINK flags
    };
    // Queues `mask` (with `cookie`/`name`) on every watch interested in it; one-shot watches
    // then go (IN_IGNORED).
    void Deliver(uint32_t mask, uint32_t cookie, std::string_view name);
    // The inode is gone (unlinked for good): IN_DELETE_SELF, then every watch goes.
    void Removed();

private:
    friend class InotifyFile;
    std::mutex m_lock;
    std::vector<Entry> m_entries;  // guarded by m_lock
};

class InotifyFile final : public File {
public:
    explicit InotifyFile(int status_flags, uint64_t ino) : File(status_flags), m_ino(ino) {}
    ~InotifyFile() override;

    // inotify_add_watch on a resolved inode: the watch's descriptor (the same for the same
    // inode; IN_MASK_ADD ORs the masks; IN_MASK_CREATE: EEXIST for an existing watch).
    Result<int> AddWatch(const std::shared_ptr<Inode>& inode, uint32_t mask);
    // inotify_rm_watch: EINVAL for an unknown wd; queues IN_IGNORED.
    Result<void> RemoveWatch(int wd);

    Result<size_t> Read(IoDst& dst) override;
    Result<int64_t> BytesReadable() override;
    Result<InodeAttr> Stat() override;
    // Readable (POLLIN) while events are queued.
    uint32_t Readiness(uint32_t interest) override;
    std::shared_ptr<kernel::EventQueue> event_queue() override { return m_events_ready; }
    std::string anon_name() const override { return "anon_inode:inotify"; }

    // ---- For InodeWatchers (its m_lock held) ----
    void Queue(int wd, uint32_t mask, uint32_t cookie, std::string_view name);
    // A watch ended from the inode's side (one-shot, inode removed): IN_IGNORED, and the
    // instance forgets it. Returns the inode reference to drop once the caller unlocked.
    std::shared_ptr<Inode> Ended(int wd);

private:
    struct Watch {
        std::shared_ptr<Inode> inode;
    };
    Result<void> WaitForEvents(std::unique_lock<std::mutex>& lock);

    const uint64_t m_ino;
    std::mutex m_lock;
    std::condition_variable m_cv;  // for waits without a task (unit tests)
    kernel::WaitQueue m_waiters;
    const std::shared_ptr<kernel::EventQueue> m_events_ready = std::make_shared<kernel::EventQueue>();
    std::map<int, Watch> m_watches;     // guarded by m_lock
    int m_next_wd = 1;                  // guarded by m_lock
    std::deque<InotifyEvent> m_events;  // guarded by m_lock
    size_t m_queued_bytes = 0;          // guarded by m_lock
};

}  // namespace moat::fs
