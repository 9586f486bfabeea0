#pragma once
// The sentry's own host seccomp filter (confinement.h, step 3), built with libseccomp: the
// host syscalls every sentry thread may make after start-up, argument-constrained where the
// sentry's use allows it, default action SECCOMP_RET_KILL_PROCESS. ptrace stubs are forked
// by sentry threads after it is installed and inherit it; systrap stubs are forked by a
// zygote made before it and carry only their own filter (platform/systrap/seccomp_filter.h).

#include "platform/base/result.h"

#include <string>
#include <vector>

namespace moat::sandbox {

// Which calls beyond the base list the sentry's configuration needs.
struct HostFilterMode {
    bool host_network = false;    // --network=host (or an OCI bundle's network namespace)
    bool control_socket = false;  // an OCI container's control socket (moat exec)
};

struct HostFilterOptions {
    HostFilterMode mode;
    // The OCI control socket's listening fd and the flags its accept4/recvmsg pass (only
    // those are allowed when the mode has control_socket without host_network).
    int control_fd = -1;
    int control_accept_flags = 0;
    int control_recv_flags = 0;
    std::vector<int> mapped_fds;   // fds mmap/fallocate may name (memory file, shared regions)
    // Debugging (MOAT_HOST_FILTER_LOG=1): a call outside the list is allowed and logged by
    // the host kernel (dmesg: "audit: type=1326 ... syscall=N") instead of killing the sentry.
    bool log = false;
};

struct HostSyscall {
    const char* name;
    const char* reason;  // which sentry code needs it, and how its arguments are constrained
    int refused_errno = 0;  // HostRefused only: the errno the call gets
};

// The allowlist, in the order `moat syscalls --host` prints it.
std::vector<HostSyscall> HostAllowlist(const HostFilterMode& mode);

// Calls that get an errno instead of a kill (glibc copes with their failure): not allowed,
// listed by `moat syscalls --host --verbose`.
std::vector<HostSyscall> HostRefused();

// Builds and loads the filter on every thread of the sentry (SCMP_FLTATR_CTL_TSYNC).
Result<void> InstallHostFilter(const HostFilterOptions& opts);

}  // namespace moat::sandbox
