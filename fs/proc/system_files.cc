// /proc/{meminfo,cpuinfo,stat,uptime,loadavg,version,filesystems}.
//
// Where the figures come from:
//  - memory: MemTotal is the host's physical memory (sysinfo(2) in the sentry) or the
//    sandbox's memory limit (--memory-limit, the memory file's capacity), the smaller; "used" is the sandbox's memory file (every frame of anonymous
//    memory, tmpfs and page cache), so MemFree/MemAvailable = MemTotal - that.
//  - CPUs: kernel::SandboxCpuCount() (the CPUs the sentry may run on: the host's, or --cpus).
//  - time: the sandbox's CLOCK_BOOTTIME (the clock apps read), so uptime, btime and each
//    process's starttime agree with clock_gettime and sysinfo.
//  - CPU time: the sum of every live process's usage (and its reaped children's).

#include "fs/proc/system_files.h"

#include "fs/proc/process.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/sched.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/kernel/timekeeper.h"
#include "sentry/kernel/usage.h"
#include "sentry/mm/memory_file.h"

#include <algorithm>
#include <fmt/format.h>

#include <sys/sysinfo.h>
#include <sys/utsname.h>

namespace moat::fs::proc {

using namespace synthetic;

namespace {

using KernelText = std::function<Result<std::string>(kernel::Kernel&)>;

ChildSpec KernelFile(std::string name, KernelText text, std::shared_ptr<FileSystem> fs, struct timespec time) {
    FileOps ops;
    ops.generate = [text = std::move(text)](const FsCaller& caller) -> Result<std::string> {
        if (!caller.task)
            return Error(ENOENT);
        return text(caller.task->kernel());
    };
    // Linux's proc_reg_write: a /proc entry without proc_write fails with EIO.
    ops.write = [](const FsCaller&, std::string_view) -> Result<void> { return Error(EIO); };
    return FileChild(std::move(name), 0444, std::move(ops), std::move(fs), time);
}

uint64_t BootNs(kernel::Kernel& k) {
    auto now = k.timekeeper().Now(CLOCK_BOOTTIME);
    if (!now.ok())
        return 0;
    return static_cast<uint64_t>(now->tv_sec) * 1000000000ull + static_cast<uint64_t>(now->tv_nsec);
}

struct SandboxLoad {
    uint64_t user_ns = 0, sys_ns = 0;
    size_t tasks = 0;
    pid_t max_pid = 0;
};

SandboxLoad LoadOf(kernel::Kernel& k) {
    SandboxLoad l;
    k.ForEachThreadGroup([&](kernel::ThreadGroup& tg) {
        kernel::ResourceUsage u = kernel::GroupUsage(tg, true);
        l.user_ns += u.user_ns;
        l.sys_ns += u.sys_ns;
        l.tasks += tg.tasks().size();
        l.max_pid = std::max(l.max_pid, tg.pid());
    });
    return l;
}

Result<std::string> Meminfo(kernel::Kernel& k) {
    struct sysinfo host {};
    ::sysinfo(&host);
    uint64_t total_kb = std::min(static_cast<uint64_t>(host.totalram) * host.mem_unit, k.memory_file().capacity()) / 1024;
    uint64_t used_kb = k.memory_file().frames_in_use() * 4;
    uint64_t free_kb = total_kb > used_kb ? total_kb - used_kb : 0;
    auto line = [](const char* name, uint64_t kb) { return fmt::format("{:<16}{:>8} kB\n", name, kb); };
    std::string out;
    out += line("MemTotal:", total_kb);
    out += line("MemFree:", free_kb);
    out += line("MemAvailable:", free_kb);
    out += line("Buffers:", 0);
    out += line("Cached:", 0);
    out += line("SwapCached:", 0);
    out += line("Active:", used_kb);
    out += line("Inactive:", 0);
    out += line("Active(anon):", used_kb);
    out += line("Inactive(anon):", 0);
    out += line("Active(file):", 0);
    out += line("Inactive(file):", 0);
    out += line("Unevictable:", 0);
    out += line("Mlocked:", 0);
    out += line("SwapTotal:", 0);
    out += line("SwapFree:", 0);
    out += line("Dirty:", 0);
    out += line("Writeback:", 0);
    out += line("AnonPages:", used_kb);
    out += line("Mapped:", 0);
    out += line("Shmem:", 0);
    out += line("KReclaimable:", 0);
    out += line("Slab:", 0);
    out += line("SReclaimable:", 0);
    out += line("SUnreclaim:", 0);
    out += line("KernelStack:", 0);
    out += line("PageTables:", 0);
    out += line("CommitLimit:", total_kb);
    out += line("Committed_AS:", used_kb);
    out += line("VmallocTotal:", 34359738367ull);
    out += line("VmallocUsed:", 0);
    out += line("VmallocChunk:", 0);
    out += line("AnonHugePages:", 0);
    out += line("ShmemHugePages:", 0);
    out += line("ShmemPmdMapped:", 0);
    out += "HugePages_Total:       0\nHugePages_Free:        0\nHugePages_Rsvd:        0\nHugePages_Surp:        0\n";
    out += line("Hugepagesize:", 2048);
    out += line("Hugetlb:", 0);
    out += line("DirectMap4k:", 0);
    out += line("DirectMap2M:", total_kb);
    return out;
}

Result<std::string> Stat(kernel::Kernel& k) {
    int ncpus = kernel::SandboxCpuCount();
    SandboxLoad l = LoadOf(k);
    uint64_t up = Ticks(BootNs(k));
    uint64_t user = Ticks(l.user_ns), sys = Ticks(l.sys_ns);
    uint64_t busy = user + sys;
    uint64_t idle = up * static_cast<uint64_t>(ncpus) > busy ? up * static_cast<uint64_t>(ncpus) - busy : 0;
    std::string out = fmt::format("cpu  {} 0 {} {} 0 0 0 0 0 0\n", user, sys, idle);
    auto share = [ncpus](uint64_t v, int cpu) { return v / ncpus + (static_cast<uint64_t>(cpu) < v % ncpus ? 1 : 0); };
    for (int cpu = 0; cpu < ncpus; ++cpu)
        out += fmt::format("cpu{} {} 0 {} {} 0 0 0 0 0 0\n", cpu, share(user, cpu), share(sys, cpu), share(idle, cpu));
    struct timespec real {};
    clock_gettime(CLOCK_REALTIME, &real);
    uint64_t btime = static_cast<uint64_t>(real.tv_sec) - BootNs(k) / 1000000000ull;
    out += fmt::format("intr 0\nctxt 0\nbtime {}\nprocesses {}\nprocs_running 1\nprocs_blocked 0\n"
                       "softirq 0 0 0 0 0 0 0 0 0 0 0\n",
                       btime, l.max_pid);
    return out;
}

Result<std::string> Uptime(kernel::Kernel& k) {
    uint64_t ns = BootNs(k);
    SandboxLoad l = LoadOf(k);
    uint64_t all = ns * static_cast<uint64_t>(kernel::SandboxCpuCount());
    uint64_t busy = l.user_ns + l.sys_ns;
    uint64_t idle = all > busy ? all - busy : 0;
    return fmt::format("{}.{:02} {}.{:02}\n", ns / 1000000000ull, ns / 10000000ull % 100, idle / 1000000000ull,
                       idle / 10000000ull % 100);
}

Result<std::string> LoadAvg(kernel::Kernel& k) {
    SandboxLoad l = LoadOf(k);
    return fmt::format("0.00 0.00 0.00 1/{} {}\n", l.tasks, l.max_pid);
}

Result<std::string> Version(kernel::Kernel& k) {
    struct utsname u = k.utsname();
    return fmt::format("Linux version {} (moat@moat) (moat sentry) {}\n", u.release, u.version);
}

}  // namespace

std::vector<ChildSpec> SystemFiles(std::shared_ptr<FileSystem> fs, struct timespec time) {
    std::vector<ChildSpec> c;
    c.push_back(KernelFile("cpuinfo", [](kernel::Kernel&) { return Result<std::string>(CpuinfoText(kernel::SandboxCpuCount())); },
                           fs, time));
    c.push_back(TextChild("filesystems", "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tpipefs\nnodev\tdevpts\n", fs,
                          time));
    c.push_back(KernelFile("loadavg", LoadAvg, fs, time));
    c.push_back(KernelFile("meminfo", Meminfo, fs, time));
    c.push_back(KernelFile("stat", Stat, fs, time));
    c.push_back(KernelFile("uptime", Uptime, fs, time));
    c.push_back(KernelFile("version", Version, fs, time));
    return c;
}

}  // namespace moat::fs::proc
