#include "sentry/sandbox/confinement.h"

#include "fs/host/host_io.h"
#include "platform/host_proc.h"
#include "sentry/sandbox/host_filter.h"
#include "sentry/sandbox/namespaces.h"
#include "sentry/sandbox/privileges.h"

#include <fcntl.h>

#include <filesystem>
#include <iterator>

namespace moat::sandbox {

Result<void> Confinement::EnterNamespaces() {
    // First, so that everything counting the sandbox's CPUs (its /sys, /proc) sees the limit.
    if (m_opts.cpus)
        TRY(LimitCpus(m_opts.cpus));
    TRY(UnshareNamespaces(m_opts.host_network, &m_user_namespace));
    UniqueFd tree = TRY(CloneHostTree());
    // The host's procfs, for the platform's reads of its stubs' CPU time.
    UniqueFd proc(::openat(tree.get(), "proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!proc)
        return HostErrno();
    platform::SetHostProcDir(std::move(proc));
    fs::HostIo::UseHostTree(std::move(tree));
    return {};
}

namespace {

// Capabilities and no_new_privs are per thread: a thread started before Seal would keep what
// Seal drops. EBUSY when the sentry has more than one thread (read from the host /proc
// while it is still in reach).
Result<void> RequireSingleThread() {
    std::error_code ec;
    auto tasks = std::filesystem::directory_iterator("/proc/self/task", ec);
    if (ec)
        return Errno(ec.value());
    if (std::distance(begin(tasks), end(tasks)) != 1)
        return Errno(EBUSY);
    return {};
}

}  // namespace

Result<void> Confinement::Seal() {
    TRY(RequireSingleThread());
    TRY(PivotToEmptyRoot(m_opts.proc_fuse ? &m_proc_fuse : nullptr));
    TRY(LimitResources());
    TRY(DropCapabilities());
    TRY(SetNoNewPrivs());
    return {};
}

Result<void> Confinement::LockDown() {
    if (!m_opts.host_filter)
        return {};
    HostFilterOptions filter;
    filter.mode.host_network = m_opts.host_network;
    filter.mode.control_socket = m_control_fd >= 0;
    filter.control_fd = m_control_fd;
    filter.control_accept_flags = m_control_accept_flags;
    filter.control_recv_flags = m_control_recv_flags;
    filter.mapped_fds = m_mapped_fds;
    filter.log = m_opts.log_filter;
    return InstallHostFilter(filter);
}

}  // namespace moat::sandbox
