// OverlayInode's directory operations: every change lands in the upper layer (after the
// directory's copy-up); removing a name the lower layer has leaves a whiteout.

#include "fs/overlay/inode.h"

namespace moat::fs {

namespace {
Result<void> MakeWhiteout(Inode& upper_dir, const std::string& name) {
    NewInode attr{S_IFCHR, 0, 0, 0};
    TRY(upper_dir.Create(FsCaller{}, name, attr));
    return {};
}

Result<void> MarkOpaque(Inode& upper_dir) { return upper_dir.SetXattr(FsCaller{}, kOverlayOpaqueXattr, "y", 0); }
}  // namespace

std::shared_ptr<Inode> OverlayInode::Adopt(std::shared_ptr<Inode> upper, bool opaque) {
    auto fs = std::static_pointer_cast<OverlayFileSystem>(overlay().shared_from_this());
    uint32_t type = upper->type();
    auto made = std::make_shared<OverlayInode>(fs, type, nullptr, std::string(), nullptr, std::move(upper), opaque, 0);
    return fs->Register(made);
}

void OverlayInode::MarkUnlinked() {
    std::lock_guard lock(m_lock);
    m_unlinked = true;
}

Result<bool> OverlayInode::ClearWhiteout(const FsCaller&, const std::string& name) {
    auto up = upper();
    auto child = UpperChild(FsCaller{}, name);
    if (!up || !child || !IsWhiteout(*child))
        return false;
    TRY(up->Unlink(FsCaller{}, name));
    return true;
}

Result<void> OverlayInode::ClearWhiteouts(const FsCaller&) {
    auto up = upper();
    if (!up)
        return {};
    for (auto& e : TRY(up->ReadDir(FsCaller{}))) {
        auto child = up->Lookup(FsCaller{}, e.name);
        if (child.ok() && IsWhiteout(**child))
            TRY(up->Unlink(FsCaller{}, e.name));
    }
    return {};
}

Result<std::shared_ptr<Inode>> OverlayInode::Create(const FsCaller& caller, const std::string& name,
                                                    const NewInode& attr) {
    auto up = TRY(CopyUp());
    bool had_whiteout = TRY(ClearWhiteout(caller, name));
    auto child = up->Create(caller, name, attr);
    if (!child.ok()) {
        if (had_whiteout)
            (void)MakeWhiteout(*up, name);
        return Error(child.error());
    }
    return Adopt(*child, false);
}

Result<std::shared_ptr<Inode>> OverlayInode::Mkdir(const FsCaller& caller, const std::string& name,
                                                   const NewInode& attr) {
    auto up = TRY(CopyUp());
    bool had_whiteout = TRY(ClearWhiteout(caller, name));
    auto child = up->Mkdir(caller, name, attr);
    if (child.ok() && had_whiteout) {
        // Over a removed lower directory: the new one must not show the old entries.
        if (auto marked = MarkOpaque(**child); !marked.ok()) {
            (void)up->Rmdir(FsCaller{}, name);
            child = Error(marked.error());
        }
    }
    if (!child.ok()) {
        if (had_whiteout)
            (void)MakeWhiteout(*up, name);
        return Error(child.error());
    }
    return Adopt(*child, had_whiteout);
}

Result<std::shared_ptr<Inode>> OverlayInode::Symlink(const FsCaller& caller, const std::string& name,
                                                     const std::string& target, const NewInode& attr) {
    auto up = TRY(CopyUp());
    bool had_whiteout = TRY(ClearWhiteout(caller, name));
    auto child = up->Symlink(caller, name, target, attr);
    if (!child.ok()) {
        if (had_whiteout)
            (void)MakeWhiteout(*up, name);
        return Error(child.error());
    }
    return Adopt(*child, false);
}

Result<std::shared_ptr<Inode>> OverlayInode::CreateTmpFile(const FsCaller& caller, const NewInode& attr) {
    auto up = TRY(CopyUp());
    return Adopt(TRY(up->CreateTmpFile(caller, attr)), false);
}

Result<void> OverlayInode::Link(const FsCaller& caller, const std::string& name, Inode& target) {
    auto* source = dynamic_cast<OverlayInode*>(&target);
    if (!source || &source->filesystem() != &filesystem())
        return Error(EXDEV);
    if (source->is_dir())
        return Error(EPERM);
    auto source_up = TRY(source->CopyUp());
    auto up = TRY(CopyUp());
    bool had_whiteout = TRY(ClearWhiteout(caller, name));
    auto linked = up->Link(caller, name, *source_up);
    if (!linked.ok() && had_whiteout)
        (void)MakeWhiteout(*up, name);
    return linked;
}

Result<void> OverlayInode::Unlink(const FsCaller& caller, const std::string& name) {
    return RemoveName(caller, name, /*dir=*/false);
}

Result<void> OverlayInode::Rmdir(const FsCaller& caller, const std::string& name) {
    return RemoveName(caller, name, /*dir=*/true);
}

Result<void> OverlayInode::RemoveName(const FsCaller& caller, const std::string& name, bool dir) {
    auto child = TRY(LookupChild(caller, name));
    if (dir) {
        if (!child->is_dir())
            return Error(ENOTDIR);
        if (!TRY(child->ReadDir(caller)).empty())
            return Error(ENOTEMPTY);  // the merged view
    } else if (child->is_dir()) {
        return Error(EISDIR);
    }
    auto up = TRY(CopyUp());
    bool in_lower = LowerHas(caller, name);
    if (UpperChild(caller, name)) {
        if (dir) {
            TRY(child->ClearWhiteouts(caller));
            TRY(up->Rmdir(caller, name));
        } else {
            TRY(up->Unlink(caller, name));
        }
    }
    child->MarkUnlinked();
    if (in_lower)
        TRY(MakeWhiteout(*up, name));
    return {};
}

Result<void> OverlayInode::Rename(const FsCaller& caller, const std::string& old_name, Inode& new_dir,
                                  const std::string& new_name, unsigned flags) {
    // Linux's overlayfs takes no RENAME_WHITEOUT from the app.
    if (flags & ~(kRenameNoReplace | kRenameExchange))
        return Error(EINVAL);
    bool exchange = (flags & kRenameExchange) != 0;
    auto* to = dynamic_cast<OverlayInode*>(&new_dir);
    if (!to || &to->filesystem() != &filesystem())
        return Error(EXDEV);
    auto src = TRY(LookupChild(caller, old_name));
    std::shared_ptr<OverlayInode> dst;
    if (auto found = to->LookupChild(caller, new_name); found.ok())
        dst = *found;
    else if (found.error() != ENOENT)
        return Error(found.error());
    if (exchange && !dst)
        return Error(ENOENT);
    if (dst && (flags & kRenameNoReplace))
        return Error(EEXIST);
    if (src == dst)
        return {};
    // Without redirect_dir a directory that has lower entries cannot move: EXDEV makes mv copy.
    if ((src->is_dir() && src->lower()) || (exchange && dst->is_dir() && dst->lower()))
        return Error(EXDEV);
    bool replaces_dir = dst && !exchange && dst->is_dir();
    if (replaces_dir && !TRY(dst->ReadDir(caller)).empty())
        return Error(ENOTEMPTY);

    auto src_up = TRY(src->CopyUp());
    std::shared_ptr<Inode> dst_up;
    if (exchange)
        dst_up = TRY(dst->CopyUp());
    auto old_up = TRY(CopyUp());
    auto new_up = TRY(to->CopyUp());
    if (replaces_dir)
        TRY(dst->ClearWhiteouts(caller));
    TRY(to->ClearWhiteout(caller, new_name));  // a hidden name is free
    bool whiteout_old = !exchange && LowerHas(caller, old_name);
    // A directory arriving where the lower layer has the name must hide what is below.
    bool opaque_src = src->is_dir() && to->LowerHas(caller, new_name);
    bool opaque_dst = exchange && dst->is_dir() && LowerHas(caller, old_name);
    unsigned upper_flags = (flags & kRenameExchange) | (whiteout_old ? kRenameWhiteout : 0);
    TRY(old_up->Rename(caller, old_name, *new_up, new_name, upper_flags));
    if (opaque_src) {
        TRY(MarkOpaque(*src_up));
        std::lock_guard lock(src->m_lock);
        src->m_opaque = true;
    }
    if (opaque_dst) {
        TRY(MarkOpaque(*dst_up));
        std::lock_guard lock(dst->m_lock);
        dst->m_opaque = true;
    }
    if (dst && !exchange)
        dst->MarkUnlinked();
    return {};
}

}  // namespace moat::fs
