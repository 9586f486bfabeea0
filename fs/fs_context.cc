#include "fs/fs_context.h"

#include "fs/vfs.h"

namespace moat::fs {

Result<std::shared_ptr<FsContext>> FsContext::Create(Vfs& vfs, const std::string& cwd) {
    VfsPath root = vfs.root();
    VfsPath dir = root;
    if (!cwd.empty())
        dir = TRY(vfs.Resolve(FsCaller{}, root, root, cwd, kWalkFollow | kWalkDirectory));
    return std::make_shared<FsContext>(vfs, std::move(root), std::move(dir), 022);
}

std::shared_ptr<FsContext> FsContext::Fork() const {
    std::lock_guard lock(m_lock);
    return std::make_shared<FsContext>(m_vfs, m_root, m_cwd, m_umask);
}

VfsPath FsContext::root() const {
    std::lock_guard lock(m_lock);
    return m_root;
}

VfsPath FsContext::cwd() const {
    std::lock_guard lock(m_lock);
    return m_cwd;
}

void FsContext::set_cwd(VfsPath cwd) {
    std::lock_guard lock(m_lock);
    std::swap(m_cwd, cwd);
    // the old cwd is released after the lock
}

void FsContext::set_root(VfsPath root) {
    std::lock_guard lock(m_lock);
    std::swap(m_root, root);
}

uint32_t FsContext::umask() const {
    std::lock_guard lock(m_lock);
    return m_umask;
}

uint32_t FsContext::SwapUmask(uint32_t mask) {
    std::lock_guard lock(m_lock);
    return std::exchange(m_umask, mask & 0777);
}

}  // namespace moat::fs
