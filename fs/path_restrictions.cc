#include "fs/path_restrictions.h"

#include "fs/vfs/caller.h"
#include "fs/vfs/mount.h"

#include <sys/mount.h>

namespace moat::fs {

namespace {

// The sentry's own walk from the top of the tree: no permission checks (runc runs as root).
Result<VfsPath> ResolveFromTop(Vfs& vfs, const std::string& path) {
    VfsPath root = vfs.root();
    return vfs.Resolve(FsCaller{}, root, root, path, kWalkFollow);
}

// Binds `source` (a sandbox path) onto `path` and returns the new mount's location.
Result<VfsPath> BindOnto(Vfs& vfs, const std::string& source, const VfsPath& target, const std::string& path) {
    VfsPath root = vfs.root();
    TRY(vfs.PerformMount(FsCaller{}, root, root, source, target, "", MS_BIND, ""));
    return ResolveFromTop(vfs, path);
}

}  // namespace

Result<void> MaskPath(Vfs& vfs, const std::string& path) {
    auto target = ResolveFromTop(vfs, path);
    if (!target.ok())
        return target.error() == ENOENT ? Result<void>() : Result<void>(Error(target.error()));
    if (target->inode().is_dir()) {
        // runc: mount("tmpfs", path, "tmpfs", MS_RDONLY), an empty root of tmpfs's default mode.
        TRY(vfs.MountTmpfs(path, 01777, 0, kMountReadOnly));
        return {};
    }
    TRY(BindOnto(vfs, "/dev/null", *target, path));
    return {};
}

Result<void> MakePathReadOnly(Vfs& vfs, const std::string& path) {
    auto target = ResolveFromTop(vfs, path);
    if (!target.ok())
        return target.error() == ENOENT ? Result<void>() : Result<void>(Error(target.error()));
    VfsPath bound = TRY(BindOnto(vfs, path, *target, path));
    bound.mount->set_flags(bound.mount->flags() | kMountReadOnly);
    return {};
}

void MakeRootReadOnly(Vfs& vfs) {
    VfsPath root = vfs.root();
    root.mount->set_flags(root.mount->flags() | kMountReadOnly);
}

}  // namespace moat::fs
