// Resource accounting: getrusage, times, sysinfo.
// FIXME(#3): CPU times are zero until the platform reports the app threads' CPU use.

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/timekeeper.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/times.h>

namespace moat::syscalls {

// Implements Linux getrusage(2): max RSS from the memory manager; CPU times zero for now.
SyscallResult sys_getrusage(kernel::Task& t, const SyscallArgs& a) {
    int who = arg_int(a, 0);
    if (who != RUSAGE_SELF && who != RUSAGE_CHILDREN && who != RUSAGE_THREAD)
        return Error(EINVAL);
    struct rusage ru{};
    if (who != RUSAGE_CHILDREN)
        ru.ru_maxrss = static_cast<long>(t.mm().resident_pages() * mm::kPageSize / 1024);
    TRY(t.mm().CopyOutObject(arg_addr(a, 1), ru));
    return 0;
}

// Implements Linux times(2): clock ticks (USER_HZ = 100) since boot.
SyscallResult sys_times(kernel::Task& t, const SyscallArgs& a) {
    if (a[0]) {
        struct tms buf{};
        TRY(t.mm().CopyOutObject(arg_addr(a, 0), buf));
    }
    auto now = TRY(t.kernel().timekeeper().Now(CLOCK_BOOTTIME));
    return static_cast<uint64_t>(now.tv_sec) * 100 + static_cast<uint64_t>(now.tv_nsec) / 10000000;
}

// Implements Linux sysinfo(2): the sandbox's uptime and process count; memory figures are
// the host's until memory limits land (#7).
SyscallResult sys_sysinfo(kernel::Task& t, const SyscallArgs& a) {
    struct sysinfo host{};
    ::sysinfo(&host);
    struct sysinfo info{};
    auto up = TRY(t.kernel().timekeeper().Now(CLOCK_BOOTTIME));
    info.uptime = up.tv_sec;
    info.totalram = host.totalram;
    info.freeram = host.freeram;
    info.mem_unit = host.mem_unit;
    info.procs = static_cast<unsigned short>(t.kernel().task_count());
    TRY(t.mm().CopyOutObject(arg_addr(a, 0), info));
    return 0;
}

}  // namespace moat::syscalls
