#include "fs/binds.h"

#include <sys/stat.h>

#include "fs/vfs/path_walk.h"

namespace moat::fs {

namespace {
constexpr size_t kBindDentryCacheCapacity = 1024;
}  // namespace

Result<BindSpec> ParseBindSpec(const std::string& arg, bool read_only) {
    BindSpec spec;
    spec.read_only = read_only;
    size_t colon = arg.find(':');
    spec.source = arg.substr(0, colon);
    spec.destination = colon == std::string::npos ? spec.source : arg.substr(colon + 1);
    if (spec.source.empty() || spec.destination.empty())
        return Error(EINVAL);
    return spec;
}

Result<void> MountBind(Vfs& vfs, const BindSpec& spec, BindSide* side) {
    *side = BindSide::Source;
    // Read-only binds are read-only mounts of a writable-capable filesystem: the mount flag is
    // what the VFS checks (EROFS), as for Linux's `mount --bind -o remount,ro`.
    auto fs = TRY(HostFileSystem::Create(HostIo::Direct(), spec.source, /*read_only=*/false,
                                         kBindDentryCacheCapacity));
    vfs.AdoptFileSystem(fs);
    fs->set_memory_file(vfs.memory_file());
    auto root = TRY(fs->TakeRootInode());
    *side = BindSide::Destination;
    VfsPath top = vfs.root();
    VfsPath mountpoint = TRY(vfs.Resolve(FsCaller{}, top, top, spec.destination, kWalkFollow));
    if (root->is_dir() != mountpoint.inode().is_dir())
        return Error(root->is_dir() ? ENOTDIR : EISDIR);
    if (!root->is_dir() && !mountpoint.inode().is_regular())
        return Error(EINVAL);  // a file is bound onto a regular file only
    int flags = kMountNoDev | (spec.read_only ? kMountReadOnly : 0);
    vfs.mount_table().Add(mountpoint, fs, Dentry::CreateRoot(std::move(root)), flags);
    return {};
}

Result<void> EnsureMountPoint(Vfs& vfs, const std::string& path, bool is_dir) {
    if (path.empty() || path[0] != '/')
        return Error(EINVAL);
    VfsPath top = vfs.root();
    std::string prefix;
    size_t at = 1;
    while (at <= path.size()) {
        size_t slash = path.find('/', at);
        if (slash == std::string::npos)
            slash = path.size();
        if (slash > at) {
            prefix += "/" + path.substr(at, slash - at);
            const bool last = slash >= path.size() || path.find_first_not_of('/', slash) == std::string::npos;
            auto found = vfs.Resolve(FsCaller{}, top, top, prefix, kWalkFollow);
            if (!found.ok()) {
                if (found.error() != ENOENT)
                    return Error(found.error());
                if (last && !is_dir)
                    TRY(vfs.Mknod(FsCaller{}, top, top, prefix, S_IFREG | 0644, 0));
                else
                    TRY(vfs.Mkdir(FsCaller{}, top, top, prefix, 0755));
            }
        }
        at = slash + 1;
    }
    return {};
}

}  // namespace moat::fs
