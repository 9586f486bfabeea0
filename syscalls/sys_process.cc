// Process identity and lifetime: exit, exit_group, getpid & friends, set_tid_address,
// robust lists, arch_prctl, prctl.

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/process_tree.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/capability_prctl.h"
#include "syscalls/handlers.h"

#include <asm/prctl.h>
#include <linux/prctl.h>
#include <sys/prctl.h>

#include <cstring>

namespace moat::syscalls {

// Implements Linux exit(2): ends the calling thread; the last thread's exit ends the process.
SyscallResult sys_exit(kernel::Task& t, const SyscallArgs& a) {
    int code = arg_int(a, 0) & 0xff;
    if (t.thread_group().tasks().size() <= 1)
        t.ExitGroup(code << 8);
    else
        t.Exit(code);
    return 0;
}

// Implements Linux exit_group(2).
SyscallResult sys_exit_group(kernel::Task& t, const SyscallArgs& a) {
    t.ExitGroup((arg_int(a, 0) & 0xff) << 8);
    return 0;
}

// Implements Linux getpid(2): the sandbox's own PID (PID 1 for the first process).
SyscallResult sys_getpid(kernel::Task& t, const SyscallArgs&) { return static_cast<uint64_t>(t.pid()); }
// Implements Linux gettid(2).
SyscallResult sys_gettid(kernel::Task& t, const SyscallArgs&) { return static_cast<uint64_t>(t.tid()); }
// Implements Linux getppid(2): 0 for PID 1, as in a fresh PID namespace.
SyscallResult sys_getppid(kernel::Task& t, const SyscallArgs&) {
    return static_cast<uint64_t>(t.thread_group().parent_pid());
}
// getpgrp, getpgid, getsid, setpgid, setsid: sys_pgrp.cc.

// Implements Linux set_tid_address(2).
SyscallResult sys_set_tid_address(kernel::Task& t, const SyscallArgs& a) {
    t.clear_child_tid = a[0];
    return static_cast<uint64_t>(t.tid());
}

// Implements Linux set_robust_list(2): recorded; walked on thread death once threads land.
SyscallResult sys_set_robust_list(kernel::Task& t, const SyscallArgs& a) {
    if (a[1] != 3 * sizeof(uint64_t))  // sizeof(struct robust_list_head)
        return Error(EINVAL);
    t.robust_list_head = a[0];
    t.robust_list_len = a[1];
    return 0;
}

// Implements Linux get_robust_list(2) for the caller.
SyscallResult sys_get_robust_list(kernel::Task& t, const SyscallArgs& a) {
    pid_t pid = arg_int(a, 0);
    if (pid != 0 && pid != t.tid())
        return Error(ESRCH);
    TRY(t.mm().CopyOutObject<uint64_t>(arg_addr(a, 1), t.robust_list_head));
    TRY(t.mm().CopyOutObject<uint64_t>(arg_addr(a, 2), t.robust_list_len));
    return 0;
}

// Implements Linux arch_prctl(2): the FS/GS bases; CPUID faulting is not offered.
SyscallResult sys_arch_prctl(kernel::Task& t, const SyscallArgs& a) {
    // Linux refuses bases at or above TASK_SIZE_MAX with EPERM.
    constexpr uint64_t kTaskSizeMax = (1ull << 47) - 4096;
    platform::Registers& r = t.regs();
    switch (arg_int(a, 0)) {
    case ARCH_SET_FS:
        if (a[1] >= kTaskSizeMax)
            return Error(EPERM);
        r.fs_base = a[1];
        return 0;
    case ARCH_SET_GS:
        if (a[1] >= kTaskSizeMax)
            return Error(EPERM);
        r.gs_base = a[1];
        return 0;
    case ARCH_GET_FS:
        TRY(t.mm().CopyOutObject<uint64_t>(arg_addr(a, 1), r.fs_base));
        return 0;
    case ARCH_GET_GS:
        TRY(t.mm().CopyOutObject<uint64_t>(arg_addr(a, 1), r.gs_base));
        return 0;
    case ARCH_GET_CPUID:
        return 1;  // CPUID is not faulting
    case ARCH_SET_CPUID:
        return a[1] ? SyscallResult(0) : SyscallResult(Error(ENODEV));
    default:
        return Error(EINVAL);
    }
}

// Implements Linux prctl(2): the name, dumpable, subreaper, pdeathsig, and the capability
// options (capability_prctl.h); the rest arrives with #3.
SyscallResult sys_prctl(kernel::Task& t, const SyscallArgs& a) {
    switch (arg_int(a, 0)) {
    case PR_SET_NAME: {
        char name[16] = {};
        // Linux copies up to 16 bytes and terminates; a short readable string is fine.
        for (size_t i = 0; i < sizeof(name) - 1; ++i) {
            TRY(t.mm().CopyIn(mm::UserAddr(a[1] + i), &name[i], 1));
            if (!name[i])
                break;
        }
        t.comm = name;
        return 0;
    }
    case PR_GET_NAME: {
        char name[16] = {};
        strncpy(name, t.comm.c_str(), sizeof(name) - 1);
        TRY(t.mm().CopyOut(arg_addr(a, 1), name, sizeof(name)));
        return 0;
    }
    case PR_GET_DUMPABLE:
        return 1;
    case PR_SET_DUMPABLE:
        return a[1] <= 1 ? SyscallResult(0) : SyscallResult(Error(EINVAL));
    case PR_SET_CHILD_SUBREAPER:
        t.kernel().processes().SetChildSubreaper(t.thread_group(), a[1] != 0);
        return 0;
    case PR_GET_CHILD_SUBREAPER:
        TRY(t.mm().CopyOutObject<int>(arg_addr(a, 1), t.kernel().processes().ChildSubreaper(t.thread_group()) ? 1 : 0));
        return 0;
    case PR_SET_PDEATHSIG:
        if (a[1] > static_cast<uint64_t>(kernel::kNumSignals))
            return Error(EINVAL);
        t.pdeathsig = static_cast<int>(a[1]);
        return 0;
    case PR_GET_PDEATHSIG:
        TRY(t.mm().CopyOutObject<int>(arg_addr(a, 1), t.pdeathsig));
        return 0;
    default:
        // Capabilities, keepcaps and no_new_privs: sys_capability.cc.
        if (auto r = CapabilityPrctl(t, a))
            return *r;
        return Error(EINVAL);
    }
}

}  // namespace moat::syscalls
