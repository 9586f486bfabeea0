#pragma once
// ProcSource: the read-only tree the FUSE session serves, addressed by paths relative to its
// root ("" is the root, "1/stat"). Every call resolves again: entries come and go with the
// sandbox's processes, and nothing is cached between requests.

#include "fs/vfs/inode.h"
#include "platform/base/result.h"
#include "sentry/kernel/forward.h"

#include <memory>
#include <string>
#include <vector>

namespace moat::fs::procfuse {

class ProcSource {
public:
    virtual ~ProcSource() = default;
    // lstat: a final symlink is not followed (the host kernel follows links itself).
    virtual Result<InodeAttr> Stat(const std::string& path) = 0;
    // The directory's entries, "." and ".." included, at most `limit` of them.
    virtual Result<std::vector<DirEntry>> List(const std::string& path, size_t limit) = 0;
    // The whole text of a file (a snapshot, as one open of it gives), at most `limit` bytes.
    virtual Result<std::string> ReadAll(const std::string& path, size_t limit) = 0;
    virtual Result<std::string> ReadLink(const std::string& path) = 0;
};

// The sandbox's own procfs: `/proc` of the kernel's Vfs, resolved now (before the workload
// runs, so that what it mounts later cannot replace it), read as the sentry (no permission
// checks: the host kernel checks the modes, default_permissions) with a live task of the
// sandbox as the reader, so that the listing has its processes and "self" names one of them
// (the lowest pid). ENOENT when the Vfs has no procfs at /proc.
Result<std::unique_ptr<ProcSource>> MakeSandboxProcSource(kernel::Kernel& kernel);

}  // namespace moat::fs::procfuse
