#include "fs/binds.h"

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

}  // namespace moat::fs
