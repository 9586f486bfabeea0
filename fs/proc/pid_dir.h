#pragma once
// /proc/[pid] and /proc/[pid]/task/[tid] directories, and their fd/ and fdinfo/ directories.

#include "fs/proc/process.h"
#include "fs/proc/synthetic.h"

namespace moat::fs::proc {

// The directory of process `pid` (tid 0) or of its thread `tid`, keyed `key`, owned by the
// process's effective ids. ENOENT when it does not exist.
Result<std::shared_ptr<Inode>> MakePidDir(const FsCaller& caller, std::shared_ptr<FileSystem> fs,
                                          struct timespec time, std::string key, pid_t pid, pid_t tid);

// fd_dir.cc: /proc/[pid]/fd and /proc/[pid]/fdinfo.
synthetic::ChildSpec FdDirChild(std::shared_ptr<FileSystem> fs, struct timespec time, pid_t pid, pid_t tid);
synthetic::ChildSpec FdInfoDirChild(std::shared_ptr<FileSystem> fs, struct timespec time, pid_t pid, pid_t tid);

}  // namespace moat::fs::proc
