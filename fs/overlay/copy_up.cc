// OverlayInode::CopyUp: a lower file gets its upper copy before its first change.

#include "fs/file.h"
#include "fs/overlay/inode.h"

#include <fcntl.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace moat::fs {

namespace {

constexpr size_t kCopyChunk = 64 * 1024;

bool AllZero(const uint8_t* p, size_t n) {
    return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}

// Copies `size` bytes of `from` into the new upper file `to`, leaving zero chunks as holes.
Result<void> CopyData(Inode& from, const VfsPath& from_path, Inode& to, int64_t size) {
    FsCaller sentry;
    auto in = TRY(from.Open(sentry, from_path, O_RDONLY));
    auto out = TRY(to.Open(sentry, VfsPath{}, O_WRONLY));
    std::unique_ptr<uint8_t[]> buf(new (std::nothrow) uint8_t[kCopyChunk]);
    if (!buf)
        return Error(ENOMEM);
    uint64_t off = 0;
    while (off < static_cast<uint64_t>(size)) {
        size_t want = std::min<uint64_t>(kCopyChunk, static_cast<uint64_t>(size) - off);
        BufferDst dst(std::span<uint8_t>(buf.get(), want));
        size_t got = TRY(in->PRead(dst, off));
        if (got == 0)
            break;  // the lower file shrank
        if (!AllZero(buf.get(), got)) {
            BufferSrc src(std::span<const uint8_t>(buf.get(), got));
            size_t put = TRY(out->PWrite(src, off));
            if (put != got)
                return Error(ENOSPC);
        }
        off += got;
    }
    SetAttrRequest req;  // the size, trailing hole included
    req.mask = SetAttrRequest::kSize;
    req.size = size;
    return to.SetAttr(sentry, req);
}

// Copies the lower file's xattrs (a lower filesystem without them has none to copy).
Result<void> CopyXattrs(Inode& from, Inode& to) {
    FsCaller sentry;
    auto names = from.ListXattr(sentry);
    if (!names.ok())
        return names.error() == EOPNOTSUPP ? Result<void>() : Error(names.error());
    for (auto& name : *names) {
        auto value = from.GetXattr(sentry, name);
        if (value.ok())
            TRY(to.SetXattr(sentry, name, *value, 0));
    }
    return {};
}

}  // namespace

Result<std::shared_ptr<Inode>> OverlayInode::CopyUp(bool with_data) {
    if (auto up = upper())
        return up;
    std::lock_guard lock(overlay().copy_up_lock());
    // This inode and its ancestors without an upper inode, nearest first; copied top down.
    std::vector<OverlayInode*> chain;
    for (OverlayInode* p = this; !p->upper(); p = p->m_parent.get()) {
        if (!p->m_parent)
            return Error(EIO);  // only the root has no parent, and it always has an upper inode
        chain.push_back(p);
    }
    for (auto it = chain.rbegin(); it != chain.rend(); ++it)
        TRY((*it)->CopyUpOne(*it == this ? with_data : true));
    return upper();
}

Result<std::shared_ptr<Inode>> OverlayInode::CopyUpOne(bool with_data) {
    FsCaller sentry;
    std::shared_ptr<Inode> parent_up = m_parent->upper();
    Inode& low = *lower();
    InodeAttr attr = TRY(low.Stat());
    bool unlinked;
    {
        std::lock_guard lock(m_lock);
        unlinked = m_unlinked;
    }
    if (unlinked && !is_regular())
        return Error(ENOENT);
    NewInode n{attr.mode, attr.uid, attr.gid, attr.rdev};
    std::shared_ptr<Inode> up;
    switch (type()) {
    case S_IFDIR: up = TRY(parent_up->Mkdir(sentry, m_name, n)); break;
    case S_IFLNK: up = TRY(parent_up->Symlink(sentry, m_name, TRY(low.ReadLink(sentry)), n)); break;
    case S_IFREG:
        // An open file whose lower name was removed is copied up without a name (O_TMPFILE).
        up = unlinked ? TRY(parent_up->CreateTmpFile(sentry, n)) : TRY(parent_up->Create(sentry, m_name, n));
        break;
    default: up = TRY(parent_up->Create(sentry, m_name, n)); break;
    }
    Result<void> done;
    if (is_regular() && with_data)
        done = CopyData(low, VfsPath{overlay().lower_mount(), m_lower}, *up, attr.size);
    if (done.ok())
        done = CopyXattrs(low, *up);
    if (done.ok())
        done = up->SetXattr(sentry, kOverlayOriginXattr, std::to_string(attr.ino), 0);
    if (done.ok()) {
        SetAttrRequest times;
        times.mask = SetAttrRequest::kAtime | SetAttrRequest::kMtime;
        times.atime = attr.atime;
        times.mtime = attr.mtime;
        done = up->SetAttr(sentry, times);
    }
    if (!done.ok()) {
        if (!unlinked)
            (void)(is_dir() ? parent_up->Rmdir(sentry, m_name) : parent_up->Unlink(sentry, m_name));
        return Error(done.error());
    }
    {
        std::lock_guard lock(m_lock);
        m_upper = up;
    }
    overlay().AddUpper(up.get(), std::static_pointer_cast<OverlayInode>(shared_from_this()));
    return up;
}

}  // namespace moat::fs
