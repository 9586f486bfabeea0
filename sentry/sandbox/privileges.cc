#include "sentry/sandbox/privileges.h"

#include <sched.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace moat::sandbox {

uint64_t KeptCapabilities() {
    return (1ull << CAP_CHOWN) | (1ull << CAP_DAC_OVERRIDE) | (1ull << CAP_DAC_READ_SEARCH) |
           (1ull << CAP_FOWNER) | (1ull << CAP_FSETID);
}

Result<void> DropCapabilities() {
    const uint64_t keep = KeptCapabilities();
    // The bounding set first: dropping needs CAP_SETPCAP, which goes with the capset below.
    for (int cap = 0; ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; ++cap)
        if (!(keep & (1ull << cap)) && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
            return HostErrno();
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
        return HostErrno();
    __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (::syscall(SYS_capget, &header, data) != 0)
        return HostErrno();
    uint64_t permitted = (uint64_t{data[1].permitted} << 32 | data[0].permitted) & keep;
    for (int i = 0; i < 2; ++i) {
        data[i].permitted = static_cast<uint32_t>(permitted >> (32 * i));
        data[i].effective = data[i].permitted;
        data[i].inheritable = 0;
    }
    if (::syscall(SYS_capset, &header, data) != 0)
        return HostErrno();
    return {};
}

Result<void> SetNoNewPrivs() {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return HostErrno();
    if (::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0)
        return HostErrno();
    return {};
}

Result<void> LimitResources() {
    const struct rlimit zero = {0, 0};
    for (int resource : {RLIMIT_CORE, RLIMIT_MSGQUEUE, RLIMIT_RTPRIO, RLIMIT_MEMLOCK})
        if (::setrlimit(static_cast<__rlimit_resource>(resource), &zero) != 0)
            return HostErrno();
    struct rlimit files;
    if (::getrlimit(RLIMIT_NOFILE, &files) != 0)
        return HostErrno();
    files.rlim_cur = files.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &files) != 0)
        return HostErrno();
    return {};
}

Result<void> LimitCpus(unsigned n) {
    if (n == 0)
        return Errno(EINVAL);
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (::sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
        return HostErrno();
    cpu_set_t kept;
    CPU_ZERO(&kept);
    for (int cpu = 0, taken = 0; cpu < CPU_SETSIZE && taken < static_cast<int>(n); ++cpu) {
        if (CPU_ISSET(cpu, &allowed)) {
            CPU_SET(cpu, &kept);
            ++taken;
        }
    }
    if (::sched_setaffinity(0, sizeof(kept), &kept) != 0)
        return HostErrno();
    return {};
}

void CloseInheritedFds() {
    ::syscall(SYS_close_range, 3, ~0u, 0);
}

}  // namespace moat::sandbox
