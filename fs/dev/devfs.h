#pragma once
// The sandbox's /dev: a tmpfs the sentry fills at start-up with the nodes of the devices it
// serves itself (char_devices.h) and the usual links, as a container runtime's /dev looks:
//
//   null zero full random urandom tty console ptmx   character devices (Devices opens them)
//   fd -> /proc/self/fd   stdin/stdout/stderr -> /proc/self/fd/{0,1,2}
//   shm/ (its own tmpfs, mounted by the Vfs)   pts/ (devpts, mounted by the Vfs)   mqueue/
//
// Nothing here is a host device: the nodes are tmpfs inodes carrying a device number.

#include "fs/vfs/inode.h"
#include "platform/base/result.h"

#include <optional>

namespace moat::fs {

class Vfs;
struct VfsPath;

// Fills the empty directory `root` (the /dev tmpfs's root).
Result<void> PopulateDevfs(Inode& root);

// The sandbox's /dev/console: the name of the host terminal among the sandbox's stdio
// (FdTable::CreateWithHostStdio), as a runc container's console is. Nullopt without one.
std::optional<VfsPath> FindConsoleNode(Vfs& vfs);

}  // namespace moat::fs
