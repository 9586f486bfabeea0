// /proc/[pid]/{stat,status,statm} and their task/[tid] twins, from the kernel's process,
// credentials, signal, scheduling and memory state (formats as Linux 6.x prints them).

#include "fs/proc/pid_text.h"

#include "fs/fd_table.h"
#include "fs/fs_context.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/process_tree.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/kernel/timekeeper.h"
#include "sentry/mm/memory_manager.h"

#include <fmt/format.h>

#include <sys/resource.h>

namespace moat::fs::proc {

namespace {

constexpr uint64_t kPageKb = 4;

char StateOf(const FsCaller& caller, const ProcessRef& p) {
    if (!p.task || p.group->zombie)
        return 'Z';
    {
        std::lock_guard lock(p.group->signal_lock());
        if (p.group->stop_state().stopped)
            return 'T';
    }
    // FIXME(#fs-procfs): the sentry does not record whether another task is blocked in a
    // syscall or running app code; only the caller is known to be running.
    return p.task.get() == caller.task ? 'R' : 'S';
}

const char* StateName(char s) {
    switch (s) {
    case 'R': return "R (running)";
    case 'T': return "T (stopped)";
    case 'Z': return "Z (zombie)";
    default: return "S (sleeping)";
    }
}

struct SignalMasks {
    uint64_t pending = 0, shared_pending = 0, blocked = 0, ignored = 0, caught = 0;
};

SignalMasks MasksOf(const ProcessRef& p) {
    SignalMasks m;
    for (int sig = 1; sig <= kernel::kNumSignals; ++sig) {
        auto act = p.group->sigaction(sig);
        if (act.handler == 1)
            m.ignored |= 1ull << (sig - 1);
        else if (act.handler > 1)
            m.caught |= 1ull << (sig - 1);
    }
    std::lock_guard lock(p.group->signal_lock());
    m.shared_pending = p.group->shared_pending().set();
    if (p.task) {
        m.pending = p.task->pending_signals().set();
        m.blocked = p.task->signal_mask();
    }
    return m;
}

kernel::ResourceUsage UsageOf(const ProcessRef& p, bool thread) {
    if (thread && p.task)
        return kernel::TaskUsage(*p.task);
    return kernel::GroupUsage(*p.group);
}

// Clock ticks since boot (CLOCK_BOOTTIME, the sandbox's clock) when the task started.
uint64_t StartTicks(kernel::Task& caller, const ProcessRef& p) {
    if (!p.task)
        return 0;
    auto now = caller.kernel().timekeeper().Now(CLOCK_BOOTTIME);
    if (!now.ok())
        return 0;
    uint64_t boot_ns = static_cast<uint64_t>(now->tv_sec) * 1000000000ull + static_cast<uint64_t>(now->tv_nsec);
    auto age = std::chrono::steady_clock::now() - p.task->start_time;
    uint64_t age_ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(age).count());
    return Ticks(boot_ns > age_ns ? boot_ns - age_ns : 0);
}

std::string HexMask(uint64_t m) { return fmt::format("{:016x}", m); }

std::string CpuListOf(int ncpus) { return ncpus <= 1 ? "0" : fmt::format("0-{}", ncpus - 1); }

std::string CpuMaskOf(int ncpus) {
    // Groups of 32 CPUs as 8 hex digits, highest first, comma separated.
    std::string out;
    for (int group = (ncpus - 1) / 32; group >= 0; --group) {
        int in_group = std::min(32, ncpus - group * 32);
        uint32_t bits = in_group == 32 ? 0xffffffffu : ((1u << in_group) - 1);
        out += fmt::format("{}{:08x}", out.empty() ? "" : ",", bits);
    }
    return out;
}

}  // namespace

std::string CommOf(const ProcessRef& p) {
    // FIXME(#fs-procfs): comm is written by its task's own thread (prctl) without a lock.
    return p.task ? p.task->comm : std::string();
}

