// The sandbox's identity and limits: the getuid family, uname, rlimits.

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <sys/resource.h>
#include <sys/utsname.h>

namespace moat::syscalls {

// Implements Linux getuid(2) and friends: the sandbox's own credentials.
SyscallResult sys_getuid(kernel::Task& t, const SyscallArgs&) { return t.creds().ruid; }
SyscallResult sys_geteuid(kernel::Task& t, const SyscallArgs&) { return t.creds().euid; }
SyscallResult sys_getgid(kernel::Task& t, const SyscallArgs&) { return t.creds().rgid; }
SyscallResult sys_getegid(kernel::Task& t, const SyscallArgs&) { return t.creds().egid; }

// Implements Linux getresuid(2).
SyscallResult sys_getresuid(kernel::Task& t, const SyscallArgs& a) {
    const auto& c = t.creds();
    TRY(t.mm().CopyOutObject<uint32_t>(arg_addr(a, 0), c.ruid));
    TRY(t.mm().CopyOutObject<uint32_t>(arg_addr(a, 1), c.euid));
    TRY(t.mm().CopyOutObject<uint32_t>(arg_addr(a, 2), c.suid));
    return 0;
}

// Implements Linux getresgid(2).
SyscallResult sys_getresgid(kernel::Task& t, const SyscallArgs& a) {
    const auto& c = t.creds();
    TRY(t.mm().CopyOutObject<uint32_t>(arg_addr(a, 0), c.rgid));
    TRY(t.mm().CopyOutObject<uint32_t>(arg_addr(a, 1), c.egid));
    TRY(t.mm().CopyOutObject<uint32_t>(arg_addr(a, 2), c.sgid));
    return 0;
}

// Implements Linux getgroups(2).
SyscallResult sys_getgroups(kernel::Task& t, const SyscallArgs& a) {
    const auto& groups = t.creds().groups;
    int size = arg_int(a, 0);
    if (size < 0)
        return Error(EINVAL);
    if (size == 0)
        return groups.size();
    if (static_cast<size_t>(size) < groups.size())
        return Error(EINVAL);
    if (!groups.empty())
        TRY(t.mm().CopyOut(arg_addr(a, 1), groups.data(), groups.size() * sizeof(gid_t)));
    return groups.size();
}

// Implements Linux uname(2): Moat's own release string and the sandbox's hostname.
SyscallResult sys_uname(kernel::Task& t, const SyscallArgs& a) {
    struct utsname u = t.kernel().utsname();
    TRY(t.mm().CopyOutObject(arg_addr(a, 0), u));
    return 0;
}

namespace {
// Linux's fs.nr_open default: the ceiling for RLIMIT_NOFILE.
constexpr rlim_t kNrOpen = 1024 * 1024;

Result<void> CheckNewLimit(int resource, const struct rlimit& lim) {
    if (lim.rlim_cur > lim.rlim_max)
        return Error(EINVAL);
    if (resource == RLIMIT_NOFILE && lim.rlim_max > kNrOpen)
        return Error(EPERM);
    return {};
}
}  // namespace

// Implements Linux prlimit64(2) for the caller's own process (others arrive with #3).
SyscallResult sys_prlimit64(kernel::Task& t, const SyscallArgs& a) {
    pid_t pid = arg_int(a, 0);
    unsigned resource = arg_uint(a, 1);
    if (resource >= RLIM_NLIMITS)
        return Error(EINVAL);
    if (pid != 0 && pid != t.pid())
        return Error(ESRCH);
    struct rlimit new_lim{};
    if (a[2]) {
        new_lim = TRY(t.mm().CopyInObject<struct rlimit>(arg_addr(a, 2)));
        TRY(CheckNewLimit(static_cast<int>(resource), new_lim));
    }
    if (a[3])
        TRY(t.mm().CopyOutObject(arg_addr(a, 3), t.thread_group().rlimit(static_cast<int>(resource))));
    if (a[2])
        t.thread_group().set_rlimit(static_cast<int>(resource), new_lim);
    return 0;
}

// Implements Linux getrlimit(2).
SyscallResult sys_getrlimit(kernel::Task& t, const SyscallArgs& a) {
    unsigned resource = arg_uint(a, 0);
    if (resource >= RLIM_NLIMITS)
        return Error(EINVAL);
    TRY(t.mm().CopyOutObject(arg_addr(a, 1), t.thread_group().rlimit(static_cast<int>(resource))));
    return 0;
}

// Implements Linux setrlimit(2).
SyscallResult sys_setrlimit(kernel::Task& t, const SyscallArgs& a) {
    unsigned resource = arg_uint(a, 0);
    if (resource >= RLIM_NLIMITS)
        return Error(EINVAL);
    auto lim = TRY(t.mm().CopyInObject<struct rlimit>(arg_addr(a, 1)));
    TRY(CheckNewLimit(static_cast<int>(resource), lim));
    t.thread_group().set_rlimit(static_cast<int>(resource), lim);
    return 0;
}

}  // namespace moat::syscalls
