#pragma once
// A minimal sysfs for /sys: what glibc (sysconf(_SC_NPROCESSORS_*)), Python
// (os.cpu_count, multiprocessing) and allocators read — the CPU lists and directories, the
// transparent-hugepage settings — plus an empty /sys/fs/cgroup. All read-only, built from
// fs/proc/synthetic.h; the CPU count is kernel::SandboxCpuCount(). See fs/sys/README.md.

#include "fs/vfs/filesystem.h"
#include "fs/vfs/inode.h"

#include <memory>

namespace moat::fs {

class SysFileSystem final : public FileSystem {
public:
    static std::shared_ptr<SysFileSystem> Create();
    std::string name() const override { return "sysfs"; }
    bool read_only() const override { return true; }
    std::shared_ptr<Inode> MakeRootInode();

private:
    SysFileSystem() : FileSystem(0) {}
    struct timespec m_created {};
};

}  // namespace moat::fs
