#pragma once
// procfs: the sandbox's own processes and system figures (never the host's /proc).
//
//   /proc/[pid]/…       pid_dir.cc (+ pid_stat.cc, pid_maps.cc, pid_misc.cc, fd_dir.cc)
//   /proc/self, thread-self, mounts   links (self/mounts)
//   /proc/{meminfo,cpuinfo,stat,uptime,loadavg,version,filesystems}   system_files.cc, cpuinfo.cc
//   /proc/sys/…         sysctl.cc
//
// Built from the synthetic inodes of synthetic.h. Names come and go with processes, so the
// walk never caches proc dentries; every lookup asks the kernel again. See README.md.

#include "fs/vfs/filesystem.h"
#include "fs/vfs/inode.h"

#include <memory>
#include <string>

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
    std::string m_boot_id;  // /proc/sys/kernel/random/boot_id
};

}  // namespace moat::fs
