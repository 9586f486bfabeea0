#pragma once
// The system-wide files of /proc (meminfo, cpuinfo, stat, uptime, loadavg, version,
// filesystems) and the /proc/sys tree: the sandbox's own figures, never the host's files.

#include "fs/proc/synthetic.h"

#include <string>
#include <vector>

namespace moat::fs::proc {

// cpuinfo.cc: `ncpus` blocks built from CPUID.
std::string CpuinfoText(int ncpus);

// system_files.cc: the regular files directly under /proc.
std::vector<synthetic::ChildSpec> SystemFiles(std::shared_ptr<FileSystem> fs, struct timespec time);

// sysctl.cc: /proc/sys; `boot_id` is kernel/random/boot_id (one per sandbox, NewBootId()).
synthetic::ChildSpec SysctlDir(std::shared_ptr<FileSystem> fs, struct timespec time, std::string boot_id);
std::string NewBootId();

// net_dir.cc: /proc/[pid]/net (dev, if_inet6, route, tcp, tcp6, udp, udp6, unix).
synthetic::ChildSpec NetDirChild(std::shared_ptr<FileSystem> fs, struct timespec time);

}  // namespace moat::fs::proc
