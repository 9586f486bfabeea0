#include "fs/vfs/dentry.h"

namespace moat::fs {

std::shared_ptr<Dentry> Dentry::CreateRoot(std::shared_ptr<Inode> inode) {
    return std::shared_ptr<Dentry>(new Dentry(nullptr, std::string(), std::move(inode)));
}

std::shared_ptr<Dentry> Dentry::CreateChild(std::shared_ptr<Dentry> parent, std::string name,
                                            std::shared_ptr<Inode> inode) {
    return std::shared_ptr<Dentry>(new Dentry(std::move(parent), std::move(name), std::move(inode)));
}

std::shared_ptr<Dentry> Dentry::CachedChild(const std::string& name) {
    std::lock_guard lock(m_lock);
    auto it = m_children.find(name);
    if (it == m_children.end())
        return nullptr;
    auto child = it->second.lock();
    if (!child)
        m_children.erase(it);
    return child;
}

std::shared_ptr<Dentry> Dentry::CacheChild(std::shared_ptr<Dentry> child) {
    std::shared_ptr<Dentry> existing;
    {
        std::lock_guard lock(m_lock);
        auto& slot = m_children[child->name()];
        existing = slot.lock();
        if (!existing) {
            slot = child;
            return child;
        }
    }
    // Lost a race: `child` is dropped here, outside the lock (its destructor takes no lock of
    // ours, but its inode's might).
    return existing;
}

}  // namespace moat::fs
