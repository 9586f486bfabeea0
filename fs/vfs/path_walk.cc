#include "fs/vfs/path_walk.h"

#include "fs/vfs/filesystem.h"
#include "fs/vfs/permissions.h"

namespace moat::fs {

Result<VfsPath> PathWalker::Resolve(const VfsPath& start, std::string_view path, unsigned flags) {
    TRY(WalkParent(start, path));
    for (;;) {
        VfsPath p = TRY(LookupLast());
        if (p.inode().is_symlink() && m_last_type != LastType::Bind && ((flags & kWalkFollow) || m_trailing)) {
            TRY(FollowLast(p));
            continue;
        }
        if (((flags & kWalkDirectory) || m_trailing) && !p.inode().is_dir())
            return Error(ENOTDIR);
        return p;
    }
}

Result<void> PathWalker::WalkParent(const VfsPath& start, std::string_view path) {
    m_dir = start;
    m_stack.clear();
    m_trailing = false;
    m_links = 0;
    if (path.empty())
        return Error(ENOENT);
    return WalkComponents(path);
}

Result<void> PathWalker::FollowLast(const VfsPath& link) {
    if (link.inode().is_magic_link()) {
        m_bind = TRY(JumpCounted(link));
        m_last_type = LastType::Bind;
        m_last.clear();
        return {};
    }
    std::string target = TRY(ReadLinkCounted(link));
    // A relative target is resolved in the directory holding the link: m_dir already.
    return WalkComponents(target);
}

Result<std::string> PathWalker::ReadLinkCounted(const VfsPath& link) {
    if (m_resolve & kResolveNoSymlinks)
        return Error(ELOOP);
    if (m_links++ >= kMaxSymlinks)
        return Error(ELOOP);
    std::string target = TRY(link.inode().ReadLink(m_caller));
    if (target.empty())
        return Error(ENOENT);
    return target;
}

Result<VfsPath> PathWalker::JumpCounted(const VfsPath& link) {
    if (m_resolve & (kResolveNoSymlinks | kResolveNoMagicLinks))
        return Error(ELOOP);
    // Linux's nd_jump_link: a scoped walk may not jump anywhere.
    if (m_resolve & (kResolveBeneath | kResolveInRoot))
        return Error(EXDEV);
    if (m_links++ >= kMaxSymlinks)
        return Error(ELOOP);
    VfsPath target = TRY(link.inode().MagicLinkTarget(m_caller, link));
    if ((m_resolve & kResolveNoXdev) && target.mount != link.mount)
        return Error(EXDEV);
    return target;
}

void PathWalker::PushComponents(std::string_view path) {
    // Pushed in reverse so the first component is on top.
    size_t end = path.size();
    while (end > 0) {
        while (end > 0 && path[end - 1] == '/')
            --end;
        if (end == 0)
            break;
        size_t begin = end;
        while (begin > 0 && path[begin - 1] != '/')
            --begin;
        m_stack.emplace_back(path.substr(begin, end - begin));
        end = begin;
    }
}

Result<void> PathWalker::WalkComponents(std::string_view path) {
    if (path.empty())
        return Error(ENOENT);
    if (path.front() == '/') {
        if (m_resolve & kResolveBeneath)
            return Error(EXDEV);
        if ((m_resolve & kResolveNoXdev) && m_dir.mount != m_root.mount)
            return Error(EXDEV);
        m_dir = m_root;
    }
    size_t before = m_stack.size();
    PushComponents(path);
    if (m_stack.size() > before && path.back() == '/')
        m_trailing = true;
    return Drain();
}

Result<void> PathWalker::MayLookup(const VfsPath& dir) const {
    if (!dir.inode().is_dir())
        return Error(ENOTDIR);
    return CheckPermission(m_caller.creds, dir.inode().CachedAttr(), kMayExec);
}

Result<void> PathWalker::Drain() {
    while (m_stack.size() > 1) {
        std::string name = std::move(m_stack.back());
        m_stack.pop_back();
        TRY(MayLookup(m_dir));
        VfsPath next;
        if (name == ".")
            next = m_dir;
        else if (name == "..")
            next = DotDot(m_dir);
        else
            next = TRY(Step(m_dir, name));
        if (m_violation)
            return Error(m_violation);
        if (next.inode().is_symlink() && next.inode().is_magic_link()) {
            next = TRY(JumpCounted(next));
            if (!next.inode().is_dir())
                return Error(ENOTDIR);
            m_dir = std::move(next);
            continue;
        }
        if (next.inode().is_symlink()) {
            std::string target = TRY(ReadLinkCounted(next));
            if (target.front() == '/') {
                if (m_resolve & kResolveBeneath)
                    return Error(EXDEV);
                if ((m_resolve & kResolveNoXdev) && m_dir.mount != m_root.mount)
                    return Error(EXDEV);
                m_dir = m_root;
            }
            PushComponents(target);
            continue;
        }
        if (!next.inode().is_dir())
            return Error(ENOTDIR);
        m_dir = std::move(next);
    }
    if (m_stack.empty()) {
        m_last.clear();
        m_last_type = LastType::Root;
        return {};
    }
    m_last = std::move(m_stack.back());
    m_stack.pop_back();
    if (m_last == ".")
        m_last_type = LastType::Dot;
    else if (m_last == "..")
        m_last_type = LastType::DotDot;
    else
        m_last_type = LastType::Normal;
    return MayLookup(m_dir);
}

Result<VfsPath> PathWalker::LookupLast() {
    VfsPath p;
    switch (m_last_type) {
    case LastType::Root:
    case LastType::Dot: return m_dir;
    case LastType::Bind: return m_bind;
    case LastType::DotDot: p = DotDot(m_dir); break;
    case LastType::Normal: p = TRY(Step(m_dir, m_last)); break;
    }
    if (m_violation)
        return Error(m_violation);
    return p;
}

Result<std::optional<VfsPath>> PathWalker::LookupLastOptional() {
    auto r = LookupLast();
    if (!r.ok()) {
        if (r.error() == ENOENT)
            return std::optional<VfsPath>();
        return Error(r.error());
    }
    return std::optional<VfsPath>(r.release_value());
}

Result<VfsPath> PathWalker::Step(const VfsPath& dir, const std::string& name) {
    auto child = TRY(Child(dir, name));
    return CrossMounts(VfsPath{dir.mount, std::move(child)});
}

Result<std::shared_ptr<Dentry>> PathWalker::Child(const VfsPath& dir, const std::string& name) {
    if (name.size() > kNameMax)
        return Error(ENAMETOOLONG);
    FileSystem& fs = dir.mount->filesystem();
    std::shared_ptr<Dentry> child;
    if (fs.cache_dentries())
        child = dir.dentry->CachedChild(name);
    if (!child) {
        auto inode = TRY(dir.inode().Lookup(m_caller, name));
        child = Dentry::CreateChild(dir.dentry, name, std::move(inode));
        if (fs.cache_dentries())
            child = dir.dentry->CacheChild(std::move(child));
    }
    if (fs.cache_dentries())
        fs.dentry_cache().Touch(child);
    return child;
}

VfsPath PathWalker::DotDot(VfsPath p) const {
    for (;;) {
        if (p == m_root) {
            if (m_resolve & kResolveBeneath)
                m_violation = EXDEV;  // ".." would leave the start directory
            return p;
        }
        if (!p.is_mount_root())
            break;
        auto parent = p.mount->parent();
        if (!parent)
            return p;  // the top of the mount tree
        if (m_resolve & kResolveNoXdev)
            m_violation = EXDEV;
        p = VfsPath{parent, p.mount->mountpoint()};
    }
    auto up = p.dentry->parent();
    if (!up)
        return p;
    return CrossMounts(VfsPath{p.mount, std::move(up)});
}

VfsPath PathWalker::CrossMounts(VfsPath p) const {
    while (p.dentry->mounted()) {
        auto m = m_mounts.MountedAt(*p.mount, *p.dentry);
        if (!m)
            break;
        if (m_resolve & kResolveNoXdev)
            m_violation = EXDEV;
        p = VfsPath{m, m->root()};
    }
    return p;
}

}  // namespace moat::fs
