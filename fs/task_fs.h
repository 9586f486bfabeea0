#pragma once
// The syscall layer's entry to fs/ for one task: the caller identity, path copy-in, and
// Linux's dirfd rules for the *at syscalls.

#include "fs/file.h"
#include "fs/vfs/caller.h"
#include "fs/vfs/mount.h"
#include "platform/base/result.h"
#include "sentry/kernel/forward.h"
#include "sentry/mm/user_addr.h"

#include <memory>
#include <string>

namespace moat::fs {

FsCaller CallerOf(kernel::Task& task);

// Copies a path argument: EFAULT on a bad pointer, ENAMETOOLONG at PATH_MAX (4096) bytes or
// more. An empty string is returned as is (callers decide: ENOENT unless AT_EMPTY_PATH).
Result<std::string> CopyInPath(kernel::Task& task, mm::UserAddr addr);

// The file at `fd` for operations that refuse O_PATH descriptions (read, write, ioctl,
// getdents, lseek, fchmod…): EBADF for a bad fd or an O_PATH one, as Linux's fdget.
Result<std::shared_ptr<File>> GetFile(kernel::Task& task, int fd);
// The file at `fd`, O_PATH allowed (fstat, fchdir, close, dup, fcntl, dirfds): fdget_raw.
Result<std::shared_ptr<File>> GetFileRaw(kernel::Task& task, int fd);

// Where (dirfd, path) leads for an *at syscall.
struct AtTarget {
    VfsPath path;                // the resolved location (invalid for an fd outside the VFS)
    std::shared_ptr<File> file;  // with an empty path (AT_EMPTY_PATH): dirfd's file
};
// Resolves like Linux: an absolute path ignores dirfd; AT_FDCWD is the cwd; otherwise dirfd
// must be open (EBADF) and, for a non-empty path, a directory (ENOTDIR). An empty path is
// ENOENT unless `allow_empty`, when the target is dirfd itself (the cwd for AT_FDCWD).
// `caller` overrides the task's identity (access(2) checks with the real ids).
Result<AtTarget> ResolveAt(kernel::Task& task, int dirfd, const std::string& path, unsigned walk_flags,
                           bool allow_empty, const FsCaller* caller = nullptr);

// Where a walk of `path` for an *at syscall begins: the caller's root, and the directory a
// relative path starts from (the cwd for AT_FDCWD, dirfd's directory: EBADF, ENOTDIR).
struct WalkStart {
    VfsPath root;
    VfsPath start;
};
Result<WalkStart> WalkStartOf(kernel::Task& task, int dirfd, const std::string& path);

// openat(2) for the task.
Result<std::shared_ptr<File>> OpenAtForTask(kernel::Task& task, int dirfd, const std::string& path, int flags,
                                            uint32_t mode, unsigned resolve = 0);

// The task's RLIMIT_NOFILE soft limit, capped at NR_OPEN.
int NofileLimit(kernel::Task& task);

}  // namespace moat::fs
