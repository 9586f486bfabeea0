#include "sentry/sandbox/host_filter.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/stat.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace moat::sandbox {
namespace {

using AddRule = int (*)(scmp_filter_ctx ctx, int nr, const HostFilterOptions& opts);

struct RefusedEntry {
    const char* name;
    int err;
    const char* reason;
};

struct Entry {
    const char* name;
    const char* reason;
    AddRule add;  // null: allowed with any arguments
};

// glibc's pthread_create once clone3 says ENOSYS (below), and the ptrace platform's fork of a
// stub (SIGCHLD only: a plain child, no shared anything).
// The low 32 bits of argument `arg` equal `v`: int arguments (fds, signals, requests) reach
// the filter sign- or zero-extended, as the caller left the register (libseccomp's *_32
// macros only truncate the datum; they do not mask the argument).
scmp_arg_cmp Low32Eq(unsigned arg, uint32_t v) {
    return SCMP_CMP64(arg, SCMP_CMP_MASKED_EQ, 0xffffffffu, v);
}

constexpr uint64_t kThreadFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                                  CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
// A ptrace stub's own threads, cloned at its clone site (platform/ptrace/stub_process.cc).
constexpr uint64_t kStubThreadFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;

int AllowMmap(scmp_filter_ctx ctx, int nr, const HostFilterOptions& opts) {
    // Anonymous memory (fd -1: malloc, thread stacks), or one of the mapped fds; the stubs'
    // own copy of the memory file sits at fd 3 (stub_layout.h kMemoryFd).
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, Low32Eq(4, 0xffffffffu));
    std::vector<int> fds = opts.mapped_fds;
    fds.push_back(3);
    for (int fd : fds)
        rc = rc ? rc : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, Low32Eq(4, static_cast<uint32_t>(fd)));
    return rc;
}

int AllowClone(scmp_filter_ctx ctx, int nr, const HostFilterOptions&) {
    int rc = 0;
    for (uint64_t flags : {kThreadFlags, kStubThreadFlags, uint64_t{SIGCHLD}})
        rc = rc ? rc : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0_64(SCMP_CMP_EQ, flags));
    return rc;
}

int AllowIoctl(scmp_filter_ctx ctx, int nr, const HostFilterOptions&) {
    int rc = 0;
    for (unsigned long request : {FIONREAD, TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, TIOCSWINSZ})
        rc = rc ? rc : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, Low32Eq(1, static_cast<uint32_t>(request)));
    return rc;
}

int AllowTgkill(scmp_filter_ctx ctx, int nr, const HostFilterOptions&) {
    // Our own threads (any signal), or the interrupt signal to a stub thread.
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, Low32Eq(0, static_cast<uint32_t>(::getpid())));
    return rc ? rc : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, Low32Eq(2, SIGCHLD));
}

int AllowKill(scmp_filter_ctx ctx, int nr, const HostFilterOptions&) {
    // SIGKILL to one process (a stub), SIGSTOP from a ptrace stub to itself: never to a
    // process group, never to -1.
    int rc = 0;
    for (int sig : {SIGKILL, SIGSTOP})
        rc = rc ? rc : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2, SCMP_A0_64(SCMP_CMP_MASKED_EQ, 0x80000000u, 0),
                                        Low32Eq(1, static_cast<uint32_t>(sig)));
    return rc;
}

int AllowOpenat(scmp_filter_ctx ctx, int nr, const HostFilterOptions&) {
    // HostIo adds O_NOFOLLOW to every open; the host never follows a symlink for us. Any
    // other open (glibc looking for /sys/devices/system/cpu/online in a root that is empty)
    // fails as it would have anyway.
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A2_64(SCMP_CMP_MASKED_EQ, O_NOFOLLOW, O_NOFOLLOW));
    return rc ? rc : seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOENT), nr, 1, SCMP_A2_64(SCMP_CMP_MASKED_EQ, O_NOFOLLOW, 0));
}

