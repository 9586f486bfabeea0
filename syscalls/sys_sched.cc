// Scheduling: sched_{get,set}affinity, sched_{get,set}scheduler, sched_{get,set}param,
// sched_get_priority_{max,min}, sched_rr_get_interval, getpriority/setpriority, membarrier.
//
// The host schedules the app threads; these calls record what the app asked for
// (sentry/kernel/sched.h) with Linux's checks and errnos, so the matching get calls and clone
// children see it. The sandbox's CPUs are the host's online CPUs (SandboxCpuCount).

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/process_tree.h"
#include "sentry/kernel/sched.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <linux/membarrier.h>
#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

namespace moat::syscalls {

namespace {

constexpr int kMaxRtPrio = 100;  // MAX_RT_PRIO: RT priorities are 1..99
constexpr int kMinNice = -20, kMaxNice = 19;

bool IsRtPolicy(int policy) { return policy == SCHED_FIFO || policy == SCHED_RR; }
bool IsValidPolicy(int policy) {
    return policy == SCHED_OTHER || policy == SCHED_BATCH || policy == SCHED_IDLE || IsRtPolicy(policy) ||
           policy == SCHED_DEADLINE;
}

// Linux's cpumask_size(): the kernel's CPU bitmap in bytes (whole longs of nr_cpu_ids bits).
size_t CpumaskBytes() { return (static_cast<size_t>(kernel::SandboxCpuCount()) + 63) / 64 * 8; }

// The task a pid argument names (0: the caller); ESRCH. `ref` keeps it alive.
struct Target {
    std::shared_ptr<kernel::Task> ref;
    kernel::Task* task = nullptr;
};
Result<Target> FindTarget(kernel::Task& t, pid_t pid) {
    if (pid == 0)
        return Target{nullptr, &t};
    auto found = t.kernel().processes().FindTask(pid);
    if (!found)
        return Error(ESRCH);
    kernel::Task* raw = found.get();
    return Target{std::move(found), raw};
}

bool CanNice(kernel::Task& t) { return t.creds().HasCapability(CAP_SYS_NICE); }

// Linux's __sched_setscheduler checks and the update. policy -1: keep it (sched_setparam).
Result<void> SetScheduler(kernel::Task& caller, kernel::Task& target, int policy, uint32_t priority) {
    kernel::SchedState& s = target.sched;
    bool reset_on_fork;
    if (policy < 0) {
        std::lock_guard lock(s.lock);
        reset_on_fork = s.reset_on_fork;
        policy = s.policy;
    } else {
        reset_on_fork = policy & SCHED_RESET_ON_FORK;
        policy &= ~SCHED_RESET_ON_FORK;
    }
    if (!IsValidPolicy(policy))
        return Error(EINVAL);
    if (priority > kMaxRtPrio - 1)
        return Error(EINVAL);
    // SCHED_DEADLINE needs sched_setattr's runtime/deadline: never valid here.
    if (policy == SCHED_DEADLINE || IsRtPolicy(policy) != (priority != 0))
        return Error(EINVAL);
    if (!CanNice(caller)) {
        // RLIMIT_RTPRIO bounds what an unprivileged task may ask for.
        struct rlimit rt = target.thread_group().rlimit(RLIMIT_RTPRIO);
        if (IsRtPolicy(policy) && priority > rt.rlim_cur)
            return Error(EPERM);
        if (caller.creds().euid != target.creds().ruid && caller.creds().euid != target.creds().euid)
            return Error(EPERM);
    }
    std::lock_guard lock(s.lock);
    s.policy = policy;
    s.priority = static_cast<int>(priority);
    s.reset_on_fork = reset_on_fork;
    return {};
}

SyscallResult DoSetScheduler(kernel::Task& t, pid_t pid, int policy, mm::UserAddr param) {
    if (param.is_null() || pid < 0)
        return Error(EINVAL);
    auto p = TRY(t.mm().CopyInObject<struct sched_param>(param));
    auto target = TRY(FindTarget(t, pid));
    TRY(SetScheduler(t, *target.task, policy, static_cast<uint32_t>(p.sched_priority)));
    return 0;
}

// Every task getpriority/setpriority's (which, who) names.
Result<std::vector<std::shared_ptr<kernel::Task>>> PriorityTargets(kernel::Task& t, int which, int who,
                                                                   kernel::Task*& self_match) {
    std::vector<std::shared_ptr<kernel::Task>> out;
    self_match = nullptr;
    auto& processes = t.kernel().processes();
    auto add_group = [&](kernel::ThreadGroup& tg, auto pred) {
        for (kernel::Task* task : tg.tasks()) {
            if (!pred(*task))
                continue;
            if (task == &t)
                self_match = &t;
            else if (auto ref = processes.FindTask(task->tid()))
                out.push_back(std::move(ref));
        }
    };
    switch (which) {
    case PRIO_PROCESS:
        if (who == 0) {
            self_match = &t;
        } else if (auto found = processes.FindTask(who)) {
            if (found.get() == &t)
                self_match = &t;
            else
                out.push_back(std::move(found));
        }
        break;
    case PRIO_PGRP: {
        pid_t pgrp = who ? who : t.thread_group().pgid();
        t.kernel().ForEachThreadGroup([&](kernel::ThreadGroup& tg) {
            if (tg.pgid() == pgrp)
                add_group(tg, [](kernel::Task&) { return true; });
        });
        break;
    }
    case PRIO_USER: {
        uid_t uid = who ? static_cast<uid_t>(who) : t.creds().ruid;
        t.kernel().ForEachThreadGroup([&](kernel::ThreadGroup& tg) {
            add_group(tg, [&](kernel::Task& task) { return task.creds().ruid == uid; });
        });
        break;
    }
    default:
        return Error(EINVAL);
    }
    return out;
}

}  // namespace

// Implements Linux sched_getaffinity(2): the mask recorded by sched_setaffinity, within the
// sandbox's CPUs. Returns the number of bytes written, as the raw syscall does.
SyscallResult sys_sched_getaffinity(kernel::Task& t, const SyscallArgs& a) {
    pid_t pid = arg_int(a, 0);
    uint64_t len = arg_uint(a, 1);
    int ncpus = kernel::SandboxCpuCount();
    if (len * 8 < static_cast<uint64_t>(ncpus) || (len & (sizeof(long) - 1)))
        return Error(EINVAL);
    auto target = TRY(FindTarget(t, pid));
    size_t size = CpumaskBytes();
    std::vector<uint64_t> mask(size / 8, 0);
    {
        std::lock_guard lock(target.task->sched.lock);
        const auto& affinity = target.task->sched.affinity;
        for (int cpu = 0; cpu < ncpus; ++cpu) {
            size_t word = static_cast<size_t>(cpu) / 64;
            bool allowed = affinity.empty() || (word < affinity.size() && (affinity[word] >> (cpu % 64) & 1));
            if (allowed)
                mask[word] |= 1ull << (cpu % 64);
        }
    }
    size_t retlen = std::min<uint64_t>(len, size);
    TRY(t.mm().CopyOut(arg_addr(a, 2), mask.data(), retlen));
    return retlen;
}

// Implements Linux sched_setaffinity(2): recorded per task (the host places the threads).
// EINVAL when the mask holds no sandbox CPU.
SyscallResult sys_sched_setaffinity(kernel::Task& t, const SyscallArgs& a) {
    pid_t pid = arg_int(a, 0);
    uint64_t len = arg_uint(a, 1);
    size_t size = CpumaskBytes();
    std::vector<uint64_t> mask(size / 8, 0);
    TRY(t.mm().CopyIn(arg_addr(a, 2), mask.data(), std::min<uint64_t>(len, size)));
    auto target = TRY(FindTarget(t, pid));
    int ncpus = kernel::SandboxCpuCount();
    bool any = false;
    for (size_t word = 0; word < mask.size(); ++word) {
        int first = static_cast<int>(word * 64);
        if (ncpus - first < 64)
            mask[word] &= ncpus - first <= 0 ? 0 : (1ull << (ncpus - first)) - 1;
        any |= mask[word] != 0;
    }
    if (!any)
        return Error(EINVAL);
    if (!CanNice(t) && t.creds().euid != target.task->creds().ruid && t.creds().euid != target.task->creds().euid)
        return Error(EPERM);
    std::lock_guard lock(target.task->sched.lock);
    target.task->sched.affinity = std::move(mask);
    return 0;
}

// Implements Linux sched_setscheduler(2): SCHED_OTHER/BATCH/IDLE, and SCHED_FIFO/RR for the
// sandbox's root or within RLIMIT_RTPRIO; recorded (the host does not give the app RT
// scheduling). SCHED_DEADLINE needs sched_setattr: EINVAL.
SyscallResult sys_sched_setscheduler(kernel::Task& t, const SyscallArgs& a) {
    int policy = arg_int(a, 1);
    if (policy < 0)
        return Error(EINVAL);
    return DoSetScheduler(t, arg_int(a, 0), policy, arg_addr(a, 2));
}

// Implements Linux sched_setparam(2).
SyscallResult sys_sched_setparam(kernel::Task& t, const SyscallArgs& a) {
    return DoSetScheduler(t, arg_int(a, 0), -1, arg_addr(a, 1));
}

// Implements Linux sched_getscheduler(2).
SyscallResult sys_sched_getscheduler(kernel::Task& t, const SyscallArgs& a) {
    pid_t pid = arg_int(a, 0);
    if (pid < 0)
        return Error(EINVAL);
    auto target = TRY(FindTarget(t, pid));
    std::lock_guard lock(target.task->sched.lock);
    int policy = target.task->sched.policy | (target.task->sched.reset_on_fork ? SCHED_RESET_ON_FORK : 0);
    return static_cast<uint64_t>(policy);
}

// Implements Linux sched_getparam(2).
SyscallResult sys_sched_getparam(kernel::Task& t, const SyscallArgs& a) {
    pid_t pid = arg_int(a, 0);
    if (!a[1] || pid < 0)
        return Error(EINVAL);
    auto target = TRY(FindTarget(t, pid));
    struct sched_param p{};
    {
        std::lock_guard lock(target.task->sched.lock);
        p.sched_priority = IsRtPolicy(target.task->sched.policy) ? target.task->sched.priority : 0;
    }
    TRY(t.mm().CopyOutObject(arg_addr(a, 1), p));
    return 0;
}

// Implements Linux sched_get_priority_max(2).
SyscallResult sys_sched_get_priority_max(kernel::Task&, const SyscallArgs& a) {
    int policy = arg_int(a, 0);
    if (IsRtPolicy(policy))
        return kMaxRtPrio - 1;
    if (policy == SCHED_OTHER || policy == SCHED_BATCH || policy == SCHED_IDLE || policy == SCHED_DEADLINE)
        return 0;
    return Error(EINVAL);
}

// Implements Linux sched_get_priority_min(2).
SyscallResult sys_sched_get_priority_min(kernel::Task&, const SyscallArgs& a) {
    int policy = arg_int(a, 0);
    if (IsRtPolicy(policy))
        return 1;
    if (policy == SCHED_OTHER || policy == SCHED_BATCH || policy == SCHED_IDLE || policy == SCHED_DEADLINE)
        return 0;
    return Error(EINVAL);
}

// Implements Linux sched_rr_get_interval(2): SCHED_RR's 100 ms time slice (RR_TIMESLICE),
// 0 for SCHED_FIFO, and a CFS-like 4 ms slice (one jiffy at HZ=250) for the other policies.
SyscallResult sys_sched_rr_get_interval(kernel::Task& t, const SyscallArgs& a) {
    pid_t pid = arg_int(a, 0);
    if (pid < 0)
        return Error(EINVAL);
    auto target = TRY(FindTarget(t, pid));
    int policy;
    {
        std::lock_guard lock(target.task->sched.lock);
        policy = target.task->sched.policy;
    }
    struct timespec ts{};
    if (policy == SCHED_RR)
        ts.tv_nsec = 100000000;
    else if (policy != SCHED_FIFO)
        ts.tv_nsec = 4000000;
    TRY(t.mm().CopyOutObject(arg_addr(a, 1), ts));
    return 0;
}

// Implements Linux getpriority(2): the raw syscall's encoding, 20 - nice (1..40), the
// highest among the tasks named; ESRCH if none.
SyscallResult sys_getpriority(kernel::Task& t, const SyscallArgs& a) {
    kernel::Task* self = nullptr;
    auto targets = TRY(PriorityTargets(t, arg_int(a, 0), arg_int(a, 1), self));
    int best = -1;
    auto consider = [&](kernel::Task& task) {
        std::lock_guard lock(task.sched.lock);
        best = std::max(best, 20 - task.sched.nice);
    };
    if (self)
        consider(*self);
    for (auto& task : targets)
        consider(*task);
    if (best < 0)
        return Error(ESRCH);
    return static_cast<uint64_t>(best);
}

// Implements Linux setpriority(2): nice clamped to -20..19; lowering it needs CAP_SYS_NICE
// (the sandbox's root) or RLIMIT_NICE (EACCES); another user's task needs it too (EPERM).
SyscallResult sys_setpriority(kernel::Task& t, const SyscallArgs& a) {
    int which = arg_int(a, 0);
    int nice = std::clamp(arg_int(a, 2), kMinNice, kMaxNice);
    kernel::Task* self = nullptr;
    auto targets = TRY(PriorityTargets(t, which, arg_int(a, 1), self));
    int error = ESRCH;
    auto set_one = [&](kernel::Task& task) {
        // Linux's set_one_prio: the last failure wins, any success clears ESRCH.
        const auto& mine = t.creds();
        const auto& theirs = task.creds();
        if (mine.euid != theirs.ruid && mine.euid != theirs.euid && !CanNice(t)) {
            error = EPERM;
            return;
        }
        std::lock_guard lock(task.sched.lock);
        if (nice < task.sched.nice && !CanNice(t)) {
            struct rlimit lim = task.thread_group().rlimit(RLIMIT_NICE);
            if (static_cast<rlim_t>(20 - nice) > lim.rlim_cur) {
                error = EACCES;
                return;
            }
        }
        if (error == ESRCH)
            error = 0;
        task.sched.nice = nice;
    };
    if (self)
        set_one(*self);
    for (auto& task : targets)
        set_one(*task);
    if (error)
        return Error(error);
    return 0;
}

// Implements Linux membarrier(2) without the rseq commands (Moat has no rseq) and without
// MEMBARRIER_CMD_GET_REGISTRATIONS (newer than the 6.1 the sandbox reports).
// Differs: the sentry cannot send IPIs; a barrier interrupts every other thread concerned
// (a Context::Interrupt: its app code stops at the next instruction boundary, a full barrier
// on its CPU, and resumes) and returns without waiting for the stops. Threads blocked in the
// sentry are past a barrier already.
SyscallResult sys_membarrier(kernel::Task& t, const SyscallArgs& a) {
    int cmd = arg_int(a, 0);
    unsigned flags = arg_uint(a, 1);
    if (cmd == MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) {
        if (flags & ~unsigned{MEMBARRIER_CMD_FLAG_CPU})
            return Error(EINVAL);
    } else if (flags) {
        return Error(EINVAL);
    }
    constexpr int kSupported = MEMBARRIER_CMD_GLOBAL | MEMBARRIER_CMD_GLOBAL_EXPEDITED |
                               MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED | MEMBARRIER_CMD_PRIVATE_EXPEDITED |
                               MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED |
                               MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE |
                               MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE;
    auto& registered = t.thread_group().membarrier.registered;
    auto interrupt_group = [&](kernel::ThreadGroup& tg) {
        for (kernel::Task* task : tg.tasks())
            if (task != &t)
                task->Interrupt();
    };
    switch (cmd) {
    case MEMBARRIER_CMD_QUERY:
        return kSupported;
    case MEMBARRIER_CMD_GLOBAL:
    case MEMBARRIER_CMD_GLOBAL_EXPEDITED:
        t.kernel().ForEachThreadGroup(interrupt_group);
        return 0;
    case MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED:
    case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED:
    case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE:
        registered.fetch_or(cmd);
        return 0;
    case MEMBARRIER_CMD_PRIVATE_EXPEDITED:
    case MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE: {
        int needed = cmd == MEMBARRIER_CMD_PRIVATE_EXPEDITED ? MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED
                                                              : MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE;
        if (!(registered.load() & needed))
            return Error(EPERM);
        interrupt_group(t.thread_group());
        return 0;
    }
    default:
        return Error(EINVAL);
    }
}

}  // namespace moat::syscalls
