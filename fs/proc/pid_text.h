#pragma once
// The text of /proc/[pid]/* files (and /proc/[pid]/task/[tid]/*), one function per file.
// `thread`: the task/[tid] variant (per-thread times and ids where Linux shows them).

#include "fs/proc/process.h"
#include "fs/vfs/caller.h"
#include "platform/base/result.h"

#include <string>
#include <string_view>

namespace moat::fs::proc {

std::string CommOf(const ProcessRef& p);

// pid_stat.cc
Result<std::string> StatText(const FsCaller& caller, const ProcessRef& p, bool thread);
Result<std::string> StatusText(const FsCaller& caller, const ProcessRef& p, bool thread);
Result<std::string> StatmText(const FsCaller& caller, const ProcessRef& p);

// pid_maps.cc
Result<std::string> MapsText(const FsCaller& caller, const ProcessRef& p);
Result<std::string> SmapsText(const FsCaller& caller, const ProcessRef& p);

// pid_misc.cc
// The bytes of [start, end) of the process's memory (cmdline, environ), as access_remote_vm.
Result<std::string> CmdlineText(const FsCaller& caller, const ProcessRef& p);
Result<std::string> EnvironText(const FsCaller& caller, const ProcessRef& p);
Result<std::string> AuxvText(const FsCaller& caller, const ProcessRef& p);
Result<std::string> LimitsText(const FsCaller& caller, const ProcessRef& p);
Result<std::string> MountsText(const FsCaller& caller, const ProcessRef& p);
Result<std::string> MountInfoText(const FsCaller& caller, const ProcessRef& p);

// pid_oom.cc
Result<std::string> OomScoreText(const FsCaller& caller, const ProcessRef& p);
Result<std::string> OomScoreAdjText(const FsCaller& caller, const ProcessRef& p);
// EINVAL for anything but an integer in -1000..1000; EACCES below the floor without
// CAP_SYS_RESOURCE.
Result<void> WriteOomScoreAdj(const FsCaller& caller, const ProcessRef& p, std::string_view data);

}  // namespace moat::fs::proc
