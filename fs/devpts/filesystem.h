#pragma once
// devpts: the filesystem at /dev/pts (Linux's, magic 0x1cd1). It holds `ptmx` (5:2, mode 0000
// as Linux's default ptmxmode) and one node per live pseudo-terminal, `N` (136:N, mode 0620,
// group tty (5), owned by the fsuid of the process that opened /dev/ptmx — Linux's devpts with
// gid=5,mode=620). A node appears when /dev/ptmx is opened and vanishes when that master
// closes. Opening /dev/ptmx (here or in /dev) makes a new pair (fs/tty/pty.h) with the lowest
// free number; at most kMaxPtys live at once (ENOSPC), as kernel.pty.max.
//
// Names come and go on their own, so the walk never caches devpts dentries.
// Lock: m_lock (the table of live ptys) is a leaf; Pty locks are never taken under it.

#include "fs/vfs/filesystem.h"
#include "fs/vfs/inode.h"

#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace moat::fs {

class Pty;

inline constexpr int64_t kDevptsMagic = 0x1cd1;
inline constexpr uint32_t kTtyGid = 5;  // group "tty"

class DevptsFileSystem final : public FileSystem {
public:
    static constexpr uint32_t kMaxPtys = 4096;

    static std::shared_ptr<DevptsFileSystem> Create();
    std::string name() const override { return "devpts"; }
    bool cache_dentries() const override { return false; }
    Result<FsStatistics> StatFs() override;
    std::shared_ptr<Inode> MakeRootInode();
    struct timespec created() const { return m_created; }

    // Opening /dev/ptmx: a new pair; returns its master. `open_flags` as open(2) got them.
    Result<std::shared_ptr<File>> OpenMaster(const FsCaller& caller, int open_flags, const VfsPath& path);
    // Opening a slave node (136:`index`).
    Result<std::shared_ptr<File>> OpenSlave(const FsCaller& caller, uint32_t index, int open_flags,
                                            const VfsPath& path);

    std::shared_ptr<Pty> Find(uint32_t index);
    // The numbers of the live ptys, ascending.
    std::vector<uint32_t> Indexes();
    // The master of `index` closed: its node goes.
    void Remove(uint32_t index);

private:
    DevptsFileSystem() : FileSystem(0) {}

    std::mutex m_lock;
    std::map<uint32_t, std::weak_ptr<Pty>> m_ptys;  // guarded by m_lock
    struct timespec m_created {};
};

}  // namespace moat::fs