int AllowMknod(scmp_filter_ctx ctx, int nr, const HostFilterOptions&) {
    // FIFOs and sockets only (HostIo::MknodSpecial): never a device node.
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A2_64(SCMP_CMP_MASKED_EQ, S_IFMT, S_IFIFO));
    return rc ? rc : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A2_64(SCMP_CMP_MASKED_EQ, S_IFMT, S_IFSOCK));
}

int AllowPrctl(scmp_filter_ctx ctx, int nr, const HostFilterOptions&) {
    return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, Low32Eq(0, PR_SET_PDEATHSIG));
}

int AllowSocket(scmp_filter_ctx ctx, int nr, const HostFilterOptions&) {
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, Low32Eq(0, AF_INET));
    return rc ? rc : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, Low32Eq(0, AF_INET6));
}

int AllowControlAccept(scmp_filter_ctx ctx, int nr, const HostFilterOptions& opts) {
    return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2, Low32Eq(0, static_cast<uint32_t>(opts.control_fd)),
                            Low32Eq(3, static_cast<uint32_t>(opts.control_accept_flags)));
}

int AllowControlRecv(scmp_filter_ctx ctx, int nr, const HostFilterOptions& opts) {
    return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, Low32Eq(2, static_cast<uint32_t>(opts.control_recv_flags)));
}

