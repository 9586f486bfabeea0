#include "fs/inotify/notify.h"

#include "fs/file.h"
#include "fs/inotify/inotify.h"
#include "fs/vfs/filesystem.h"

namespace moat::fs {

void NotifyInode(Inode& inode, uint32_t mask) {
    if (InodeWatchers* w = inode.watchers_if_any())
        w->Deliver(mask | (inode.is_dir() ? IN_ISDIR : 0), 0, {});
}

void NotifyChild(Inode& dir, uint32_t mask, std::string_view name, uint32_t cookie) {
    if (InodeWatchers* w = dir.watchers_if_any())
        w->Deliver(mask, cookie, name);
}

void NotifyRemoved(Inode& inode) {
    if (InodeWatchers* w = inode.watchers_if_any())
        w->Removed();
}

void NotifyPath(const VfsPath& path, uint32_t mask) {
    if (!path.valid())
        return;
    Inode& inode = path.inode();
    if (inode.is_dir())
        mask |= IN_ISDIR;
    if (InodeWatchers* w = inode.watchers_if_any())
        w->Deliver(mask, 0, {});
    // The parent hears about its children only while some directory of this filesystem is
    // watched (Linux's DCACHE_FSNOTIFY_PARENT_WATCHED, coarser).
    if (inode.filesystem().watched_dirs().load(std::memory_order_acquire) == 0)
        return;
    if (path.is_mount_root() || path.dentry->dead())
        return;
    auto parent = path.dentry->parent();
    if (parent)
        NotifyChild(parent->ino(), mask, path.dentry->name());
}

void NotifyFile(const File& file, uint32_t mask) {
    if (file.path() && !file.is_path_only())
        NotifyPath(*file.path(), mask);
}

}  // namespace moat::fs
