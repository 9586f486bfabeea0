#include "fs/vfs/filesystem.h"

#include <sys/sysmacros.h>

#include <atomic>
#include <vector>

namespace moat::fs {

namespace {
// Anonymous device minors, like Linux's get_anon_bdev (major 0).
std::atomic<unsigned> g_next_anon_minor{16};
}  // namespace

FileSystem::FileSystem(size_t dcache_capacity)
    : m_anon_dev(makedev(0, g_next_anon_minor.fetch_add(1))), m_dcache(dcache_capacity) {}

void DentryCache::Touch(const std::shared_ptr<Dentry>& d) {
    if (m_capacity == 0)
        return;
    std::shared_ptr<Dentry> evicted;
    {
        std::lock_guard lock(m_lock);
        auto it = m_index.find(d.get());
        if (it != m_index.end()) {
            m_lru.splice(m_lru.begin(), m_lru, it->second);
            return;
        }
        m_lru.push_front(d);
        m_index.emplace(d.get(), m_lru.begin());
        if (m_lru.size() > m_capacity) {
            evicted = std::move(m_lru.back());
            m_index.erase(evicted.get());
            m_lru.pop_back();
        }
    }
    // `evicted` (and possibly its inode and host fd) is released here, outside m_lock.
}

void DentryCache::Clear() {
    std::list<std::shared_ptr<Dentry>> dropped;
    {
        std::lock_guard lock(m_lock);
        dropped.swap(m_lru);
        m_index.clear();
    }
}

size_t DentryCache::size() const {
    std::lock_guard lock(m_lock);
    return m_lru.size();
}

}  // namespace moat::fs
