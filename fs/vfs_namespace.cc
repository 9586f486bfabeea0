// The Vfs's namespace operations: mknod, mkdir, symlink, link, unlink, rmdir, rename, and the
// creating half of open (O_CREAT, O_TMPFILE). Each follows Linux's fs/namei.c in the order it
// reports errors: the walk to the parent, the kind of last component, EEXIST/ENOENT, the
// mount's write access (EROFS), permission on the directory (EACCES), the sticky bit (EPERM),
// type checks, then the filesystem.
//
// All of them hold m_rename_lock, like Linux's s_vfs_rename_mutex but for every change of the
// tree: a rename's "is this directory under itself" check and the dentry moves must not race
// another change.

#include "fs/vfs.h"

#include "fs/inotify/notify.h"
#include "fs/vfs/filesystem.h"
#include "fs/vfs/permissions.h"

namespace moat::fs {

namespace {

uint32_t FsUid(const FsCaller& c) { return c.creds ? c.creds->fsuid : 0; }
uint32_t FsGid(const FsCaller& c) { return c.creds ? c.creds->fsgid : 0; }
// capable(cap) for the caller; the sentry itself (no creds) holds everything.
bool Capable(const FsCaller& c, int cap) { return !c.creds || c.creds->HasCapability(cap); }

bool InGroup(const FsCaller& c, uint32_t gid) {
    if (!c.creds || c.creds->fsgid == gid)
        return true;
    for (gid_t g : c.creds->groups)
        if (g == gid)
            return true;
    return false;
}

// Linux's check_sticky: in a sticky directory only the file's owner, the directory's owner or
// CAP_FOWNER may remove or rename an entry.
bool StickyForbids(const FsCaller& c, const InodeAttr& dir, const InodeAttr& victim) {
    if (!(dir.mode & S_ISVTX) || Capable(c, CAP_FOWNER))
        return false;
    return FsUid(c) != victim.uid && FsUid(c) != dir.uid;
}

// may_create: a directory removed while in use (a deleted cwd) takes no new entries.
Result<void> MayCreate(const FsCaller& c, const VfsPath& dir) {
    if (dir.dentry->dead())
        return Error(ENOENT);
    return CheckPermission(c.creds, dir.inode().CachedAttr(), kMayWrite | kMayExec);
}

// may_delete: `victim` is the entry of `dir` about to go (or be replaced).
Result<void> MayDelete(const FsCaller& c, const VfsPath& dir, const Dentry& victim, bool is_dir) {
    InodeAttr dir_attr = dir.inode().CachedAttr();
    TRY(CheckPermission(c.creds, dir_attr, kMayWrite | kMayExec));
    if (StickyForbids(c, dir_attr, victim.ino().CachedAttr()))
        return Error(EPERM);
    if (is_dir) {
        if (!victim.ino().is_dir())
            return Error(ENOTDIR);
        if (!victim.parent())
            return Error(EBUSY);
    } else if (victim.ino().is_dir()) {
        return Error(EISDIR);
    }
    return {};
}

// Whether `ancestor` is `d` or one of its parents (same filesystem).
bool IsAncestor(const Dentry* ancestor, std::shared_ptr<Dentry> d) {
    for (; d; d = d->parent())
        if (d.get() == ancestor)
            return true;
    return false;
}

// The child `name` of `dir`, or null when there is none.
Result<std::shared_ptr<Dentry>> OptionalChild(PathWalker& walker, const VfsPath& dir, const std::string& name) {
    auto r = walker.Child(dir, name);
    if (!r.ok()) {
        if (r.error() == ENOENT)
            return std::shared_ptr<Dentry>();
        return Error(r.error());
    }
    return r.release_value();
}

// Records a new entry in the dentry tree so the next walk need not ask the filesystem.
void CacheNew(const VfsPath& dir, const std::string& name, std::shared_ptr<Inode> inode) {
    if (!dir.mount->filesystem().cache_dentries())
        return;
    auto child = Dentry::CreateChild(dir.dentry, name, std::move(inode));
    dir.dentry->ReplaceChild(child);
    dir.mount->filesystem().dentry_cache().Touch(child);
}

void Forget(const VfsPath& dir, const std::string& name, Dentry& victim) {
    dir.dentry->ForgetChild(name, &victim);
    victim.MarkDead();
}

}  // namespace

NewInode Vfs::NewInodeIn(const FsCaller& caller, const InodeAttr& dir, uint32_t mode) {
    NewInode n;
    n.uid = FsUid(caller);
    n.mode = mode;
    if (dir.mode & S_ISGID) {
        n.gid = dir.gid;
        if (S_ISDIR(mode))
            n.mode |= S_ISGID;
    } else {
        n.gid = FsGid(caller);
    }
    // mode_strip_sgid: a group-executable set-group-ID file for a group the caller is not in.
    if (!S_ISDIR(n.mode) && (n.mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) && !InGroup(caller, n.gid) &&
        !Capable(caller, CAP_FSETID))
        n.mode &= ~S_ISGID;
    return n;
}

Result<void> Vfs::PrepareCreate(PathWalker& walker, const VfsPath& start, std::string_view path, bool is_dir) {
    if (path.size() >= kPathMax)
        return Error(ENAMETOOLONG);
    TRY(walker.WalkParent(start, path));
    if (walker.last_type() != PathWalker::LastType::Normal)
        return Error(EEXIST);
    auto existing = TRY(OptionalChild(walker, walker.dir(), walker.last()));
    if (existing)
        return Error(EEXIST);
    // "foo/" names a directory: only mkdir may create it.
    if (walker.trailing_slash() && !is_dir)
        return Error(ENOENT);
    if (walker.dir().mount->read_only())
        return Error(EROFS);
    return {};
}

Result<void> Vfs::Mknod(const FsCaller& caller, const VfsPath& root, const VfsPath& start, std::string_view path,
                        uint32_t mode, uint64_t dev) {
    // may_mknod
    switch (mode & S_IFMT) {
    case 0: mode |= S_IFREG; break;
    case S_IFREG:
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
    case S_IFSOCK: break;
    case S_IFDIR: return Error(EPERM);
    default: return Error(EINVAL);
    }
    std::lock_guard lock(m_rename_lock);
    PathWalker walker(m_mounts, caller, root);
    TRY(PrepareCreate(walker, start, path, false));
    const VfsPath& dir = walker.dir();
    TRY(MayCreate(caller, dir));
    if ((S_ISCHR(mode) || S_ISBLK(mode)) && !Capable(caller, CAP_MKNOD))
        return Error(EPERM);  // CAP_MKNOD
    NewInode n = NewInodeIn(caller, dir.inode().CachedAttr(), mode & (S_IFMT | 07777));
    n.rdev = (S_ISCHR(mode) || S_ISBLK(mode)) ? dev : 0;
    auto inode = TRY(dir.inode().Create(caller, walker.last(), n));
    CacheNew(dir, walker.last(), std::move(inode));
    NotifyChild(dir.inode(), IN_CREATE, walker.last());
    return {};
}

Result<void> Vfs::Mkdir(const FsCaller& caller, const VfsPath& root, const VfsPath& start, std::string_view path,
                        uint32_t mode) {
    std::lock_guard lock(m_rename_lock);
    PathWalker walker(m_mounts, caller, root);
    TRY(PrepareCreate(walker, start, path, true));
    const VfsPath& dir = walker.dir();
    TRY(MayCreate(caller, dir));
    NewInode n = NewInodeIn(caller, dir.inode().CachedAttr(), S_IFDIR | (mode & 01777));
    auto inode = TRY(dir.inode().Mkdir(caller, walker.last(), n));
    CacheNew(dir, walker.last(), std::move(inode));
    NotifyChild(dir.inode(), IN_CREATE | IN_ISDIR, walker.last());
    return {};
}

Result<void> Vfs::Symlink(const FsCaller& caller, const VfsPath& root, const VfsPath& start, std::string_view path,
                          const std::string& target) {
    std::lock_guard lock(m_rename_lock);
    PathWalker walker(m_mounts, caller, root);
    TRY(PrepareCreate(walker, start, path, false));
    const VfsPath& dir = walker.dir();
    TRY(MayCreate(caller, dir));
    NewInode n = NewInodeIn(caller, dir.inode().CachedAttr(), S_IFLNK | 0777);
    auto inode = TRY(dir.inode().Symlink(caller, walker.last(), target, n));
    CacheNew(dir, walker.last(), std::move(inode));
    NotifyChild(dir.inode(), IN_CREATE, walker.last());
    return {};
}

Result<void> Vfs::Link(const FsCaller& caller, const VfsPath& old, const VfsPath& root, const VfsPath& start,
                       std::string_view path) {
    std::lock_guard lock(m_rename_lock);
    PathWalker walker(m_mounts, caller, root);
    TRY(PrepareCreate(walker, start, path, false));
    const VfsPath& dir = walker.dir();
    if (old.mount != dir.mount)
        return Error(EXDEV);
    Inode& inode = old.inode();
    InodeAttr attr = inode.CachedAttr();
    // may_linkat with fs.protected_hardlinks = 1 (Debian's default): a non-owner needs a regular,
    // non-set-id file it may read and write.
    if (!Capable(caller, CAP_FOWNER) && FsUid(caller) != attr.uid) {
        bool safe = S_ISREG(attr.mode) && !(attr.mode & S_ISUID) &&
                    (attr.mode & (S_ISGID | S_IXGRP)) != (S_ISGID | S_IXGRP) &&
                    CheckPermission(caller.creds, attr, kMayRead | kMayWrite).ok();
        if (!safe)
            return Error(EPERM);
    }
    TRY(MayCreate(caller, dir));
    if (inode.is_dir())
        return Error(EPERM);
    TRY(dir.inode().Link(caller, walker.last(), inode));
    CacheNew(dir, walker.last(), old.dentry->inode());
    NotifyInode(inode, IN_ATTRIB);  // the link count changed
    NotifyChild(dir.inode(), IN_CREATE, walker.last());
    return {};
}

Result<void> Vfs::Unlink(const FsCaller& caller, const VfsPath& root, const VfsPath& start, std::string_view path) {
    if (path.size() >= kPathMax)
        return Error(ENAMETOOLONG);
    std::lock_guard lock(m_rename_lock);
    PathWalker walker(m_mounts, caller, root);
    TRY(walker.WalkParent(start, path));
    if (walker.last_type() != PathWalker::LastType::Normal)
        return Error(EISDIR);
    const VfsPath& dir = walker.dir();
    if (dir.mount->read_only())
        return Error(EROFS);
    auto victim = TRY(walker.Child(dir, walker.last()));
    if (walker.trailing_slash())
        return Error(victim->ino().is_dir() ? EISDIR : ENOTDIR);
    TRY(MayDelete(caller, dir, *victim, false));
    if (victim->mounted())
        return Error(EBUSY);
    TRY(dir.inode().Unlink(caller, walker.last()));
    Forget(dir, walker.last(), *victim);
    NotifyInode(victim->ino(), IN_ATTRIB);
    if (victim->ino().CachedAttr().nlink == 0)
        NotifyRemoved(victim->ino());
    NotifyChild(dir.inode(), IN_DELETE, walker.last());
    return {};
}

Result<void> Vfs::Rmdir(const FsCaller& caller, const VfsPath& root, const VfsPath& start, std::string_view path) {
    if (path.size() >= kPathMax)
        return Error(ENAMETOOLONG);
    std::lock_guard lock(m_rename_lock);
    PathWalker walker(m_mounts, caller, root);
    TRY(walker.WalkParent(start, path));
    switch (walker.last_type()) {
    case PathWalker::LastType::DotDot: return Error(ENOTEMPTY);
    case PathWalker::LastType::Dot: return Error(EINVAL);
    case PathWalker::LastType::Root:
    case PathWalker::LastType::Bind: return Error(EBUSY);  // Bind: never after WalkParent
    case PathWalker::LastType::Normal: break;
    }
    const VfsPath& dir = walker.dir();
    if (dir.mount->read_only())
        return Error(EROFS);
    auto victim = TRY(walker.Child(dir, walker.last()));
    TRY(MayDelete(caller, dir, *victim, true));
    if (victim->mounted())
        return Error(EBUSY);
    TRY(dir.inode().Rmdir(caller, walker.last()));
    Forget(dir, walker.last(), *victim);
    NotifyRemoved(victim->ino());
    NotifyChild(dir.inode(), IN_DELETE | IN_ISDIR, walker.last());
    return {};
}

Result<void> Vfs::Rename(const FsCaller& caller, const VfsPath& root, const VfsPath& old_start,
                         std::string_view old_path, const VfsPath& new_start, std::string_view new_path,
                         unsigned flags) {
    if (flags & ~(kRenameNoReplace | kRenameExchange | kRenameWhiteout))
        return Error(EINVAL);
    if ((flags & kRenameNoReplace) && (flags & kRenameExchange))
        return Error(EINVAL);
    if ((flags & kRenameWhiteout) && (flags & kRenameExchange))
        return Error(EINVAL);
    if (flags & kRenameWhiteout)
        return Error(Capable(caller, CAP_MKNOD) ? EINVAL : EPERM);  // no filesystem here makes whiteouts on request
    if (old_path.size() >= kPathMax || new_path.size() >= kPathMax)
        return Error(ENAMETOOLONG);

    std::lock_guard lock(m_rename_lock);
    PathWalker ow(m_mounts, caller, root);
    PathWalker nw(m_mounts, caller, root);
    TRY(ow.WalkParent(old_start, old_path));
    TRY(nw.WalkParent(new_start, new_path));
    const VfsPath& old_dir = ow.dir();
    const VfsPath& new_dir = nw.dir();
    if (old_dir.mount != new_dir.mount)
        return Error(EXDEV);
    if (ow.last_type() != PathWalker::LastType::Normal)
        return Error(EBUSY);
    if (nw.last_type() != PathWalker::LastType::Normal)
        return Error((flags & kRenameNoReplace) ? EEXIST : EBUSY);
    if (old_dir.mount->read_only())
        return Error(EROFS);

    auto old_d = TRY(ow.Child(old_dir, ow.last()));
    auto new_d = TRY(OptionalChild(nw, new_dir, nw.last()));
    if ((flags & kRenameNoReplace) && new_d)
        return Error(EEXIST);
    if ((flags & kRenameExchange) && !new_d)
        return Error(ENOENT);
    const bool is_dir = old_d->ino().is_dir();
    if (!is_dir && (ow.trailing_slash() || (!(flags & kRenameExchange) && nw.trailing_slash())))
        return Error(ENOTDIR);
    // The source may not be an ancestor of the target, nor the target of the source.
    if (IsAncestor(old_d.get(), new_dir.dentry))
        return Error(EINVAL);
    if (new_d && IsAncestor(new_d.get(), old_dir.dentry))
        return Error((flags & kRenameExchange) ? EINVAL : ENOTEMPTY);
    // vfs_rename
    if (new_d && new_d->inode() == old_d->inode())
        return {};
    TRY(MayDelete(caller, old_dir, *old_d, is_dir));
    const bool new_is_dir = new_d && new_d->ino().is_dir();
    if (!new_d)
        TRY(MayCreate(caller, new_dir));
    else
        TRY(MayDelete(caller, new_dir, *new_d, (flags & kRenameExchange) ? new_is_dir : is_dir));
    if (new_dir.dentry != old_dir.dentry) {
        // Moving a directory rewrites its "..".
        if (is_dir && !(flags & kRenameExchange))
            TRY(CheckPermission(caller.creds, old_d->ino().CachedAttr(), kMayWrite));
        else if (new_is_dir && (flags & kRenameExchange))
            TRY(CheckPermission(caller.creds, new_d->ino().CachedAttr(), kMayWrite));
    }
    if (old_d->mounted() || (new_d && new_d->mounted()))
        return Error(EBUSY);

    TRY(old_dir.inode().Rename(caller, ow.last(), new_dir.inode(), nw.last(), flags));

    const std::string old_name = ow.last();
    const std::string new_name = nw.last();
    old_dir.dentry->ForgetChild(old_name, old_d.get());
    if (new_d) {
        new_dir.dentry->ForgetChild(new_name, new_d.get());
        if (flags & kRenameExchange) {
            new_d->MoveTo(old_dir.dentry, old_name);
            old_dir.dentry->ReplaceChild(new_d);
        } else {
            new_d->MarkDead();
        }
    }
    old_d->MoveTo(new_dir.dentry, new_name);
    new_dir.dentry->ReplaceChild(old_d);
    NotifyRename(old_dir, old_name, new_dir, new_name, *old_d, new_d.get(), flags);
    return {};
}

void Vfs::NotifyRename(const VfsPath& old_dir, const std::string& old_name, const VfsPath& new_dir,
                       const std::string& new_name, Dentry& moved, Dentry* replaced, unsigned flags) {
    // fsnotify_move: MOVED_FROM/MOVED_TO sharing a cookie, ATTRIB on a replaced target, then
    // MOVE_SELF; an exchange moves both ways.
    auto move = [&](const VfsPath& from, const std::string& from_name, const VfsPath& to,
                    const std::string& to_name, Dentry& d, Dentry* target) {
        uint32_t isdir = d.ino().is_dir() ? IN_ISDIR : 0;
        uint32_t cookie = m_next_cookie.fetch_add(1, std::memory_order_relaxed);
        NotifyChild(from.inode(), IN_MOVED_FROM | isdir, from_name, cookie);
        NotifyChild(to.inode(), IN_MOVED_TO | isdir, to_name, cookie);
        if (target)
            NotifyInode(target->ino(), IN_ATTRIB);
        NotifyInode(d.ino(), IN_MOVE_SELF);
    };
    bool exchange = (flags & kRenameExchange) != 0;
    if (exchange && replaced)
        move(new_dir, new_name, old_dir, old_name, *replaced, nullptr);
    move(old_dir, old_name, new_dir, new_name, moved, exchange ? nullptr : replaced);
    if (!exchange && replaced && replaced->ino().CachedAttr().nlink == 0)
        NotifyRemoved(replaced->ino());
}

Result<VfsPath> Vfs::CreateForOpen(PathWalker& walker, uint32_t mode) {
    const FsCaller& caller = walker.caller();
    const VfsPath& dir = walker.dir();
    NewInode n = NewInodeIn(caller, dir.inode().CachedAttr(), S_IFREG | (mode & 07777));
    auto inode = TRY(dir.inode().Create(caller, walker.last(), n));
    auto child = Dentry::CreateChild(dir.dentry, walker.last(), std::move(inode));
    if (dir.mount->filesystem().cache_dentries()) {
        dir.dentry->ReplaceChild(child);
        dir.mount->filesystem().dentry_cache().Touch(child);
    }
    NotifyChild(dir.inode(), IN_CREATE, walker.last());
    return VfsPath{dir.mount, std::move(child)};
}

Result<std::shared_ptr<File>> Vfs::OpenTmpFile(const FsCaller& caller, const VfsPath& dir, int flags, uint32_t mode) {
    if (dir.mount->read_only())
        return Error(EROFS);
    TRY(MayCreate(caller, dir));
    NewInode n = NewInodeIn(caller, dir.inode().CachedAttr(), S_IFREG | (mode & 07777));
    auto inode = TRY(dir.inode().CreateTmpFile(caller, n));
    // An unnamed file: a dead dentry in `dir`, named as Linux's d_tmpfile names it.
    std::string name = "#" + std::to_string(inode->CachedAttr().ino);
    auto child = Dentry::CreateChild(dir.dentry, std::move(name), std::move(inode));
    child->MarkDead();
    return OpenChecked(caller, VfsPath{dir.mount, std::move(child)}, flags & ~O_DIRECTORY, /*created=*/true);
}

}  // namespace moat::fs
