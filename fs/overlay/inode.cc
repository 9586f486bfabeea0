// OverlayInode: identity, attributes, lookup, readdir, open and xattrs.

#include "fs/overlay/inode.h"

#include "fs/overlay/lower_file.h"

#include <fcntl.h>

#include <charconv>

namespace moat::fs {

namespace {
bool IsPrivateXattr(const std::string& name) { return name.starts_with("trusted.overlay."); }

// The origin number a copied-up upper file carries (0: none).
uint64_t OriginOf(Inode& upper) {
    auto value = upper.GetXattr(FsCaller{}, kOverlayOriginXattr);
    uint64_t ino = 0;
    if (value.ok())
        std::from_chars(value->data(), value->data() + value->size(), ino);
    return ino;
}

bool IsOpaque(Inode& upper) {
    auto value = upper.GetXattr(FsCaller{}, kOverlayOpaqueXattr);
    return value.ok() && *value == "y";
}
}  // namespace

bool IsWhiteout(Inode& inode) {
    if (inode.type() != S_IFCHR)
        return false;
    return inode.CachedAttr().rdev == 0;
}

OverlayInode::OverlayInode(std::shared_ptr<OverlayFileSystem> fs, uint32_t type, std::shared_ptr<OverlayInode> parent,
                           std::string name, std::shared_ptr<Dentry> lower, std::shared_ptr<Inode> upper, bool opaque,
                           uint64_t origin_ino)
    : Inode(std::move(fs), type), m_parent(std::move(parent)), m_name(std::move(name)), m_lower(std::move(lower)),
      m_origin_ino(origin_ino), m_upper(std::move(upper)), m_opaque(opaque) {}

OverlayInode::~OverlayInode() { overlay().Forget(m_lower.get(), m_upper.get(), this); }

std::shared_ptr<Inode> OverlayInode::upper() {
    std::lock_guard lock(m_lock);
    return m_upper;
}

bool OverlayInode::opaque() {
    std::lock_guard lock(m_lock);
    return m_opaque;
}

InodeAttr OverlayInode::Present(InodeAttr attr) {
    attr.dev = overlay().anon_dev();
    attr.ino = m_origin_ino ? m_origin_ino : (attr.ino | kOverlayUpperInoBit);
    // A merged directory's link count is not known (Linux reports 1, as find -noleaf expects).
    if (is_dir() && m_lower && upper() && !opaque())
        attr.nlink = 1;
    return attr;
}

Result<InodeAttr> OverlayInode::Stat() {
    if (auto up = upper())
        return Present(TRY(up->Stat()));
    return Present(TRY(lower()->Stat()));
}

InodeAttr OverlayInode::CachedAttr() {
    if (auto up = upper())
        return Present(up->CachedAttr());
    return Present(lower()->CachedAttr());
}

Result<std::shared_ptr<Dentry>> OverlayInode::LowerChild(const FsCaller& caller, const std::string& name) {
    if (!m_lower || opaque())
        return Error(ENOENT);
    if (auto cached = m_lower->CachedChild(name))
        return cached;
    auto inode = TRY(m_lower->inode()->Lookup(caller, name));
    return m_lower->CacheChild(Dentry::CreateChild(m_lower, name, std::move(inode)));
}

bool OverlayInode::LowerHas(const FsCaller& caller, const std::string& name) {
    return LowerChild(caller, name).ok();
}

std::shared_ptr<Inode> OverlayInode::UpperChild(const FsCaller& caller, const std::string& name) {
    auto up = upper();
    if (!up)
        return nullptr;
    auto child = up->Lookup(caller, name);
    return child.ok() ? *child : nullptr;
}

Result<std::shared_ptr<OverlayInode>> OverlayInode::LookupChild(const FsCaller& caller, const std::string& name) {
    if (!is_dir())
        return Error(ENOTDIR);
    auto self = std::static_pointer_cast<OverlayInode>(shared_from_this());
    auto fs = std::static_pointer_cast<OverlayFileSystem>(overlay().shared_from_this());
    std::shared_ptr<Inode> up = UpperChild(caller, name);
    if (up && IsWhiteout(*up))
        return Error(ENOENT);
    std::shared_ptr<Dentry> low;
    if (!up || up->is_dir()) {
        auto lower_child = LowerChild(caller, name);
        if (lower_child.ok() && (!up || (*lower_child)->inode()->is_dir()))
            low = *lower_child;
        if (!up && !low)
            return Error(ENOENT);
    }
    bool opaque = up && up->is_dir() && IsOpaque(*up);
    if (opaque)
        low = nullptr;
    if (auto live = fs->Find(low.get(), up.get()))
        return live;
    uint64_t origin = low ? low->inode()->CachedAttr().ino : (up ? OriginOf(*up) : 0);
    uint32_t type = up ? up->type() : low->inode()->type();
    // Only a lower-only file needs to know where it would be copied up to.
    auto made = std::make_shared<OverlayInode>(fs, type, up ? nullptr : self, up ? std::string() : name, low, up,
                                               opaque, origin);
    return fs->Register(made);
}

Result<std::shared_ptr<Inode>> OverlayInode::Lookup(const FsCaller& caller, const std::string& name) {
    return std::shared_ptr<Inode>(TRY(LookupChild(caller, name)));
}

Result<std::vector<DirEntry>> OverlayInode::ReadDir(const FsCaller& caller) {
    if (!is_dir())
        return Error(ENOTDIR);
    std::vector<DirEntry> out;
    std::set<std::string> seen;  // upper names, whiteouts included: they hide lower ones
    if (auto up = upper()) {
        for (auto& e : TRY(up->ReadDir(caller))) {
            seen.insert(e.name);
            auto child = up->Lookup(caller, e.name);
            if (!child.ok())
                continue;  // removed meanwhile
            if (IsWhiteout(**child))
                continue;
            // The number stat shows: the lower origin's, or the upper one's moved out of its way.
            uint64_t origin = OriginOf(**child);
            if (!origin && (*child)->is_dir() && !IsOpaque(**child)) {
                if (auto low = LowerChild(caller, e.name); low.ok() && (*low)->inode()->is_dir())
                    origin = (*low)->inode()->CachedAttr().ino;
            }
            e.ino = origin ? origin : (e.ino | kOverlayUpperInoBit);
            out.push_back(std::move(e));
        }
    }
    if (m_lower && !opaque()) {
        for (auto& e : TRY(m_lower->inode()->ReadDir(caller)))
            if (!seen.contains(e.name))
                out.push_back(std::move(e));
    }
    return out;
}

Result<std::string> OverlayInode::ReadLink(const FsCaller& caller) {
    if (!is_symlink())
        return Error(EINVAL);
    if (auto up = upper())
        return up->ReadLink(caller);
    return lower()->ReadLink(caller);
}

Result<std::shared_ptr<File>> OverlayInode::Open(const FsCaller& caller, const VfsPath& path, int flags) {
    bool writes = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
    if (writes && is_regular())
        TRY(CopyUp());
    if (auto up = upper())
        return up->Open(caller, path, flags);
    // A lower file is opened where it lives (its filesystem may need its own dentries, as the
    // host's does), then shown at the overlay's path.
    VfsPath lower_path{overlay().lower_mount(), m_lower};
    auto inner = TRY(m_lower->inode()->Open(caller, lower_path, flags));
    return std::shared_ptr<File>(std::make_shared<OverlayLowerFile>(flags, path, std::move(inner)));
}

Result<void> OverlayInode::SetAttr(const FsCaller& caller, const SetAttrRequest& req) {
    // Truncating to zero needs no data copied first.
    bool with_data = !((req.mask & SetAttrRequest::kSize) && req.size == 0);
    auto up = TRY(CopyUp(with_data));
    return up->SetAttr(caller, req);
}

Result<std::string> OverlayInode::GetXattr(const FsCaller& caller, const std::string& name) {
    if (IsPrivateXattr(name))
        return Error(ENODATA);
    if (auto up = upper())
        return up->GetXattr(caller, name);
    auto value = lower()->GetXattr(caller, name);
    if (!value.ok() && value.error() == EOPNOTSUPP)
        return Error(ENODATA);  // the overlay supports xattrs even where the lower does not
    return value;
}

Result<std::vector<std::string>> OverlayInode::ListXattr(const FsCaller& caller) {
    auto up = upper();
    auto names = up ? up->ListXattr(caller) : lower()->ListXattr(caller);
    if (!names.ok())
        return names.error() == EOPNOTSUPP ? std::vector<std::string>() : names;
    std::erase_if(*names, IsPrivateXattr);
    return names;
}

Result<void> OverlayInode::SetXattr(const FsCaller& caller, const std::string& name, const std::string& value,
                                    int flags) {
    if (IsPrivateXattr(name))
        return Error(EPERM);
    auto up = TRY(CopyUp());
    return up->SetXattr(caller, name, value, flags);
}

Result<void> OverlayInode::RemoveXattr(const FsCaller& caller, const std::string& name) {
    if (IsPrivateXattr(name))
        return Error(EPERM);
    auto up = TRY(CopyUp());
    return up->RemoveXattr(caller, name);
}

}  // namespace moat::fs