// clang-format off
const Entry kEntries[] = {
    // Memory.
    {"mmap", "anonymous memory (fd -1), or the memory file / systrap shared regions / a ptrace stub's fd 3", AllowMmap},
    {"munmap", "malloc, thread stacks; ptrace stubs unmapping app memory", nullptr},
    {"mprotect", "malloc, thread stack guards; ptrace stubs changing app protections", nullptr},
    {"madvise", "malloc returning freed memory; thread stacks", nullptr},
    {"brk", "malloc's main arena. Not refusable: brk(2) reports failure by returning the old break, never an errno, so glibc would take an ERRNO answer for a grown heap (the sentry crashed in sysmalloc with ~10 concurrent moat exec sessions)", nullptr},
    {"fallocate", "punching freed pages out of the memory file and shared regions; HostIo::Fallocate on writable binds", nullptr},
    {"ftruncate", "growing systrap shared regions; HostIo::Truncate on writable binds (any fd: the bind's files)", nullptr},
    // Host files (fs/host/host_io.cc) and the sentry's stdio.
    {"openat", "HostIo::OpenAt/CreateFile/CreateTmpFile and host /proc reads; only with O_NOFOLLOW (else ENOENT)", AllowOpenat},
    {"close", "every UniqueFd", nullptr},
    {"read", "host stdin, eventfds, host /proc files", nullptr},
    {"write", "host stdout/stderr, the debug log, eventfd wake-ups", nullptr},
    {"writev", "glibc's fatal-error messages (__libc_message: a failed assertion, heap corruption)", nullptr},
    {"pread64", "HostIo::Pread (host file data into the page cache)", nullptr},
    {"pwrite64", "HostIo::Pwrite on writable binds", nullptr},
    {"lseek", "host stdio seeks, HostIo::SeekHole", nullptr},
    {"newfstatat", "HostIo::Fstat/FstatAt, glibc fstat", nullptr},
    {"readlinkat", "HostIo::ReadLink (on an O_PATH fd)", nullptr},
    {"getdents64", "HostIo::ReadDir", nullptr},
    {"fcntl", "HostIo::Dup (F_DUPFD_CLOEXEC), status flags of host stdio", nullptr},
    {"ioctl", "host terminal: FIONREAD, TCGETS, TCSETS*, TIOCGWINSZ, TIOCSWINSZ only", AllowIoctl},
    {"mkdirat", "HostIo::Mkdir on writable binds", nullptr},
    {"mknodat", "HostIo::MknodSpecial: S_IFIFO and S_IFSOCK only", AllowMknod},
    {"symlinkat", "HostIo::Symlink on writable binds", nullptr},
    {"linkat", "HostIo::Link on writable binds (AT_EMPTY_PATH)", nullptr},
    {"unlinkat", "HostIo::Unlink on writable binds", nullptr},
    {"renameat2", "HostIo::Rename on writable binds", nullptr},
    {"fchmodat2", "HostIo::Chmod on writable binds (AT_EMPTY_PATH)", nullptr},
    {"fchownat", "HostIo::Chown on writable binds (AT_EMPTY_PATH)", nullptr},
    {"utimensat", "HostIo::SetTimes on writable binds", nullptr},
    {"fsync", "HostIo::Fsync (for fdatasync too: fsync does all it does)", nullptr},
    {"fgetxattr", "HostIo::GetXattr", nullptr},
    {"fsetxattr", "HostIo::SetXattr", nullptr},
    {"flistxattr", "HostIo::ListXattr", nullptr},
    {"fremovexattr", "HostIo::RemoveXattr", nullptr},
    // Threads, waiting, time.
    {"clone", "sentry threads (glibc's thread flags exactly), ptrace stubs (SIGCHLD only) and their threads", AllowClone},
    {"futex", "every mutex and condition variable; the systrap hand-off", nullptr},
    {"rseq", "glibc at every thread start; ptrace stubs unregistering it", nullptr},
    {"exit", "a sentry thread ending", nullptr},
    {"restart_syscall", "the host restarting a sentry sleep (poll, futex, clock_nanosleep) after SIGSTOP/SIGCONT: moat pause/resume", nullptr},
    {"exit_group", "the sentry ending; a ptrace stub dying", nullptr},
    {"rt_sigprocmask", "signal masks of sentry threads and new stubs", nullptr},
    {"rt_sigaction", "ptrace stubs resetting every handler", nullptr},
    {"poll", "the systrap stub monitor, host stdio readiness; a new ptrace stub thread parks in poll(NULL, 0, -1)", nullptr},
    {"clock_nanosleep", "timer threads and back-off sleeps", nullptr},
    {"sched_getaffinity", "the CPUs the sandbox may report (sched_getaffinity(2), glibc's CPU count)", nullptr},
    {"sched_yield", "spinning hand-offs", nullptr},
    {"getpid", "glibc (raise, abort)", nullptr},
    {"gettid", "glibc; the platform naming its threads", nullptr},
    {"tgkill", "signals to our own threads, SIGCHLD interrupts to stub threads", AllowTgkill},
    {"kill", "SIGKILL to a stub, SIGSTOP of a ptrace stub to itself (positive pids only)", AllowKill},
    // Stubs.
    {"ptrace", "the ptrace platform's tracing; systrap's stub set-up", nullptr},
    {"wait4", "reaping stubs", nullptr},
    {"waitid", "reaping stubs (P_PIDFD)", nullptr},
    {"pidfd_open", "systrap: a pidfd per stub", nullptr},
    {"pidfd_send_signal", "systrap: killing a stub through its pidfd", nullptr},
    {"prctl", "ptrace stubs: PR_SET_PDEATHSIG only", AllowPrctl},
    {"close_range", "ptrace stubs: closing every other fd", nullptr},
    {"getrandom", "glibc and the loader's layout randomisation (AT_RANDOM, ASLR)", nullptr},
};

// Refused with an errno instead of killing: callers that cope. Not on the allowlist.
const RefusedEntry kRefused[] = {
    {"clone3", ENOSYS, "glibc's pthread_create falls back to clone, whose flags the filter can check"},
    {"sysinfo", ENOSYS, "glibc's qsort sizes its buffer by sysconf(_SC_PHYS_PAGES) (Capstone sorts its tables) and copes with any answer; the sandbox's RAM is MemoryFile's figure, read once"},
    {"set_robust_list", ENOSYS, "glibc at thread start; the sentry uses no robust mutexes"},
};

