#include "fs/host/filesystem.h"

namespace moat::fs {

Result<std::shared_ptr<HostFileSystem>> HostFileSystem::Create(HostIo& io, const std::string& host_path,
                                                               bool read_only, size_t dcache_capacity) {
    std::string real = TRY(io.CanonicalPath(host_path));
    UniqueFd root = TRY(io.OpenRoot(real));
    struct stat st = TRY(io.Fstat(root.get()));
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return Error(EINVAL);  // only directories and regular files can be mount roots
    auto fs = std::shared_ptr<HostFileSystem>(new HostFileSystem(io, read_only, dcache_capacity));
    if (S_ISREG(st.st_mode)) {
        // A file bind: hold the parent directory so the file can be reopened by name, and
        // check that the name still is the file we opened.
        size_t slash = real.rfind('/');
        std::string dir = slash == 0 ? "/" : real.substr(0, slash);
        fs->m_root_name = real.substr(slash + 1);
        fs->m_root_parent = TRY(fs->InodeFor(TRY(io.OpenRoot(dir))));
        struct stat again = TRY(io.FstatAt(fs->m_root_parent->fd(), fs->m_root_name));
        if (again.st_dev != st.st_dev || again.st_ino != st.st_ino)
            return Error(ENOENT);
    }
    fs->m_root_fd = std::move(root);
    return fs;
}

HostFileSystem::~HostFileSystem() = default;

Result<std::shared_ptr<HostInode>> HostFileSystem::TakeRootInode() {
    if (!m_root_fd.valid())
        return Error(EINVAL);
    auto root = TRY(InodeFor(std::move(m_root_fd)));
    if (m_root_parent)
        root->SetOrigin(std::exchange(m_root_parent, nullptr), m_root_name);
    return root;
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
    if (existing && !m_read_only) {
        // On a writable mount the host may have reused the number of a file that lost its
        // last name while we still held it: that one is not this file.
        auto held = m_io.Fstat(existing->fd());
        if (!held.ok() || held->st_nlink == 0) {
            Detach(existing.get());
            existing.reset();
        }
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

std::shared_ptr<HostInode> HostFileSystem::LiveInode(std::pair<uint64_t, uint64_t> key) {
    std::lock_guard lock(m_inodes_lock);
    auto it = m_inodes.find(key);
    return it == m_inodes.end() ? nullptr : it->second.inode.lock();
}

void HostFileSystem::Detach(const HostInode* inode) {
    std::lock_guard lock(m_inodes_lock);
    auto it = m_inodes.find(inode->key());
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
