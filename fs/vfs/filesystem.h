#pragma once
// FileSystem: one instance of a filesystem (what a Mount attaches). It makes the root inode
// and says how its dentries may be cached.
//
// DentryCache: a bounded LRU of strong references to recently used dentries. Because a
// parent holds its children weakly, this is what keeps hot paths (/usr/lib/…) cached between
// walks while bounding how many inodes — and for the host filesystem, host fds — stay open.
// Lock: DentryCache::m_lock is a leaf lock; entries evicted are released outside it.

#include "fs/forward.h"
#include "fs/vfs/dentry.h"
#include "platform/base/result.h"

#include <sys/types.h>

#include <cstddef>
#include <list>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace moat::fs {

class DentryCache {
public:
    explicit DentryCache(size_t capacity) : m_capacity(capacity) {}
    void Touch(const std::shared_ptr<Dentry>& d);
    void Clear();
    size_t size() const;

private:
    size_t m_capacity;
    mutable std::mutex m_lock;
    std::list<std::shared_ptr<Dentry>> m_lru;                                             // guarded by m_lock, most recent first
    std::unordered_map<Dentry*, std::list<std::shared_ptr<Dentry>>::iterator> m_index;  // guarded by m_lock
};

// What statfs(2) reports for a filesystem (struct statfs without f_fsid and f_flags, which the
// VFS fills from the mount).
struct FsStatistics {
    int64_t type = 0;  // f_type: the filesystem's magic number
    int64_t block_size = 4096;
    uint64_t blocks = 0, blocks_free = 0, blocks_avail = 0;
    uint64_t files = 0, files_free = 0;
    int64_t name_max = 255;
};

class FileSystem : public std::enable_shared_from_this<FileSystem> {
public:
    virtual ~FileSystem() = default;

    // statfs(2). Default: the magic number only (synthetic filesystems report zero sizes).
    virtual Result<FsStatistics> StatFs() { return FsStatistics{}; }

    virtual std::string name() const = 0;  // "host", "proc"… as /proc/mounts shows it
    virtual bool read_only() const { return false; }
    // False for filesystems whose names come and go on their own (proc): every walk asks
    // Lookup again instead of trusting a cached child.
    virtual bool cache_dentries() const { return true; }
    // The device number st_dev shows for this filesystem's synthetic inodes.
    dev_t anon_dev() const { return m_anon_dev; }

    DentryCache& dentry_cache() { return m_dcache; }
    // inotify watches on this filesystem's directories: while 0, an event on a file need not
    // look for a watching parent (fs/inotify/notify.cc).
    std::atomic<int>& watched_dirs() { return m_watched_dirs; }

protected:
    explicit FileSystem(size_t dcache_capacity = 1024);

private:
    dev_t m_anon_dev;
    DentryCache m_dcache;
    std::atomic<int> m_watched_dirs{0};
};

}  // namespace moat::fs