// The OCI control socket (sentry/cli/oci_control.h), bound before the pivot: `moat exec`.
const Entry kControlEntries[] = {
    {"accept4", "OCI control socket (moat exec): its listening fd only, SOCK_CLOEXEC", AllowControlAccept},
    {"recvmsg", "OCI control socket: an exec request and its stdio fds (MSG_CMSG_CLOEXEC only)", AllowControlRecv},
};

// --network=host (net/host): the sandbox's sockets are host sockets in the sentry's network
// namespace (the host's, or the one an OCI bundle names). accept4 and recvmsg are
// unconstrained here (any socket), which covers the control socket too.
const Entry kNetworkEntries[] = {
    {"socket", "--network=host: AF_INET and AF_INET6 only", AllowSocket},
    {"connect", "--network=host: HostSocket::Connect", nullptr},
    {"bind", "--network=host: HostSocket::Bind", nullptr},
    {"listen", "--network=host: HostSocket::Listen", nullptr},
    {"accept4", "--network=host: HostSocket::Accept (and the OCI control socket)", nullptr},
    {"sendto", "--network=host: HostSocket::SendMsg", nullptr},
    {"recvmsg", "--network=host: HostSocket::RecvMsg (and the OCI control socket)", nullptr},
    {"setsockopt", "--network=host: socket options", nullptr},
    {"getsockopt", "--network=host: socket options, SO_ERROR", nullptr},
    {"getsockname", "--network=host: HostSocket::GetSockName", nullptr},
    {"getpeername", "--network=host: HostSocket::GetPeerName", nullptr},
    {"shutdown", "--network=host: HostSocket::Shutdown", nullptr},
    {"epoll_create1", "--network=host: HostPoller (readiness of every host socket)", nullptr},
    {"epoll_ctl", "--network=host: HostPoller", nullptr},
    {"epoll_wait", "--network=host: HostPoller", nullptr},
    {"eventfd2", "--network=host: HostPoller's wake-up", nullptr},
};
// clang-format on

template <typename F>
void ForEachEntry(const HostFilterMode& mode, F f) {
    for (const Entry& e : kEntries)
        f(e);
    if (mode.host_network) {
        for (const Entry& e : kNetworkEntries)
            f(e);
    } else if (mode.control_socket) {
        for (const Entry& e : kControlEntries)
            f(e);
    }
}

}  // namespace

std::vector<HostSyscall> HostAllowlist(const HostFilterMode& mode) {
    std::vector<HostSyscall> list;
    ForEachEntry(mode, [&](const Entry& e) { list.push_back({e.name, e.reason}); });
    return list;
}

std::vector<HostSyscall> HostRefused() {
    std::vector<HostSyscall> list;
    for (const RefusedEntry& e : kRefused)
        list.push_back({e.name, e.reason, e.err});
    return list;
}

Result<void> InstallHostFilter(const HostFilterOptions& opts) {
    scmp_filter_ctx ctx = seccomp_init(opts.log ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
    if (!ctx)
        return Errno(ENOMEM);
    struct Release {
        scmp_filter_ctx c;
        ~Release() { seccomp_release(c); }
    } release{ctx};
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    for (const RefusedEntry& e : kRefused)
        rc = rc ? rc : seccomp_rule_add(ctx, SCMP_ACT_ERRNO(static_cast<uint32_t>(e.err)), seccomp_syscall_resolve_name(e.name), 0);
    ForEachEntry(opts.mode, [&](const Entry& e) {
        if (rc)
            return;
        int nr = seccomp_syscall_resolve_name(e.name);
        if (nr == __NR_SCMP_ERROR) {
            rc = -EINVAL;
            return;
        }
        rc = e.add ? e.add(ctx, nr, opts) : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    });
    rc = rc ? rc : seccomp_load(ctx);
    if (rc)
        return Errno(-rc);
    return {};
}

}  // namespace moat::sandbox