Result<std::string> StatText(const FsCaller& caller, const ProcessRef& p, bool thread) {
    char state = StateOf(caller, p);
    kernel::ResourceUsage self = UsageOf(p, thread);
    kernel::ResourceUsage children = thread ? kernel::ResourceUsage{} : p.group->usage.children();
    std::shared_ptr<mm::MemoryManager> mm = p.task ? p.task->mm_ptr() : nullptr;
    mm::MmLayout layout;
    uint64_t vsize = 0, rss = 0;
    if (mm) {
        vsize = mm->virtual_size();
        rss = mm->resident_pages();
        if (MayAccess(caller, p).ok())
            layout = mm->layout();
    }
    int nice = 0, policy = 0, rt_priority = 0;
    if (p.task) {
        std::lock_guard lock(p.task->sched.lock);
        nice = p.task->sched.nice;
        policy = p.task->sched.policy;
        rt_priority = p.task->sched.priority;
    }
    SignalMasks sig = MasksOf(p);
    struct rlimit rss_limit = p.group->rlimit(RLIMIT_RSS);
    int exit_code = p.group->zombie ? p.group->wait_status() : 0;
    pid_t tid = thread && p.task ? p.task->tid() : p.group->pid();
    int priority = (policy == SCHED_FIFO || policy == SCHED_RR) ? -1 - rt_priority : 20 + nice;

    std::string out = fmt::format("{} ({}) {} {} {} {} 0 -1 4194560 {} {} {} {} {} {} {} {} {} {} {} 0 {} ", tid,
                                  CommOf(p), state, p.group->parent_pid(), p.group->pgid(), p.group->sid(), self.minflt,
                                  children.minflt, self.majflt, children.majflt, Ticks(self.user_ns),
                                  Ticks(self.sys_ns), Ticks(children.user_ns), Ticks(children.sys_ns), priority, nice,
                                  p.group->tasks().size(), StartTicks(*caller.task, p));
    out += fmt::format("{} {} {} {} {} {} 0 0 ", vsize, rss, rss_limit.rlim_cur, layout.start_code, layout.end_code,
                       layout.start_stack);
    out += fmt::format("{} {} {} {} 0 0 0 {} 0 {} {} 0 0 0 ", (sig.pending | sig.shared_pending) & 0xffffffffu,
                       sig.blocked & 0xffffffffu, sig.ignored & 0xffffffffu, sig.caught & 0xffffffffu,
                       p.group->exit_signal, rt_priority, policy);
    out += fmt::format("{} {} {} {} {} {} {} {}\n", layout.start_data, layout.end_data, layout.start_brk,
                       layout.arg_start, layout.arg_end, layout.env_start, layout.env_end, exit_code);
    return out;
}

Result<std::string> StatmText(const FsCaller&, const ProcessRef& p) {
    std::shared_ptr<mm::MemoryManager> mm = p.task ? p.task->mm_ptr() : nullptr;
    if (!mm)
        return std::string("0 0 0 0 0 0 0\n");
    uint64_t size = mm->virtual_size() / 4096, resident = 0, shared = 0, text = 0, data = 0;
    for (const auto& v : mm->Vmas()) {
        resident += v.resident / 4096;
        if (!v.anonymous)
            shared += (v.resident - v.private_resident) / 4096;
        if ((v.prot & PROT_EXEC) && !v.anonymous)
            text += (v.end - v.start) / 4096;
        else if ((v.prot & PROT_WRITE) && !v.shared)
            data += (v.end - v.start) / 4096;
    }
    return fmt::format("{} {} {} {} 0 {} 0\n", size, resident, shared, text, data);
}

