#include "fs/host/filesystem.h"
#include "fs/host/regular_file.h"
#include "fs/vfs/mount.h"

#include <fcntl.h>

namespace moat::fs {

namespace {
bool SameTime(const struct timespec& a, const struct timespec& b) {
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}
}  // namespace

HostInode::HostInode(std::shared_ptr<HostFileSystem> fs, UniqueFd fd, const struct stat& st)
    : Inode(std::move(fs), st.st_mode), m_fd(std::move(fd)), m_key(st.st_dev, st.st_ino), m_attr(AttrFromStat(st)) {}

HostInode::~HostInode() { host_fs().Forget(m_key, this); }

void HostInode::UpdateAttr(const struct stat& st) {
    std::lock_guard lock(m_lock);
    m_attr = AttrFromStat(st);
}

Result<InodeAttr> HostInode::Stat() {
    struct stat st = TRY(host_fs().io().Fstat(m_fd.get()));
    UpdateAttr(st);
    return AttrFromStat(st);
}

InodeAttr HostInode::CachedAttr() {
    std::lock_guard lock(m_lock);
    return m_attr;
}

void HostInode::RefreshAttr() {
    auto st = host_fs().io().Fstat(m_fd.get());
    if (st.ok())
        UpdateAttr(*st);
}

void HostInode::InvalidateListing() {
    std::lock_guard lock(m_lock);
    m_listing.reset();
}

void HostInode::SetOrigin(const std::shared_ptr<HostInode>& parent, const std::string& name) {
    std::lock_guard lock(m_lock);
    m_origin_parent = parent;
    m_origin_name = name;
}

Result<UniqueFd> HostInode::ReopenByOrigin(int flags) {
    std::shared_ptr<HostInode> parent;
    std::string name;
    {
        std::lock_guard lock(m_lock);
        parent = m_origin_parent;
        name = m_origin_name;
    }
    if (!parent)
        return Error(ENOENT);
    UniqueFd fd = TRY(host_fs().io().OpenAt(parent->fd(), name, flags));
    struct stat st = TRY(host_fs().io().Fstat(fd.get()));
    if (static_cast<uint64_t>(st.st_dev) != m_key.first || static_cast<uint64_t>(st.st_ino) != m_key.second)
        return Error(ENOENT);  // the name now holds another file
    return fd;
}

Result<std::shared_ptr<Inode>> HostInode::Lookup(const FsCaller&, const std::string& name) {
    if (!is_dir())
        return Error(ENOTDIR);
    UniqueFd fd = TRY(host_fs().io().OpenAt(m_fd.get(), name, O_PATH));
    auto child = TRY(host_fs().InodeFor(std::move(fd)));
    child->SetOrigin(std::static_pointer_cast<HostInode>(shared_from_this()), name);
    return std::shared_ptr<Inode>(std::move(child));
}

Result<std::vector<DirEntry>> HostInode::ReadDir(const FsCaller&) {
    if (!is_dir())
        return Error(ENOTDIR);
    struct stat st = TRY(host_fs().io().Fstat(m_fd.get()));
    {
        std::lock_guard lock(m_lock);
        m_attr = AttrFromStat(st);
        if (m_listing && SameTime(m_listing_mtime, st.st_mtim) && SameTime(m_listing_ctime, st.st_ctim))
            return *m_listing;
    }
    auto host = TRY(host_fs().io().ReadDir(m_fd.get()));
    std::vector<DirEntry> entries;
    entries.reserve(host.size());
    for (auto& e : host)
        entries.push_back({std::move(e.name), e.ino, e.type});
    std::lock_guard lock(m_lock);
    m_listing = entries;
    m_listing_mtime = st.st_mtim;
    m_listing_ctime = st.st_ctim;
    return entries;
}

Result<std::string> HostInode::ReadLink(const FsCaller&) {
    if (!is_symlink())
        return Error(EINVAL);
    return host_fs().io().ReadLink(m_fd.get());
}

Result<UniqueFd> HostInode::OpenDataFd(const VfsPath* path, int flags) {
    // O_NONBLOCK: if the name was swapped for a FIFO meanwhile, do not block (caught below).
    flags |= O_NONBLOCK;
    std::shared_ptr<Dentry> parent = path ? path->dentry->parent() : nullptr;
    if (!parent)
        return ReopenByOrigin(flags);  // a file bind's root, or no path at hand
    auto* parent_inode = dynamic_cast<HostInode*>(parent->inode().get());
    if (!parent_inode)
        return Error(EIO);
    UniqueFd fd = TRY(host_fs().io().OpenAt(parent_inode->fd(), path->dentry->name(), flags));
    struct stat st = TRY(host_fs().io().Fstat(fd.get()));
    if (static_cast<uint64_t>(st.st_dev) != m_key.first || static_cast<uint64_t>(st.st_ino) != m_key.second)
        return Error(ENOENT);  // the host file was replaced since we looked it up
    return fd;
}

Result<std::shared_ptr<UniqueFd>> HostInode::DataFd(const VfsPath* path, bool write) {
    if (!is_regular())
        return Error(EINVAL);
    {
        std::lock_guard lock(m_lock);
        if (m_data_fd && (m_data_fd_writable || !write))
            return m_data_fd;
    }
    // Read-only until a writer needs more: a file the sandbox only reads is never opened for
    // writing on the host (no IN_CLOSE_WRITE for watchers, no ETXTBSY for the host).
    UniqueFd fd = TRY(OpenDataFd(path, write ? O_RDWR : O_RDONLY));
    std::lock_guard lock(m_lock);
    if (m_data_fd && (m_data_fd_writable || !write))
        return m_data_fd;  // another thread won the race
    m_data_fd = std::make_shared<UniqueFd>(std::move(fd));
    m_data_fd_writable = write;
    if (m_page_cache)
        m_page_cache->SetFd(m_data_fd);  // writeback needs the writable one
    return m_data_fd;
}

void HostInode::SetDataFd(UniqueFd fd) {
    std::lock_guard lock(m_lock);
    if (m_data_fd)
        return;
    m_data_fd = std::make_shared<UniqueFd>(std::move(fd));
    m_data_fd_writable = true;
}

Result<std::shared_ptr<HostPageCache>> HostInode::PageCache(const VfsPath& path) {
    mm::MemoryFile* mf = host_fs().memory_file();
    if (!mf)
        return std::shared_ptr<HostPageCache>();
    auto fd = TRY(DataFd(&path));
    std::string name = AbsolutePath(path);
    std::lock_guard lock(m_lock);
    if (!m_page_cache)
        m_page_cache = std::make_shared<HostPageCache>(host_fs().io(), m_data_fd ? m_data_fd : std::move(fd), *mf,
                                                       static_cast<uint64_t>(m_attr.size), m_key.first,
                                                       m_key.second, std::move(name));
    return m_page_cache;
}

std::shared_ptr<HostPageCache> HostInode::ExistingPageCache() {
    std::lock_guard lock(m_lock);
    return m_page_cache;
}

Result<std::shared_ptr<File>> HostInode::Open(const FsCaller&, const VfsPath& path, int flags) {
    switch (type()) {
    case S_IFREG: {
        bool write = (flags & O_ACCMODE) != O_RDONLY;
        auto fd = TRY(DataFd(&path, write));
        auto self = std::static_pointer_cast<HostInode>(shared_from_this());
        return std::shared_ptr<File>(std::make_shared<HostRegularFile>(flags, path, std::move(self), std::move(fd)));
    }
    case S_IFSOCK:
        return Error(ENXIO);
    default:
        // Host devices and FIFOs are never opened: the sandbox's /dev is its own (a nodev
        // mount in Linux's terms). FIXME(#fs-host-fifo): host FIFOs.
        return Error(EACCES);
    }
}

}  // namespace moat::fs
