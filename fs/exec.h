#pragma once
// Opening executables for the loader, and the CLI's PATH search.

#include "fs/vfs/mount.h"
#include "platform/base/result.h"
#include "sentry/kernel/forward.h"
#include "sentry/loader/exec_file.h"

#include <string>

namespace moat::fs {

// The loader's opener for `task`: resolves relative paths against the task's cwd (absolute
// ones against its root), follows symlinks, needs search permission along the way; EACCES
// unless a regular file with exec permission (root: some x bit) on an exec-allowed mount;
// ENOENT (also for ""), ENOTDIR, ELOOP, ENAMETOOLONG as execve(2) reports them.
// The task must outlive the opener (it is used during the task's own execve).
loader::ExecOpener MakeExecOpener(kernel::Task& task);

// execveat(2), once the syscall layer resolved (dirfd, path) itself (ResolveAt): the same
// checks as a path, and ELOOP for a symlink left unfollowed (AT_SYMLINK_NOFOLLOW).
Result<std::shared_ptr<loader::ExecFile>> OpenExecPath(kernel::Task& task, const VfsPath& target);

// The same for a sentry-side caller (no task: root permissions, no /proc/self).
Result<std::shared_ptr<loader::ExecFile>> OpenExec(Vfs& vfs, const FsCaller& caller, const VfsPath& root,
                                                   const VfsPath& cwd, const std::string& path);

// execvp(3)'s search: a `cmd` containing '/' is returned as is; otherwise each entry of
// `path_env` (':'-separated; an empty entry is the cwd; an empty `path_env` means glibc's
// default "/bin:/usr/bin") is tried in order and the first executable regular file wins,
// returned as "<entry>/<cmd>". ENOENT if none; EACCES if only non-executable matches were
// found; ENOENT for an empty cmd.
Result<std::string> ResolveInPath(Vfs& vfs, FsContext& fs, const std::string& cmd, const std::string& path_env);

}  // namespace moat::fs
