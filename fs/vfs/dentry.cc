#include "fs/vfs/dentry.h"

#include <utility>

namespace moat::fs {

std::shared_ptr<Dentry> Dentry::CreateRoot(std::shared_ptr<Inode> inode) {
    return std::shared_ptr<Dentry>(new Dentry(nullptr, std::string(), std::move(inode)));
}

std::shared_ptr<Dentry> Dentry::CreateChild(std::shared_ptr<Dentry> parent, std::string name,
                                            std::shared_ptr<Inode> inode) {
    return std::shared_ptr<Dentry>(new Dentry(std::move(parent), std::move(name), std::move(inode)));
}

std::string Dentry::name() const {
    std::lock_guard lock(m_name_lock);
    return m_name;
}

std::shared_ptr<Dentry> Dentry::parent() const {
    std::lock_guard lock(m_name_lock);
    return m_parent;
}

bool Dentry::dead() const {
    std::lock_guard lock(m_name_lock);
    return m_dead;
}

void Dentry::MarkDead() {
    std::lock_guard lock(m_name_lock);
    m_dead = true;
}

void Dentry::MoveTo(std::shared_ptr<Dentry> new_parent, std::string new_name) {
    std::shared_ptr<Dentry> old_parent;
    {
        std::lock_guard lock(m_name_lock);
        old_parent = std::exchange(m_parent, std::move(new_parent));
        m_name = std::move(new_name);
    }
    // The old parent reference is dropped here, outside the lock.
}

void Dentry::ReplaceChild(const std::shared_ptr<Dentry>& child) {
    std::lock_guard lock(m_lock);
    m_children[child->name()] = child;
}

void Dentry::ForgetChild(const std::string& name, const Dentry* child) {
    std::lock_guard lock(m_lock);
    auto it = m_children.find(name);
    if (it == m_children.end())
        return;
    auto cached = it->second.lock();
    if (!cached || cached.get() == child)
        m_children.erase(it);
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
