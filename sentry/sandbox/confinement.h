#pragma once
// Confinement: what `moat do` does to the sentry itself before the first app instruction, so
// that even a bug in Moat's own code gives a workload almost nothing on the host (issue #7).
//
// The steps, in the order `moat do` runs them:
//  1. EnterNamespaces — at the very start, while the sentry is still single-threaded (a new
//     user namespace needs that): a user namespace when not root (or when the host refuses
//     us a mount namespace), then new mount, IPC, UTS, cgroup and (unless host networking)
//     network namespaces; mounts made private; a detached clone of the host's mount tree
//     (open_tree) is handed to fs::HostIo, and the host /proc to the platform, so that the
//     sentry can still serve host files once its "/" is gone.
//  2. Seal — after the Vfs and binds are built and before the platform forks its stubs:
//     pivot_root into an empty read-only tmpfs, every capability but the file ones dropped
//     (bounding, ambient, inheritable, permitted, effective), no_new_privs, rlimits.
//     Capabilities and no_new_privs are per thread: Seal runs before any sentry thread
//     exists, so every thread inherits the reduced set.
//  3. LockDown — last, just before the init process starts: the host seccomp allowlist
//     (host_filter.h), synchronised to every sentry thread (TSYNC).
//
// No PID namespace: the sentry forks only the stub zygote, which must see the sentry as its
// parent (platform/systrap/README.md "Limits"), and the sandbox's PIDs are the sentry's own.

#include "platform/base/result.h"
#include "platform/base/unique_fd.h"

#include <string>
#include <vector>

namespace moat::sandbox {

struct ConfineOptions {
    // --network=host: stay in the host's network namespace and allow host sockets.
    bool host_network = false;
    // --no-host-filter (debugging): skip step 3.
    bool host_filter = true;
    // --cpus: the sentry, its threads and its stubs run on this many host CPUs (0 = all).
    unsigned cpus = 0;
    // Debugging (MOAT_HOST_FILTER_LOG=1 in the environment): a host call off the list is
    // logged by the host kernel (SECCOMP_RET_LOG) instead of killing the sentry.
    bool log_filter = false;
    // OCI containers: Seal mounts a FUSE connection at /proc of the empty root, so that an
    // engine entering the sentry's mount namespace (podman top) finds the sandbox's procfs
    // there (fs/procfuse serves it). Best effort: without /dev/fuse the root stays empty.
    bool proc_fuse = false;
};

class Confinement {
public:
    explicit Confinement(ConfineOptions opts) : m_opts(opts) {}

    Result<void> EnterNamespaces();
    Result<void> Seal();
    Result<void> LockDown();

    // Host fds the sentry (or a stub sharing its fd table) may mmap, ftruncate and fallocate
    // after LockDown: the memory file and the platform's own shared memory.
    void AllowMapping(int fd) { m_mapped_fds.push_back(fd); }

    // An OCI container's control socket (bound before Seal): accept4 on `fd` with
    // `accept_flags` and recvmsg with `recv_flags` are allowed after LockDown.
    void AllowControlSocket(int fd, int accept_flags, int recv_flags) {
        m_control_fd = fd;
        m_control_accept_flags = accept_flags;
        m_control_recv_flags = recv_flags;
    }

    // The /dev/fuse fd of the /proc mount Seal made (invalid when none): for
    // fs::procfuse::ProcFuseServer, started after Seal.
    UniqueFd TakeProcFuseFd() { return std::move(m_proc_fuse); }

    // Whether step 1 made a user namespace (rootless, or root without CAP_SYS_ADMIN).
    bool in_user_namespace() const { return m_user_namespace; }

private:
    ConfineOptions m_opts;
    bool m_user_namespace = false;
    std::vector<int> m_mapped_fds;
    int m_control_fd = -1;
    int m_control_accept_flags = 0;
    int m_control_recv_flags = 0;
    UniqueFd m_proc_fuse;
};

}  // namespace moat::sandbox
