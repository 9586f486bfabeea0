#include "fs/vfs/mount_table.h"

#include "fs/vfs/filesystem.h"

namespace moat::fs {

bool Mount::read_only() const { return (m_flags & kMountReadOnly) || m_fs->read_only(); }

std::shared_ptr<Mount> MountTable::SetRoot(std::shared_ptr<FileSystem> fs, std::shared_ptr<Dentry> root, int flags) {
    std::lock_guard lock(m_lock);
    m_root = std::make_shared<Mount>(m_next_id++, std::move(fs), std::move(root), nullptr, nullptr, flags);
    m_all.push_back(m_root);
    return m_root;
}

std::shared_ptr<Mount> MountTable::Add(const VfsPath& mountpoint, std::shared_ptr<FileSystem> fs,
                                       std::shared_ptr<Dentry> root, int flags) {
    std::lock_guard lock(m_lock);
    auto m = std::make_shared<Mount>(m_next_id++, std::move(fs), std::move(root), mountpoint.mount,
                                     mountpoint.dentry, flags);
    m_on[{mountpoint.mount.get(), mountpoint.dentry.get()}].push_back(m);
    m_all.push_back(m);
    mountpoint.dentry->AddMount();
    return m;
}

Result<void> MountTable::Remove(const std::shared_ptr<Mount>& m, bool detach) {
    std::vector<std::shared_ptr<Mount>> gone;  // released after the lock
    {
        std::lock_guard lock(m_lock);
        if (m == m_root)
            return Error(EINVAL);
        // `m` and every mount below it, parents before children (m_all is in mount order).
        std::vector<std::shared_ptr<Mount>> doomed{m};
        for (const auto& other : m_all) {
            for (size_t i = 0; i < doomed.size(); ++i) {
                if (other->parent() == doomed[i]) {
                    doomed.push_back(other);
                    break;
                }
            }
        }
        if (doomed.size() > 1 && !detach)
            return Error(EBUSY);
        for (const auto& d : doomed) {
            auto key = std::make_pair(d->parent().get(), d->mountpoint().get());
            auto it = m_on.find(key);
            if (it != m_on.end()) {
                std::erase(it->second, d);
                if (it->second.empty())
                    m_on.erase(it);
            }
            std::erase(m_all, d);
            d->mountpoint()->RemoveMount();
            gone.push_back(d);
        }
    }
    return {};
}

std::shared_ptr<Mount> MountTable::root_mount() const {
    std::lock_guard lock(m_lock);
    return m_root;
}

std::shared_ptr<Mount> MountTable::MountedAt(const Mount& parent, const Dentry& mountpoint) const {
    std::lock_guard lock(m_lock);
    auto it = m_on.find({&parent, &mountpoint});
    if (it == m_on.end() || it->second.empty())
        return nullptr;
    return it->second.back();
}

std::vector<std::shared_ptr<Mount>> MountTable::mounts() const {
    std::lock_guard lock(m_lock);
    return m_all;
}

}  // namespace moat::fs

namespace moat::fs {

std::string PathFrom(const VfsPath& start, const VfsPath& root, bool* reachable) {
    std::vector<std::string> names;
    VfsPath p = start;
    bool ok = true;
    for (;;) {
        if (p == root)
            break;
        if (p.is_mount_root()) {
            if (!p.mount->parent()) {
                ok = false;  // reached the top of the tree without meeting `root`
                break;
            }
            p = VfsPath{p.mount->parent(), p.mount->mountpoint()};
            continue;
        }
        names.push_back(p.dentry->name());
        p.dentry = p.dentry->parent();
        if (!p.dentry) {
            ok = false;
            break;
        }
    }
    if (reachable)
        *reachable = ok;
    if (names.empty())
        return "/";
    std::string out;
    for (auto it = names.rbegin(); it != names.rend(); ++it) {
        out.push_back('/');
        out.append(*it);
    }
    return out;
}

std::string AbsolutePath(const VfsPath& p) { return PathFrom(p, VfsPath{}, nullptr); }

}  // namespace moat::fs
