#include "fs/vfs/inode.h"

#include "fs/inotify/inotify.h"
#include "fs/lock/file_locks.h"
#include "fs/vfs/mount.h"

#include <dirent.h>

namespace moat::fs {

uint8_t DirentTypeOf(uint32_t mode) {
    switch (mode & S_IFMT) {
    case S_IFREG: return DT_REG;
    case S_IFDIR: return DT_DIR;
    case S_IFLNK: return DT_LNK;
    case S_IFCHR: return DT_CHR;
    case S_IFBLK: return DT_BLK;
    case S_IFIFO: return DT_FIFO;
    case S_IFSOCK: return DT_SOCK;
    default: return DT_UNKNOWN;
    }
}

Inode::~Inode() {
    delete m_file_locks.load(std::memory_order_acquire);
    delete m_watchers.load(std::memory_order_acquire);
}

namespace {
// The object at `slot`, created on first use; a thread that loses the race frees its own.
template <typename T>
T& CreateOnce(std::atomic<T*>& slot) {
    T* cur = slot.load(std::memory_order_acquire);
    if (cur)
        return *cur;
    auto fresh = std::make_unique<T>();
    if (slot.compare_exchange_strong(cur, fresh.get(), std::memory_order_acq_rel))
        return *fresh.release();
    return *cur;
}
}  // namespace

FileLocks& Inode::file_locks() { return CreateOnce(m_file_locks); }

InodeWatchers& Inode::watchers() { return CreateOnce(m_watchers); }

Result<std::shared_ptr<Inode>> Inode::Lookup(const FsCaller&, const std::string&) { return Error(ENOTDIR); }

Result<std::vector<DirEntry>> Inode::ReadDir(const FsCaller&) { return Error(ENOTDIR); }

Result<std::string> Inode::ReadLink(const FsCaller&) { return Error(EINVAL); }

Result<VfsPath> Inode::MagicLinkTarget(const FsCaller&, const VfsPath&) { return Error(EINVAL); }

Result<std::shared_ptr<File>> Inode::Open(const FsCaller&, const VfsPath&, int) { return Error(ENXIO); }

}  // namespace moat::fs

namespace moat::fs {

struct timespec FsNow() {
    struct timespec ts {};
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts;
}

Result<std::shared_ptr<Inode>> Inode::Create(const FsCaller&, const std::string&, const NewInode&) {
    return Error(EPERM);
}
Result<std::shared_ptr<Inode>> Inode::Mkdir(const FsCaller&, const std::string&, const NewInode&) {
    return Error(EPERM);
}
Result<std::shared_ptr<Inode>> Inode::Symlink(const FsCaller&, const std::string&, const std::string&,
                                              const NewInode&) {
    return Error(EPERM);
}
Result<void> Inode::Link(const FsCaller&, const std::string&, Inode&) { return Error(EPERM); }
Result<void> Inode::Unlink(const FsCaller&, const std::string&) { return Error(EPERM); }
Result<void> Inode::Rmdir(const FsCaller&, const std::string&) { return Error(EPERM); }
Result<void> Inode::Rename(const FsCaller&, const std::string&, Inode&, const std::string&, unsigned) {
    return Error(EPERM);
}
Result<std::shared_ptr<Inode>> Inode::CreateTmpFile(const FsCaller&, const NewInode&) { return Error(EOPNOTSUPP); }
Result<void> Inode::SetAttr(const FsCaller&, const SetAttrRequest&) { return Error(EPERM); }
Result<std::string> Inode::GetXattr(const FsCaller&, const std::string&) { return Error(EOPNOTSUPP); }
Result<void> Inode::SetXattr(const FsCaller&, const std::string&, const std::string&, int) {
    return Error(EOPNOTSUPP);
}
Result<std::vector<std::string>> Inode::ListXattr(const FsCaller&) { return Error(EOPNOTSUPP); }
Result<void> Inode::RemoveXattr(const FsCaller&, const std::string&) { return Error(EOPNOTSUPP); }

}  // namespace moat::fs
