// HostInode: attribute changes (chmod, chown, truncate, utimes) and extended attributes.
// chmod/chown/utimes act on the inode's own O_PATH fd (AT_EMPTY_PATH, never following a
// symlink); truncate and xattrs need a real fd, reopened by (parent fd, name) with O_NOFOLLOW
// and checked to be this very file (ReopenByOrigin), or "." of a directory's own fd.

#include "fs/host/filesystem.h"

#include <fcntl.h>

namespace moat::fs {

Result<UniqueFd> HostInode::OpenForMetadata() {
    if (is_dir())
        return host_fs().io().OpenAt(m_fd.get(), ".", O_RDONLY | O_DIRECTORY);
    if (is_regular())
        return ReopenByOrigin(O_RDONLY | O_NONBLOCK);
    // Symlinks, FIFOs, sockets and devices are never opened on the host.
    return Error(EOPNOTSUPP);
}

Result<void> HostInode::Resize(uint64_t size) {
    auto fd = TRY(DataFd(nullptr, /*write=*/true));
    TRY(host_fs().io().Truncate(fd->get(), size));
    if (auto cache = ExistingPageCache())
        cache->Resize(size);
    RefreshAttr();
    return {};
}

void HostInode::NoteWrite(const uint8_t* data, size_t len, uint64_t offset) {
    if (auto cache = ExistingPageCache())
        cache->WroteAt(data, len, offset);
    struct timespec now = FsNow();
    std::lock_guard lock(m_lock);
    m_attr.size = std::max<int64_t>(m_attr.size, static_cast<int64_t>(offset + len));
    m_attr.mtime = now;
    m_attr.ctime = now;
}

Result<void> HostInode::SetAttr(const FsCaller&, const SetAttrRequest& req) {
    HostIo& io = host_fs().io();
    if (req.mask & SetAttrRequest::kSize) {
        if (!is_regular())
            return Error(is_dir() ? EISDIR : EINVAL);
        if (req.size < 0)
            return Error(EINVAL);
        std::lock_guard lock(m_write_lock);
        TRY(Resize(static_cast<uint64_t>(req.size)));
    }
    // Owner before mode: a host chown clears S_ISUID/S_ISGID, an explicit mode sets them.
    if (req.mask & (SetAttrRequest::kUid | SetAttrRequest::kGid)) {
        uint32_t uid = (req.mask & SetAttrRequest::kUid) ? req.uid : static_cast<uint32_t>(-1);
        uint32_t gid = (req.mask & SetAttrRequest::kGid) ? req.gid : static_cast<uint32_t>(-1);
        TRY(io.Chown(m_fd.get(), uid, gid));
    }
    if (req.mask & SetAttrRequest::kMode) {
        auto r = io.Chmod(m_fd.get(), req.mode & 07777);
        if (!r.ok() && r.error() == EBADF) {
            // A kernel without fchmodat2 (before 6.6) cannot chmod an O_PATH fd.
            UniqueFd fd = TRY(OpenForMetadata());
            r = io.Chmod(fd.get(), req.mode & 07777);
        }
        TRY(std::move(r));
    }
    if (req.mask & (SetAttrRequest::kAtime | SetAttrRequest::kMtime)) {
        struct timespec times[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
        if (req.mask & SetAttrRequest::kAtime)
            times[0] = req.atime;
        if (req.mask & SetAttrRequest::kMtime)
            times[1] = req.mtime;
        TRY(io.SetTimes(m_fd.get(), times));
    }
    RefreshAttr();
    return {};
}

Result<std::string> HostInode::GetXattr(const FsCaller&, const std::string& name) {
    UniqueFd fd = TRY(OpenForMetadata());
    return host_fs().io().GetXattr(fd.get(), name);
}

Result<void> HostInode::SetXattr(const FsCaller&, const std::string& name, const std::string& value, int flags) {
    UniqueFd fd = TRY(OpenForMetadata());
    TRY(host_fs().io().SetXattr(fd.get(), name, value, flags));
    RefreshAttr();
    return {};
}

Result<std::vector<std::string>> HostInode::ListXattr(const FsCaller&) {
    UniqueFd fd = TRY(OpenForMetadata());
    return host_fs().io().ListXattr(fd.get());
}

Result<void> HostInode::RemoveXattr(const FsCaller&, const std::string& name) {
    UniqueFd fd = TRY(OpenForMetadata());
    TRY(host_fs().io().RemoveXattr(fd.get(), name));
    RefreshAttr();
    return {};
}

}  // namespace moat::fs