Result<std::string> StatusText(const FsCaller& caller, const ProcessRef& p, bool thread) {
    char state = StateOf(caller, p);
    kernel::Credentials creds = p.task ? p.task->creds() : kernel::Credentials{};
    pid_t tid = thread && p.task ? p.task->tid() : p.group->pid();
    uint32_t umask = 022;
    if (p.task) {
        if (auto ctx = p.task->fs_context_ptr())
            umask = ctx->umask();
    }
    int fd_slots = 64;
    if (p.task) {
        if (auto fds = p.task->fd_table_ptr()) {
            auto list = fds->fds();
            while (!list.empty() && list.back() >= fd_slots)
                fd_slots *= 2;
        }
    }
    std::string groups;
    for (gid_t g : creds.groups)
        groups += fmt::format("{} ", g);
    std::string out = fmt::format("Name:\t{}\nUmask:\t{:04o}\nState:\t{}\nTgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t{}\n"
                                  "TracerPid:\t0\nUid:\t{}\t{}\t{}\t{}\nGid:\t{}\t{}\t{}\t{}\nFDSize:\t{}\nGroups:\t{}\n",
                                  CommOf(p), umask, StateName(state), p.group->pid(), tid, p.group->parent_pid(),
                                  creds.ruid, creds.euid, creds.suid, creds.fsuid, creds.rgid, creds.egid, creds.sgid,
                                  creds.fsgid, fd_slots, groups);
    out += fmt::format("NStgid:\t{}\nNSpid:\t{}\nNSpgid:\t{}\nNSsid:\t{}\n", p.group->pid(), tid, p.group->pgid(),
                       p.group->sid());

    std::shared_ptr<mm::MemoryManager> mm = p.task ? p.task->mm_ptr() : nullptr;
    if (mm) {
        uint64_t vm = mm->virtual_size() / 1024, rss_anon = 0, rss_file = 0, rss_shmem = 0, data = 0, stack = 0,
                 exe = 0, lib = 0;
        for (const auto& v : mm->Vmas()) {
            uint64_t kb = (v.end - v.start) / 1024;
            if (v.anonymous && v.shared)
                rss_shmem += v.resident / 1024;
            else if (v.anonymous)
                rss_anon += v.resident / 1024;
            else {
                rss_anon += v.private_resident / 1024;
                rss_file += (v.resident - v.private_resident) / 1024;
            }
            if (v.name == "[stack]")
                stack += kb;
            else if ((v.prot & PROT_WRITE) && !v.shared)
                data += kb;
            else if ((v.prot & PROT_EXEC) && !v.anonymous)
                (v.name == mm->layout().exe_path ? exe : lib) += kb;
        }
        uint64_t rss = rss_anon + rss_file + rss_shmem;
        out += fmt::format("VmPeak:\t{:8} kB\nVmSize:\t{:8} kB\nVmLck:\t{:8} kB\nVmPin:\t{:8} kB\nVmHWM:\t{:8} kB\n"
                           "VmRSS:\t{:8} kB\nRssAnon:\t{:8} kB\nRssFile:\t{:8} kB\nRssShmem:\t{:8} kB\n"
                           "VmData:\t{:8} kB\nVmStk:\t{:8} kB\nVmExe:\t{:8} kB\nVmLib:\t{:8} kB\nVmPTE:\t{:8} kB\n"
                           "VmSwap:\t{:8} kB\nHugetlbPages:\t{:8} kB\n",
                           vm, vm, 0, 0, rss, rss, rss_anon, rss_file, rss_shmem, data, stack, exe, lib,
                           (vm / 512 + 1) * kPageKb, 0, 0);
    }
    out += fmt::format("CoreDumping:\t0\nTHP_enabled:\t1\nThreads:\t{}\n", p.group->tasks().size());
    SignalMasks sig = MasksOf(p);
    struct rlimit sigq = p.group->rlimit(RLIMIT_SIGPENDING);
    out += fmt::format("SigQ:\t0/{}\nSigPnd:\t{}\nShdPnd:\t{}\nSigBlk:\t{}\nSigIgn:\t{}\nSigCgt:\t{}\n", sigq.rlim_cur,
                       HexMask(sig.pending), HexMask(sig.shared_pending), HexMask(sig.blocked),
                       HexMask(sig.ignored), HexMask(sig.caught));
    const kernel::CapabilitySets& caps = creds.caps;
    out += fmt::format("CapInh:\t{}\nCapPrm:\t{}\nCapEff:\t{}\nCapBnd:\t{}\nCapAmb:\t{}\n", HexMask(caps.inheritable),
                       HexMask(caps.permitted), HexMask(caps.effective), HexMask(caps.bounding), HexMask(caps.ambient));
    int ncpus = kernel::SandboxCpuCount();
    out += fmt::format("NoNewPrivs:\t{}\nSeccomp:\t0\nSeccomp_filters:\t0\nSpeculation_Store_Bypass:\tthread vulnerable\n"
                       "SpeculationIndirectBranch:\tconditional enabled\nCpus_allowed:\t{}\nCpus_allowed_list:\t{}\n"
                       "Mems_allowed:\t00000001\nMems_allowed_list:\t0\n",
                       creds.no_new_privs ? 1 : 0, CpuMaskOf(ncpus), CpuListOf(ncpus));
    kernel::ResourceUsage u = UsageOf(p, thread);
    out += fmt::format("voluntary_ctxt_switches:\t{}\nnonvoluntary_ctxt_switches:\t{}\n", u.nvcsw, u.nivcsw);
    return out;
}

}  // namespace moat::fs::proc
