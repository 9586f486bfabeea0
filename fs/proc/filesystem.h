#pragma once
// A minimal procfs: /proc/self (a symlink to the caller's pid) and /proc/<pid>/exe (a symlink
// to the process's executable, from its MemoryManager layout). Everything else of /proc is a
// later issue: other names are ENOENT. FIXME(#fs-procfs): the full procfs.
//
// Names come and go with processes, so the walk never caches proc dentries.

#include "fs/vfs/filesystem.h"
#include "fs/vfs/inode.h"

#include <memory>

namespace moat::fs {

class ProcFileSystem final : public FileSystem {
public:
    static std::shared_ptr<ProcFileSystem> Create();
    std::string name() const override { return "proc"; }
    bool cache_dentries() const override { return false; }
    std::shared_ptr<Inode> MakeRootInode();
    struct timespec created() const { return m_created; }

private:
    ProcFileSystem() : FileSystem(0) {}
    struct timespec m_created {};
};

}  // namespace moat::fs
