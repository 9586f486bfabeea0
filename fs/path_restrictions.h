#pragma once
// Path restrictions an OCI bundle asks for (linux.maskedPaths, linux.readonlyPaths,
// root.readonly), applied as runc applies them: after every mount, before the first process
// starts, as mounts in the sandbox's own tree. Paths are absolute inside the sandbox;
// symlinks on the way are followed within the sandbox's root.

#include "fs/vfs.h"
#include "platform/base/result.h"

#include <string>

namespace moat::fs {

// Hides `path`: a directory under an empty read-only tmpfs, anything else under a bind of the
// sandbox's /dev/null (runc's maskPath). A path that does not exist is left alone (ENOENT is
// not an error, as in runc).
Result<void> MaskPath(Vfs& vfs, const std::string& path);

// Makes `path` read-only: a bind of it onto itself, then that mount marked read-only (runc's
// readonlyPath). A missing path is left alone.
Result<void> MakePathReadOnly(Vfs& vfs, const std::string& path);

// Marks the root mount read-only (EROFS for writes); mounts on top of it keep their flags.
void MakeRootReadOnly(Vfs& vfs);

}  // namespace moat::fs
