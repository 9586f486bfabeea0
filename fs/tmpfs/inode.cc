#include "fs/tmpfs/inode.h"

namespace moat::fs {

namespace {
// Linux's XATTR_SIZE_MAX.
constexpr size_t kXattrValueMax = 64 * 1024;
// A symlink target longer than this takes a page of its own on Linux's shmem (st_blocks 8).
constexpr size_t kShortSymlinkLen = 128;
}  // namespace

TmpfsInode::TmpfsInode(std::shared_ptr<TmpfsFileSystem> fs, const NewInode& attr, uint64_t ino)
    : Inode(fs, attr.mode), m_ino(ino) {
    m_attr.dev = fs->anon_dev();
    m_attr.ino = ino;
    m_attr.mode = attr.mode;
    m_attr.nlink = S_ISDIR(attr.mode) ? 2 : 1;
    m_attr.uid = attr.uid;
    m_attr.gid = attr.gid;
    m_attr.rdev = (S_ISCHR(attr.mode) || S_ISBLK(attr.mode)) ? attr.rdev : 0;
    m_attr.blksize = 4096;
    struct timespec now = FsNow();
    m_attr.atime = m_attr.mtime = m_attr.ctime = m_attr.btime = now;
    m_attr.has_btime = true;
}

TmpfsInode::~TmpfsInode() { tmpfs().ReleaseInode(); }

InodeAttr TmpfsInode::CachedAttr() {
    InodeAttr attr;
    {
        std::lock_guard lock(m_lock);
        attr = m_attr;
    }
    FillDataAttr(attr);
    return attr;
}

uint64_t TmpfsInode::nlink() {
    std::lock_guard lock(m_lock);
    return m_attr.nlink;
}

void TmpfsInode::AddLinks(int delta) {
    std::lock_guard lock(m_lock);
    m_attr.nlink = static_cast<uint64_t>(static_cast<int64_t>(m_attr.nlink) + delta);
    m_attr.ctime = FsNow();
}

void TmpfsInode::DropName() {
    std::lock_guard lock(m_lock);
    if (m_attr.nlink > 1)
        tmpfs().ReleaseInode();
    if (m_attr.nlink > 0)
        --m_attr.nlink;
    m_attr.ctime = FsNow();
}

void TmpfsInode::ClearLinks() {
    std::lock_guard lock(m_lock);
    m_attr.nlink = 0;
    m_attr.ctime = FsNow();
}

void TmpfsInode::Touch(bool modified) {
    struct timespec now = FsNow();
    std::lock_guard lock(m_lock);
    m_attr.ctime = now;
    if (modified)
        m_attr.mtime = now;
}

bool TmpfsInode::TakeLinkable() { return m_linkable.exchange(false, std::memory_order_relaxed); }

Result<void> TmpfsInode::Resize(int64_t) { return Error(is_dir() ? EISDIR : EINVAL); }

Result<void> TmpfsInode::SetAttr(const FsCaller&, const SetAttrRequest& req) {
    bool size_changed = false;
    if (req.mask & SetAttrRequest::kSize) {
        int64_t old = CachedAttr().size;
        TRY(Resize(req.size));
        size_changed = old != req.size;
    }
    struct timespec now = FsNow();
    std::lock_guard lock(m_lock);
    if (req.mask & SetAttrRequest::kMode)
        m_attr.mode = (m_attr.mode & S_IFMT) | (req.mode & 07777);
    if (req.mask & SetAttrRequest::kUid)
        m_attr.uid = req.uid;
    if (req.mask & SetAttrRequest::kGid)
        m_attr.gid = req.gid;
    if (size_changed)
        m_attr.mtime = now;  // shmem: a size change is a modification
    if (req.mask & SetAttrRequest::kAtime)
        m_attr.atime = req.atime;
    if (req.mask & SetAttrRequest::kMtime)
        m_attr.mtime = req.mtime;
    // truncate(2) to the same size changes nothing on tmpfs; every other change sets ctime.
    if (req.mask != SetAttrRequest::kSize || size_changed)
        m_attr.ctime = now;
    return {};
}

Result<std::string> TmpfsInode::GetXattr(const FsCaller&, const std::string& name) {
    std::lock_guard lock(m_lock);
    auto it = m_xattrs.find(name);
    if (it == m_xattrs.end())
        return Error(ENODATA);
    return it->second;
}

Result<void> TmpfsInode::SetXattr(const FsCaller&, const std::string& name, const std::string& value, int flags) {
    if (value.size() > kXattrValueMax)
        return Error(E2BIG);
    std::lock_guard lock(m_lock);
    auto it = m_xattrs.find(name);
    if (it != m_xattrs.end() && (flags & kXattrCreate))
        return Error(EEXIST);
    if (it == m_xattrs.end() && (flags & kXattrReplace))
        return Error(ENODATA);
    m_xattrs[name] = value;
    m_attr.ctime = FsNow();
    return {};
}

Result<std::vector<std::string>> TmpfsInode::ListXattr(const FsCaller&) {
    std::lock_guard lock(m_lock);
    std::vector<std::string> names;
    names.reserve(m_xattrs.size());
    for (auto& [name, value] : m_xattrs)
        names.push_back(name);
    return names;
}

Result<void> TmpfsInode::RemoveXattr(const FsCaller&, const std::string& name) {
    std::lock_guard lock(m_lock);
    if (m_xattrs.erase(name) == 0)
        return Error(ENODATA);
    m_attr.ctime = FsNow();
    return {};
}

TmpfsSymlink::TmpfsSymlink(std::shared_ptr<TmpfsFileSystem> fs, const NewInode& attr, uint64_t ino,
                           std::string target)
    : TmpfsInode(std::move(fs), attr, ino), m_target(std::move(target)) {
    m_attr.size = static_cast<int64_t>(m_target.size());
    m_attr.blocks = m_target.size() >= kShortSymlinkLen ? 8 : 0;
}

}  // namespace moat::fs
