#include "fs/tmpfs/directory.h"

#include <limits.h>

namespace moat::fs {

namespace {
// Linux's shmem counts this many bytes of st_size per directory entry (and two for . and ..).
constexpr int64_t kBogoDirentSize = 20;

std::shared_ptr<TmpfsInode> Shared(Inode& inode) {
    return std::static_pointer_cast<TmpfsInode>(inode.shared_from_this());
}
}  // namespace

TmpfsDirectory::TmpfsDirectory(std::shared_ptr<TmpfsFileSystem> fs, const NewInode& attr, uint64_t ino)
    : TmpfsInode(std::move(fs), attr, ino) {
    m_attr.size = 2 * kBogoDirentSize;
}

Result<std::shared_ptr<Inode>> TmpfsDirectory::Lookup(const FsCaller&, const std::string& name) {
    std::lock_guard lock(m_lock);
    auto child = FindLocked(name);
    if (!child)
        return Error(ENOENT);
    return std::shared_ptr<Inode>(std::move(child));
}

Result<std::vector<DirEntry>> TmpfsDirectory::ReadDir(const FsCaller&) {
    std::lock_guard lock(m_lock);
    std::vector<DirEntry> entries;
    entries.reserve(m_entries.size());
    for (auto& [name, inode] : m_entries)
        entries.push_back({name, inode->ino(), DirentTypeOf(inode->type())});
    return entries;
}

bool TmpfsDirectory::empty() {
    std::lock_guard lock(m_lock);
    return m_entries.empty();
}

std::shared_ptr<TmpfsInode> TmpfsDirectory::FindLocked(const std::string& name) const {
    auto it = m_entries.find(name);
    return it == m_entries.end() ? nullptr : it->second;
}

void TmpfsDirectory::InsertLocked(const std::string& name, std::shared_ptr<TmpfsInode> inode) {
    if (inode->is_dir())
        ++m_attr.nlink;  // its ".."
    m_entries[name] = std::move(inode);
    m_attr.size += kBogoDirentSize;
    m_attr.mtime = m_attr.ctime = FsNow();
}

std::shared_ptr<TmpfsInode> TmpfsDirectory::EraseLocked(const std::string& name) {
    auto it = m_entries.find(name);
    auto inode = std::move(it->second);
    m_entries.erase(it);
    if (inode->is_dir())
        --m_attr.nlink;
    m_attr.size -= kBogoDirentSize;
    m_attr.mtime = m_attr.ctime = FsNow();
    return inode;
}

Result<std::shared_ptr<Inode>> TmpfsDirectory::AddNew(const std::string& name, const NewInode& attr,
                                                      const std::string& target) {
    std::lock_guard ns(tmpfs().namespace_lock());
    std::lock_guard lock(m_lock);
    if (m_attr.nlink == 0)
        return Error(ENOENT);  // removed: Linux's IS_DEADDIR
    if (m_entries.contains(name))
        return Error(EEXIST);
    auto inode = TRY(tmpfs().NewInode(attr, target));
    InsertLocked(name, inode);
    return std::shared_ptr<Inode>(std::move(inode));
}

Result<std::shared_ptr<Inode>> TmpfsDirectory::Create(const FsCaller&, const std::string& name, const NewInode& attr) {
    switch (attr.mode & S_IFMT) {
    case S_IFREG:
    case S_IFIFO:
    case S_IFSOCK:
    case S_IFCHR:
    case S_IFBLK:
        return AddNew(name, attr, {});
    default:
        return Error(EINVAL);
    }
}

Result<std::shared_ptr<Inode>> TmpfsDirectory::Mkdir(const FsCaller&, const std::string& name, const NewInode& attr) {
    NewInode dir = attr;
    dir.mode = S_IFDIR | (attr.mode & 07777);
    return AddNew(name, dir, {});
}

Result<std::shared_ptr<Inode>> TmpfsDirectory::Symlink(const FsCaller&, const std::string& name,
                                                       const std::string& target, const NewInode& attr) {
    if (target.empty())
        return Error(ENOENT);
    if (target.size() + 1 > PATH_MAX)
        return Error(ENAMETOOLONG);
    NewInode link = attr;
    link.mode = S_IFLNK | 0777;  // a symlink's permission bits are always 0777
    return AddNew(name, link, target);
}

Result<std::shared_ptr<Inode>> TmpfsDirectory::CreateTmpFile(const FsCaller&, const NewInode& attr) {
    NewInode file = attr;
    file.mode = S_IFREG | (attr.mode & 07777);
    {
        std::lock_guard lock(m_lock);
        if (m_attr.nlink == 0)
            return Error(ENOENT);
    }
    auto inode = TRY(tmpfs().NewInode(file));
    inode->ClearLinks();
    inode->set_linkable();
    return std::shared_ptr<Inode>(std::move(inode));
}

Result<void> TmpfsDirectory::Link(const FsCaller&, const std::string& name, Inode& target) {
    auto* inode = dynamic_cast<TmpfsInode*>(&target);
    if (!inode || &inode->filesystem() != &filesystem())
        return Error(EXDEV);
    if (inode->is_dir())
        return Error(EPERM);
    std::lock_guard ns(tmpfs().namespace_lock());
    std::lock_guard lock(m_lock);
    if (m_attr.nlink == 0)
        return Error(ENOENT);
    if (m_entries.contains(name))
        return Error(EEXIST);
    uint64_t links = inode->nlink();
    if (links == 0 && !inode->TakeLinkable())
        return Error(ENOENT);  // unlinked, and not an O_TMPFILE file
    inode->TakeLinkable();     // an O_TMPFILE file gets one name at most (Linux's I_LINKABLE)
    if (links > 0)
        TRY(tmpfs().ReserveInode());
    InsertLocked(name, Shared(*inode));
    inode->AddLinks(1);
    return {};
}

Result<void> TmpfsDirectory::Unlink(const FsCaller&, const std::string& name) {
    std::shared_ptr<TmpfsInode> victim;  // released after the locks
    std::lock_guard ns(tmpfs().namespace_lock());
    std::lock_guard lock(m_lock);
    victim = FindLocked(name);
    if (!victim)
        return Error(ENOENT);
    if (victim->is_dir())
        return Error(EISDIR);
    EraseLocked(name);
    victim->DropName();
    return {};
}

Result<void> TmpfsDirectory::Rmdir(const FsCaller&, const std::string& name) {
    std::shared_ptr<TmpfsInode> victim;
    std::lock_guard ns(tmpfs().namespace_lock());
    std::lock_guard lock(m_lock);
    victim = FindLocked(name);
    if (!victim)
        return Error(ENOENT);
    if (!victim->is_dir())
        return Error(ENOTDIR);
    if (!static_cast<TmpfsDirectory&>(*victim).empty())
        return Error(ENOTEMPTY);
    EraseLocked(name);
    victim->ClearLinks();
    return {};
}

}  // namespace moat::fs
