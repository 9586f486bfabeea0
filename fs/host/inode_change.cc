// HostInode: the directory operations of a writable host mount. Each host call names ONE
// component relative to this directory's own O_PATH fd and never follows a symlink (see
// host_io.h and fs/README.md "Host access"); the new child is then opened O_PATH|O_NOFOLLOW
// by the same name to become its inode.

#include "fs/host/filesystem.h"

#include <fcntl.h>

namespace moat::fs {

void HostInode::DirChanged() {
    InvalidateListing();
    RefreshAttr();
}

Result<std::shared_ptr<Inode>> HostInode::AdoptChild(UniqueFd fd, const std::string& name, const NewInode& attr) {
    HostIo& io = host_fs().io();
    struct stat st = TRY(io.Fstat(fd.get()));
    // The host applied the sentry's own umask and owner: give the file what the VFS computed
    // (the sandbox's umask and the caller's ids). A host that refuses the owner (the sentry
    // is not privileged there) keeps its own: there is no id mapping to fall back on.
    if (!S_ISLNK(st.st_mode) && (st.st_mode & 07777) != (attr.mode & 07777))
        TRY(io.Chmod(fd.get(), attr.mode & 07777));
    if (st.st_uid != attr.uid || st.st_gid != attr.gid) {
        auto owned = io.Chown(fd.get(), attr.uid, attr.gid);
        if (!owned.ok() && owned.error() != EPERM)
            return Error(owned.error());
    }
    auto child = TRY(host_fs().InodeFor(std::move(fd)));
    child->RefreshAttr();
    child->SetOrigin(std::static_pointer_cast<HostInode>(shared_from_this()), name);
    DirChanged();
    return std::shared_ptr<Inode>(std::move(child));
}

Result<std::shared_ptr<Inode>> HostInode::Create(const FsCaller&, const std::string& name, const NewInode& attr) {
    HostIo& io = host_fs().io();
    switch (attr.mode & S_IFMT) {
    case S_IFREG: {
        UniqueFd data = TRY(io.CreateFile(m_fd.get(), name, attr.mode));
        UniqueFd fd = TRY(io.OpenAt(m_fd.get(), name, O_PATH));
        struct stat a = TRY(io.Fstat(data.get()));
        struct stat b = TRY(io.Fstat(fd.get()));
        if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
            return Error(ENOENT);  // replaced on the host in between
        return AdoptChild(std::move(fd), name, attr);
    }
    case S_IFIFO:
    case S_IFSOCK:
        TRY(io.MknodSpecial(m_fd.get(), name, attr.mode));
        return AdoptChild(TRY(io.OpenAt(m_fd.get(), name, O_PATH)), name, attr);
    default:
        return Error(EPERM);  // device nodes are never made on the host
    }
}

Result<std::shared_ptr<Inode>> HostInode::Mkdir(const FsCaller&, const std::string& name, const NewInode& attr) {
    HostIo& io = host_fs().io();
    TRY(io.Mkdir(m_fd.get(), name, attr.mode));
    return AdoptChild(TRY(io.OpenAt(m_fd.get(), name, O_PATH)), name, attr);
}

Result<std::shared_ptr<Inode>> HostInode::Symlink(const FsCaller&, const std::string& name, const std::string& target,
                                                  const NewInode& attr) {
    HostIo& io = host_fs().io();
    TRY(io.Symlink(target, m_fd.get(), name));
    return AdoptChild(TRY(io.OpenAt(m_fd.get(), name, O_PATH)), name, attr);
}

Result<void> HostInode::Link(const FsCaller&, const std::string& name, Inode& target) {
    auto* host_target = dynamic_cast<HostInode*>(&target);
    if (!host_target || &host_target->host_fs() != &host_fs())
        return Error(EXDEV);
    // linkat(AT_EMPTY_PATH) links the very file we hold, whatever its names are now.
    // FIXME(#fs-host-link): before Linux 6.10 an unprivileged sentry gets ENOENT here.
    TRY(host_fs().io().Link(host_target->fd(), m_fd.get(), name));
    host_target->RefreshAttr();
    {
        // An O_TMPFILE file gets its first name: now it can be reopened by it.
        std::lock_guard lock(host_target->m_lock);
        if (!host_target->m_origin_parent) {
            host_target->m_origin_parent = std::static_pointer_cast<HostInode>(shared_from_this());
            host_target->m_origin_name = name;
        }
    }
    DirChanged();
    return {};
}

Result<std::shared_ptr<Inode>> HostInode::CreateTmpFile(const FsCaller&, const NewInode& attr) {
    HostIo& io = host_fs().io();
    UniqueFd fd = TRY(io.CreateTmpFile(m_fd.get(), attr.mode));
    UniqueFd data = TRY(io.Dup(fd.get()));
    if ((TRY(io.Fstat(fd.get())).st_mode & 07777) != (attr.mode & 07777))
        TRY(io.Chmod(fd.get(), attr.mode & 07777));
    auto owned = io.Chown(fd.get(), attr.uid, attr.gid);
    if (!owned.ok() && owned.error() != EPERM)
        return Error(owned.error());
    auto inode = TRY(host_fs().InodeFor(std::move(fd)));
    inode->SetDataFd(std::move(data));
    inode->RefreshAttr();
    return std::shared_ptr<Inode>(std::move(inode));
}

void HostInode::AfterRemoved(std::pair<uint64_t, uint64_t> removed) {
    auto live = host_fs().LiveInode(removed);
    if (!live)
        return;
    live->RefreshAttr();
    if (live->CachedAttr().nlink == 0)
        host_fs().Detach(live.get());
}

Result<void> HostInode::Unlink(const FsCaller&, const std::string& name) {
    HostIo& io = host_fs().io();
    struct stat st = TRY(io.FstatAt(m_fd.get(), name));
    if (S_ISDIR(st.st_mode))
        return Error(EISDIR);
    TRY(io.Unlink(m_fd.get(), name, /*is_dir=*/false));
    AfterRemoved({st.st_dev, st.st_ino});
    DirChanged();
    return {};
}

Result<void> HostInode::Rmdir(const FsCaller&, const std::string& name) {
    HostIo& io = host_fs().io();
    struct stat st = TRY(io.FstatAt(m_fd.get(), name));
    if (!S_ISDIR(st.st_mode))
        return Error(ENOTDIR);
    TRY(io.Unlink(m_fd.get(), name, /*is_dir=*/true));
    AfterRemoved({st.st_dev, st.st_ino});
    DirChanged();
    return {};
}

Result<void> HostInode::Rename(const FsCaller&, const std::string& old_name, Inode& new_dir,
                               const std::string& new_name, unsigned flags) {
    auto* dst = dynamic_cast<HostInode*>(&new_dir);
    if (!dst || &dst->host_fs() != &host_fs())
        return Error(EXDEV);
    if (flags & kRenameWhiteout)
        return Error(EINVAL);  // a whiteout is a device node: never made on the host
    HostIo& io = host_fs().io();
    struct stat moved = TRY(io.FstatAt(m_fd.get(), old_name));
    auto replaced = io.FstatAt(dst->fd(), new_name);
    TRY(io.Rename(m_fd.get(), old_name, dst->fd(), new_name, flags));

    auto self = std::static_pointer_cast<HostInode>(shared_from_this());
    auto dst_ptr = std::static_pointer_cast<HostInode>(dst->shared_from_this());
    if (auto inode = host_fs().LiveInode({moved.st_dev, moved.st_ino}))
        inode->SetOrigin(dst_ptr, new_name);
    if (replaced.ok() && (replaced->st_dev != moved.st_dev || replaced->st_ino != moved.st_ino)) {
        if (flags & kRenameExchange) {
            if (auto inode = host_fs().LiveInode({replaced->st_dev, replaced->st_ino}))
                inode->SetOrigin(self, old_name);
        } else {
            AfterRemoved({replaced->st_dev, replaced->st_ino});
        }
    }
    DirChanged();
    if (dst != this)
        dst->DirChanged();
    return {};
}

}  // namespace moat::fs
