#pragma once
// Binds: host directories or files mounted into the sandbox's tree (`moat do --bind SRC:DST`,
// `--ro-bind SRC:DST`), each its own HostFileSystem rooted at SRC and mounted on DST.
// Writable binds write through to the host (fs/README.md "Host access"); read-only binds are
// mounted with kMountReadOnly (EROFS).

#include "fs/host/filesystem.h"
#include "fs/vfs.h"
#include "platform/base/result.h"

#include <memory>
#include <string>
#include <vector>

namespace moat::fs {

struct BindSpec {
    std::string source;       // a host path (directory or regular file), from the configuration
    std::string destination;  // an existing path inside the sandbox, of the same kind
    bool read_only = false;
};

// Parses "SRC:DST" ("SRC" alone binds SRC onto the same path). EINVAL for an empty side.
Result<BindSpec> ParseBindSpec(const std::string& arg, bool read_only);

// Which side of a bind an error is about.
enum class BindSide { Source, Destination };

// Mounts one bind (after Vfs::set_memory_file, before the first process starts); the Vfs
// adopts the new filesystem. On error *side says which side failed. Errors: the source's
// (ENOENT, EACCES, EINVAL for a source that is neither a directory nor a regular file), the
// destination's walk (ENOENT…), ENOTDIR / EISDIR when the two are not of the same kind and
// EINVAL for a file bound onto something else than a regular file (Destination).
Result<void> MountBind(Vfs& vfs, const BindSpec& spec, BindSide* side);

// Makes `path` (absolute, inside the sandbox) exist for a mount, as runc does for an OCI
// bundle's mounts: missing directories on the way are made (0755), and the last component is
// a directory or, with `is_dir` false, an empty regular file (0644). The root's overlay keeps
// what is made. Existing components are left as they are.
Result<void> EnsureMountPoint(Vfs& vfs, const std::string& path, bool is_dir);

}  // namespace moat::fs
