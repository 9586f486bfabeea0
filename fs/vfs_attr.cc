// The Vfs's attribute operations: chmod, chown, truncate, utimensat and extended attributes,
// with Linux's rules (fs/attr.c setattr_prepare, fs/open.c, fs/utimes.c, fs/xattr.c): write
// access to the mount first (EROFS), then who may change what (EPERM), then permission
// (EACCES). Privilege is the caller's effective capabilities: CAP_CHOWN, CAP_FOWNER,
// CAP_FSETID, CAP_SYS_ADMIN.

#include "fs/vfs.h"
#include "fs/inotify/notify.h"
#include "fs/vfs/permissions.h"

#include <cstring>

namespace moat::fs {

namespace {

// capable(cap) for the caller; the sentry itself (no creds) holds everything.
bool Capable(const FsCaller& c, int cap) { return !c.creds || c.creds->HasCapability(cap); }
// inode_owner_or_capable: the owner, or CAP_FOWNER.
bool IsOwner(const FsCaller& c, const InodeAttr& a) { return Capable(c, CAP_FOWNER) || c.creds->fsuid == a.uid; }

bool InGroup(const FsCaller& c, uint32_t gid) {
    if (!c.creds || c.creds->fsgid == gid)
        return true;
    for (gid_t g : c.creds->groups)
        if (g == gid)
            return true;
    return false;
}

bool IsTimeSet(const struct timespec& t) { return t.tv_nsec != UTIME_NOW && t.tv_nsec != UTIME_OMIT; }

enum class XattrSpace { User, Trusted, Security, System, Unknown };

XattrSpace SpaceOf(const std::string& name) {
    auto starts = [&](const char* p) { return name.rfind(p, 0) == 0 && name.size() > strlen(p); };
    if (starts("user."))
        return XattrSpace::User;
    if (starts("trusted."))
        return XattrSpace::Trusted;
    if (starts("security."))
        return XattrSpace::Security;
    if (starts("system."))
        return XattrSpace::System;
    return XattrSpace::Unknown;
}

// xattr_permission: `write` for set/remove, else get.
Result<void> XattrPermission(const FsCaller& c, Inode& inode, const std::string& name, bool write) {
    switch (SpaceOf(name)) {
    case XattrSpace::Unknown:
    case XattrSpace::System: return Error(EOPNOTSUPP);  // no POSIX ACLs here
    case XattrSpace::Trusted:
        if (!Capable(c, CAP_SYS_ADMIN))
            return Error(write ? EPERM : ENODATA);
        return {};
    case XattrSpace::Security:
        if (write && !Capable(c, CAP_SYS_ADMIN))
            return Error(EPERM);
        return {};
    case XattrSpace::User: break;
    }
    InodeAttr a = inode.CachedAttr();
    if (!S_ISREG(a.mode) && !S_ISDIR(a.mode))
        return Error(write ? EPERM : ENODATA);
    if (write && S_ISDIR(a.mode) && (a.mode & S_ISVTX) && !IsOwner(c, a))
        return Error(EPERM);
    return CheckPermission(c.creds, a, write ? kMayWrite : kMayRead);
}

}  // namespace

Result<void> Vfs::Chmod(const FsCaller& caller, const VfsPath& target, uint32_t mode) {
    if (target.mount->read_only())
        return Error(EROFS);
    Inode& inode = target.inode();
    InodeAttr a = inode.CachedAttr();
    if (!IsOwner(caller, a))
        return Error(EPERM);
    SetAttrRequest req;
    req.mask = SetAttrRequest::kMode;
    req.mode = mode & 07777;
    // Without CAP_FSETID, a set-group-ID bit for a group the caller is not in is dropped.
    if (!Capable(caller, CAP_FSETID) && !InGroup(caller, a.gid))
        req.mode &= ~S_ISGID;
    TRY(inode.SetAttr(caller, req));
    NotifyPath(target, IN_ATTRIB);
    return {};
}

Result<void> Vfs::Chown(const FsCaller& caller, const VfsPath& target, uint32_t uid, uint32_t gid) {
    if (target.mount->read_only())
        return Error(EROFS);
    Inode& inode = target.inode();
    InodeAttr a = inode.CachedAttr();
    SetAttrRequest req;
    if (uid != static_cast<uint32_t>(-1)) {
        if (!Capable(caller, CAP_CHOWN) && (caller.creds->fsuid != a.uid || uid != a.uid))
            return Error(EPERM);
        req.mask |= SetAttrRequest::kUid;
        req.uid = uid;
    }
    if (gid != static_cast<uint32_t>(-1)) {
        if (!Capable(caller, CAP_CHOWN) && (caller.creds->fsuid != a.uid || (!InGroup(caller, gid) && gid != a.gid)))
            return Error(EPERM);
        req.mask |= SetAttrRequest::kGid;
        req.gid = gid;
    }
    // A changed owner drops set-user-ID, and set-group-ID where it means "execute as group".
    if (!S_ISDIR(a.mode)) {
        uint32_t mode = a.mode & 07777;
        uint32_t kept = mode & ~S_ISUID;
        if ((kept & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
            kept &= ~S_ISGID;
        if (kept != mode) {
            req.mask |= SetAttrRequest::kMode;
            req.mode = kept;
        }
    }
    if (req.mask == 0)
        return {};
    TRY(inode.SetAttr(caller, req));
    NotifyPath(target, IN_ATTRIB);
    return {};
}

Result<void> Vfs::Truncate(const FsCaller& caller, const VfsPath& target, int64_t size, bool by_fd) {
    Inode& inode = target.inode();
    if (!by_fd) {
        if (inode.is_dir())
            return Error(EISDIR);
        if (!inode.is_regular())
            return Error(EINVAL);
        if (target.mount->read_only())
            return Error(EROFS);
        TRY(CheckPermission(caller.creds, inode.CachedAttr(), kMayWrite));
    } else if (!inode.is_regular()) {
        return Error(EINVAL);
    }
    SetAttrRequest req;
    req.mask = SetAttrRequest::kSize | SetAttrRequest::kMtime;
    req.size = size;
    req.mtime = FsNow();
    TRY(inode.SetAttr(caller, req));
    NotifyPath(target, IN_MODIFY);
    return {};
}

Result<void> Vfs::Utimes(const FsCaller& caller, const VfsPath& target, const struct timespec* times) {
    if (times && times[0].tv_nsec == UTIME_NOW && times[1].tv_nsec == UTIME_NOW)
        times = nullptr;
    if (target.mount->read_only())
        return Error(EROFS);
    Inode& inode = target.inode();
    InodeAttr a = inode.CachedAttr();
    const bool explicit_time = times && (IsTimeSet(times[0]) || IsTimeSet(times[1]));
    if (explicit_time) {
        if (!IsOwner(caller, a))
            return Error(EPERM);
    } else if (!IsOwner(caller, a)) {
        TRY(CheckPermission(caller.creds, a, kMayWrite));
    }
    const struct timespec now = FsNow();
    SetAttrRequest req;
    if (!times || times[0].tv_nsec != UTIME_OMIT) {
        req.mask |= SetAttrRequest::kAtime;
        req.atime = (times && IsTimeSet(times[0])) ? times[0] : now;
    }
    if (!times || times[1].tv_nsec != UTIME_OMIT) {
        req.mask |= SetAttrRequest::kMtime;
        req.mtime = (times && IsTimeSet(times[1])) ? times[1] : now;
    }
    // Both UTIME_OMIT still updates ctime in Linux only when something changes: nothing to do.
    if (req.mask == 0)
        return {};
    TRY(inode.SetAttr(caller, req));
    NotifyPath(target, IN_ATTRIB);
    return {};
}

Result<std::string> Vfs::GetXattr(const FsCaller& caller, const VfsPath& target, const std::string& name) {
    TRY(XattrPermission(caller, target.inode(), name, false));
    return target.inode().GetXattr(caller, name);
}

Result<void> Vfs::SetXattr(const FsCaller& caller, const VfsPath& target, const std::string& name,
                           const std::string& value, int flags) {
    if (target.mount->read_only())
        return Error(EROFS);
    TRY(XattrPermission(caller, target.inode(), name, true));
    TRY(target.inode().SetXattr(caller, name, value, flags));
    NotifyPath(target, IN_ATTRIB);
    return {};
}

Result<std::vector<std::string>> Vfs::ListXattr(const FsCaller& caller, const VfsPath& target) {
    auto names = target.inode().ListXattr(caller);
    if (!names.ok()) {
        // A filesystem without xattrs lists none (Linux's listxattr returns 0 there).
        if (names.error() == EOPNOTSUPP)
            return std::vector<std::string>();
        return Error(names.error());
    }
    std::vector<std::string> out;
    for (auto& n : *names)
        if (SpaceOf(n) != XattrSpace::Trusted || Capable(caller, CAP_SYS_ADMIN))
            out.push_back(std::move(n));
    return out;
}

Result<void> Vfs::RemoveXattr(const FsCaller& caller, const VfsPath& target, const std::string& name) {
    if (target.mount->read_only())
        return Error(EROFS);
    TRY(XattrPermission(caller, target.inode(), name, true));
    TRY(target.inode().RemoveXattr(caller, name));
    NotifyPath(target, IN_ATTRIB);
    return {};
}

}  // namespace moat::fs
