#pragma once
// Where file lifetimes meet the locks: the File and FdTable code calls these when a
// description goes away or a process closes an fd. Each costs one atomic load when the file
// was never locked.

#include "fs/forward.h"

namespace moat::fs {

// The last reference to the description `file` is gone: its flock lock and OFD locks go.
void ReleaseDescriptionLocks(const File& file);
// The process whose fd table is `fd_table` closed an fd of `file`: all its POSIX record locks
// on that file go (Linux's locks_remove_posix, whichever fd it was).
void ReleaseProcessLocks(const File& file, const FdTable* fd_table);

}  // namespace moat::fs
