#pragma once
// How procfs finds the process or thread a /proc/[pid] or /proc/[pid]/task/[tid] entry names,
// and Linux's access rules for the sensitive files (ptrace_may_access).
//
// Entries hold only ids, never references: every operation looks the process up again, so a
// process that exits makes its entries vanish (ENOENT), as on Linux.

#include "fs/vfs/caller.h"
#include "platform/base/result.h"
#include "sentry/kernel/forward.h"

#include <sys/types.h>

#include <memory>
#include <optional>

namespace moat::fs::proc {

struct ProcessRef {
    std::shared_ptr<kernel::ThreadGroup> group;
    // The thread (task/<tid>), else the leader or any live thread; null for a zombie.
    std::shared_ptr<kernel::Task> task;
};

// The process `pid` (with `tid` != 0: that thread of it) as `caller` sees it; ENOENT.
Result<ProcessRef> FindProcess(const FsCaller& caller, pid_t pid, pid_t tid = 0);
inline bool ProcessExists(const FsCaller& caller, pid_t pid, pid_t tid = 0) {
    return FindProcess(caller, pid, tid).ok();
}

// Linux's ptrace_may_access(PTRACE_MODE_READ_FSCREDS): the caller's fsuid/fsgid match the
// target's real, effective and saved ids, or the caller is root. EACCES otherwise.
Result<void> MayAccess(const FsCaller& caller, const ProcessRef& target);

// The owner /proc/[pid] shows: the process's effective ids (root while it is a zombie).
struct Owner {
    uint32_t uid = 0, gid = 0;
};
Owner OwnerOf(const ProcessRef& p);

// Clock ticks (USER_HZ) of a duration in nanoseconds.
inline uint64_t Ticks(uint64_t ns) { return ns / 10000000; }

}  // namespace moat::fs::proc
