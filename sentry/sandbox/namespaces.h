#pragma once
// The namespace half of confinement (confinement.h, steps 1 and the pivot of step 2).

#include "platform/base/result.h"
#include "platform/base/unique_fd.h"

namespace moat::sandbox {

// unshare(2) of mount, IPC, UTS, cgroup and (unless `host_network`) network namespaces,
// preceded by a new user namespace mapping our own uid and gid when we are not root, or when
// the host refuses root a mount namespace (EPERM: a container without CAP_SYS_ADMIN). Sets
// `*user_ns`. Must run while the process is single-threaded.
Result<void> UnshareNamespaces(bool host_network, bool* user_ns);

// Every mount private (nothing we do propagates to the host), then a detached recursive
// clone of the host's mount tree: the root every host file is reached from afterwards.
Result<UniqueFd> CloneHostTree();

// pivot_root into a fresh empty tmpfs, the old root lazily unmounted, the new one made
// read-only, cwd "/". With `proc_fuse`, a FUSE connection is mounted read-only at /proc of the
// new root and its /dev/fuse fd stored there, for fs/procfuse to serve the sandbox's procfs to
// the engine (podman top); when /dev/fuse or the mount is refused, *proc_fuse stays invalid.
Result<void> PivotToEmptyRoot(UniqueFd* proc_fuse = nullptr);

}  // namespace moat::sandbox
