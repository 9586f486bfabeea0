// Resource accounting: getrusage, times, sysinfo, and the CPU-time clocks of clock_gettime.
// CPU times are the host's account of the app threads (platform Context::CpuTime, see
// sentry/kernel/usage.h).

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/process_tree.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/kernel/timekeeper.h"
#include "sentry/kernel/usage.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/cpu_clock.h"
#include "syscalls/handlers.h"

#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <time.h>

namespace moat::syscalls {

namespace {

uint64_t CurrentRssKb(kernel::Task& t) { return t.mm().resident_pages() * mm::kPageSize / 1024; }

// USER_HZ = 100 ticks per second.
clock_t Ticks(uint64_t ns) { return static_cast<clock_t>(ns / 10000000); }

}  // namespace

// Implements Linux getrusage(2): CPU times, minor faults (those the sentry resolved) and the
// largest resident set seen. Differs: no major faults or context-switch counts (zero);
// ru_maxrss is the high-water mark of what the sentry observed (at getrusage calls and
// thread exits), not of every page fault.
SyscallResult sys_getrusage(kernel::Task& t, const SyscallArgs& a) {
    int who = arg_int(a, 0);
    kernel::ResourceUsage u;
    auto& account = t.thread_group().usage;
    switch (who) {
    case RUSAGE_SELF:
        account.NoteRss(CurrentRssKb(t));
        u = kernel::GroupUsage(t.thread_group());
        break;
    case RUSAGE_CHILDREN:
        u = account.children();
        break;
    case RUSAGE_THREAD:
        account.NoteRss(CurrentRssKb(t));
        u = kernel::TaskUsage(t);
        u.maxrss_kb = kernel::GroupUsage(t.thread_group()).maxrss_kb;
        break;
    default:
        return Error(EINVAL);
    }
    TRY(t.mm().CopyOutObject(arg_addr(a, 1), u.ToRusage()));
    return 0;
}

// Implements Linux times(2): the process's and its reaped children's CPU times in clock
// ticks (USER_HZ = 100), and ticks since the sandbox booted.
SyscallResult sys_times(kernel::Task& t, const SyscallArgs& a) {
    if (a[0]) {
        auto self = kernel::GroupUsage(t.thread_group());
        auto children = t.thread_group().usage.children();
        struct tms buf{};
        buf.tms_utime = Ticks(self.user_ns);
        buf.tms_stime = Ticks(self.sys_ns);
        buf.tms_cutime = Ticks(children.user_ns);
        buf.tms_cstime = Ticks(children.sys_ns);
        TRY(t.mm().CopyOutObject(arg_addr(a, 0), buf));
    }
    auto now = TRY(t.kernel().timekeeper().Now(CLOCK_BOOTTIME));
    return static_cast<uint64_t>(now.tv_sec) * 100 + static_cast<uint64_t>(now.tv_nsec) / 10000000;
}

// Implements Linux sysinfo(2): the sandbox's uptime, process count and RAM (the memory
// file's view: --memory-limit when set, the host's total otherwise).
SyscallResult sys_sysinfo(kernel::Task& t, const SyscallArgs& a) {
    struct sysinfo info{};
    auto up = TRY(t.kernel().timekeeper().Now(CLOCK_BOOTTIME));
    info.uptime = up.tv_sec;
    info.totalram = t.kernel().memory_file().ram_bytes();
    info.freeram = t.kernel().memory_file().free_ram_bytes();
    info.mem_unit = 1;
    info.procs = static_cast<unsigned short>(t.kernel().task_count());
    TRY(t.mm().CopyOutObject(arg_addr(a, 0), info));
    return 0;
}

// The CPU-time clocks (Linux's posix-cpu-timers): CLOCK_PROCESS_CPUTIME_ID,
// CLOCK_THREAD_CPUTIME_ID and the dynamic ids of clock_getcpuclockid/pthread_getcpuclockid
// (~pid << 3 | type, bit 2 for a thread), type PROF (user+sys), VIRT (user) or SCHED
// (runtime). A thread clock names a thread of the caller's process. EINVAL otherwise.
Result<struct timespec> CpuClockNow(kernel::Task& t, clockid_t clock) {
    constexpr int kProf = 0, kVirt = 1, kSched = 2, kPerThread = 4;
    bool thread;
    int type;
    kernel::ResourceUsage u;
    if (clock == CLOCK_PROCESS_CPUTIME_ID || clock == CLOCK_THREAD_CPUTIME_ID) {
        thread = clock == CLOCK_THREAD_CPUTIME_ID;
        type = kSched;
        u = thread ? kernel::TaskUsage(t) : kernel::GroupUsage(t.thread_group());
    } else {
        pid_t pid = static_cast<pid_t>(~(clock >> 3));
        thread = clock & kPerThread;
        type = clock & 3;
        if (type == 3)
            return Error(EINVAL);
        if (thread) {
            std::shared_ptr<kernel::Task> target = pid == 0 ? nullptr : t.kernel().processes().FindTask(pid);
            if (pid != 0 && (!target || &target->thread_group() != &t.thread_group()))
                return Error(EINVAL);
            u = kernel::TaskUsage(target ? *target : t);
        } else {
            std::shared_ptr<kernel::ThreadGroup> group = pid == 0 ? nullptr : t.kernel().processes().FindGroup(pid);
            if (pid != 0 && !group)
                return Error(EINVAL);
            u = kernel::GroupUsage(group ? *group : t.thread_group());
        }
    }
    uint64_t ns = type == kVirt ? u.user_ns : u.user_ns + u.sys_ns;
    (void)kProf;
    return timespec{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}

}  // namespace moat::syscalls
