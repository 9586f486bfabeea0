#pragma once
// The hooks that make inotify events. Each costs one atomic load when nothing watches the
// inode (and, for events reported to a parent directory, one per-filesystem counter load).

#include "fs/forward.h"

#include <sys/inotify.h>

#include <cstdint>
#include <string_view>

namespace moat::fs {

// An event on the file at `path` itself (open, access, modify, attrib, close): its own
// watchers, and its parent directory's with the name. Directories add IN_ISDIR.
void NotifyPath(const VfsPath& path, uint32_t mask);
// The same for an open file (nothing for files outside the mount tree or O_PATH ones).
void NotifyFile(const File& file, uint32_t mask);
// An event about the entry `name` of directory `dir` (create, delete, moved from/to).
void NotifyChild(Inode& dir, uint32_t mask, std::string_view name, uint32_t cookie = 0);
// An event for `inode`'s own watchers only (attrib on link count changes, move self).
void NotifyInode(Inode& inode, uint32_t mask);
// `inode` lost its last name: IN_DELETE_SELF and IN_IGNORED for its watches.
void NotifyRemoved(Inode& inode);

}  // namespace moat::fs
