#include "fs/overlay/filesystem.h"

#include "fs/overlay/inode.h"

namespace moat::fs {

Result<std::shared_ptr<OverlayFileSystem>> OverlayFileSystem::Create(std::shared_ptr<Inode> lower_root,
                                                                     std::shared_ptr<Inode> upper_root) {
    if (!lower_root || !upper_root)
        return Error(EINVAL);
    if (!lower_root->is_dir() || !upper_root->is_dir())
        return Error(ENOTDIR);
    auto fs = std::shared_ptr<OverlayFileSystem>(new OverlayFileSystem());
    auto lower_fs = lower_root->filesystem().shared_from_this();
    fs->m_lower_mount = std::make_shared<Mount>(-1, std::move(lower_fs), Dentry::CreateRoot(std::move(lower_root)),
                                                nullptr, nullptr, kMountReadOnly);
    fs->m_upper_root = std::move(upper_root);
    return fs;
}

OverlayFileSystem::~OverlayFileSystem() = default;

std::shared_ptr<Inode> OverlayFileSystem::MakeRootInode() {
    auto self = std::static_pointer_cast<OverlayFileSystem>(shared_from_this());
    const auto& lower = m_lower_mount->root();
    uint64_t ino = lower->inode()->CachedAttr().ino;
    auto root = std::make_shared<OverlayInode>(self, S_IFDIR, nullptr, std::string(), lower, m_upper_root,
                                               /*opaque=*/false, ino);
    return Register(root);
}

std::shared_ptr<OverlayInode> OverlayFileSystem::Find(const Dentry* lower, const Inode* upper) {
    std::lock_guard lock(m_inodes_lock);
    if (upper) {
        if (auto it = m_by_upper.find(upper); it != m_by_upper.end())
            if (auto live = it->second.inode.lock())
                return live;
    }
    if (lower) {
        if (auto it = m_by_lower.find(lower); it != m_by_lower.end())
            if (auto live = it->second.inode.lock())
                return live;
    }
    return nullptr;
}

std::shared_ptr<OverlayInode> OverlayFileSystem::Register(const std::shared_ptr<OverlayInode>& candidate) {
    const Dentry* lower = candidate->lower_dentry().get();
    auto upper = candidate->upper();
    std::lock_guard lock(m_inodes_lock);
    Live& slot = lower ? m_by_lower[lower] : m_by_upper[upper.get()];
    if (auto raced = slot.inode.lock())
        return raced;
    slot = Live{candidate.get(), candidate};
    if (lower && upper)
        m_by_upper[upper.get()] = Live{candidate.get(), candidate};
    return candidate;
}

void OverlayFileSystem::AddUpper(const Inode* upper, const std::shared_ptr<OverlayInode>& inode) {
    std::lock_guard lock(m_inodes_lock);
    m_by_upper[upper] = Live{inode.get(), inode};
}

void OverlayFileSystem::Forget(const Dentry* lower, const Inode* upper, const OverlayInode* inode) {
    std::lock_guard lock(m_inodes_lock);
    if (lower)
        if (auto it = m_by_lower.find(lower); it != m_by_lower.end() && it->second.raw == inode)
            m_by_lower.erase(it);
    if (upper)
        if (auto it = m_by_upper.find(upper); it != m_by_upper.end() && it->second.raw == inode)
            m_by_upper.erase(it);
}

size_t OverlayFileSystem::live_inodes() const {
    std::lock_guard lock(m_inodes_lock);
    return m_by_lower.size() + m_by_upper.size();
}

}  // namespace moat::fs
