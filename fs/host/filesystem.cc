#include "fs/host/filesystem.h"

namespace moat::fs {

Result<std::shared_ptr<HostFileSystem>> HostFileSystem::Create(HostIo& io, const std::string& host_path,
                                                               bool read_only, size_t dcache_capacity) {
    UniqueFd root = TRY(io.OpenRoot(host_path));
    auto fs = std::shared_ptr<HostFileSystem>(new HostFileSystem(io, read_only, dcache_capacity));
    fs->m_root_fd = std::move(root);
    return fs;
}

HostFileSystem::~HostFileSystem() = default;

Result<std::shared_ptr<HostInode>> HostFileSystem::TakeRootInode() {
    if (!m_root_fd.valid())
        return Error(EINVAL);
    return InodeFor(std::move(m_root_fd));
}

Result<std::shared_ptr<HostInode>> HostFileSystem::InodeFor(UniqueFd fd) {
    struct stat st = TRY(m_io.Fstat(fd.get()));
    std::pair<uint64_t, uint64_t> key{st.st_dev, st.st_ino};
    std::shared_ptr<HostInode> existing;
    {
        std::lock_guard lock(m_inodes_lock);
        auto it = m_inodes.find(key);
        if (it != m_inodes.end())
            existing = it->second.inode.lock();
    }
    if (existing) {
        existing->UpdateAttr(st);
        return existing;  // `fd` (a second handle on the same file) is closed here
    }
    auto self = std::static_pointer_cast<HostFileSystem>(shared_from_this());
    auto inode = std::make_shared<HostInode>(self, std::move(fd), st);
    std::shared_ptr<HostInode> loser;  // released after m_inodes_lock: its destructor takes it
    {
        std::lock_guard lock(m_inodes_lock);
        auto& slot = m_inodes[key];
        if (auto raced = slot.inode.lock()) {
            loser = std::exchange(inode, std::move(raced));
        } else {
            slot = Live{inode.get(), inode};
        }
    }
    return inode;
}

void HostFileSystem::Forget(std::pair<uint64_t, uint64_t> key, const HostInode* inode) {
    std::lock_guard lock(m_inodes_lock);
    auto it = m_inodes.find(key);
    if (it != m_inodes.end() && it->second.raw == inode)
        m_inodes.erase(it);
}

size_t HostFileSystem::live_inodes() const {
    std::lock_guard lock(m_inodes_lock);
    return m_inodes.size();
}

InodeAttr AttrFromStat(const struct stat& st) {
    InodeAttr a;
    a.dev = st.st_dev;
    a.ino = st.st_ino;
    a.mode = st.st_mode;
    a.nlink = st.st_nlink;
    a.uid = st.st_uid;
    a.gid = st.st_gid;
    a.rdev = st.st_rdev;
    a.size = st.st_size;
    a.blocks = st.st_blocks;
    a.blksize = st.st_blksize;
    a.atime = st.st_atim;
    a.mtime = st.st_mtim;
    a.ctime = st.st_ctim;
    return a;
}

}  // namespace moat::fs
