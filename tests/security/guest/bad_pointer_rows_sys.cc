// Bad-pointer rows for time, signals, processes, polling, memory-less calls and sockets (see
// bad_pointer.h). Each row passes the bad pointer in one argument and good values elsewhere.

#include "tests/security/guest/bad_pointer.h"

#include <poll.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace moat::security {
namespace {

using E = BadPointerEnv;
constexpr size_t kSigsetSize = 8;  // the kernel's sigset_t, not glibc's 128-byte one
timespec const kZero = {0, 0};

// Restores errno after cleanup, so the row reports the call's own.
long KeepErrno(long rc, auto cleanup) {
    int err = errno;
    cleanup();
    errno = err;
    return rc;
}

long CloseIfFd(long rc) {
    return KeepErrno(rc, [rc] {
        if (rc >= 0)
            close(static_cast<int>(rc));
    });
}

// The kernel's layout for pselect6's sixth argument.
struct SigsetArg {
    void const* set;
    size_t size;
};

// A pending, blocked SIGUSR2 for rt_sigtimedwait to take; drained and unblocked afterwards so a
// call that did not take it cannot kill the test.
long SigtimedwaitWithPending(void* info) {
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigset_t old;
    sigprocmask(SIG_BLOCK, &usr2, &old);
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR2);
    long rc = syscall(SYS_rt_sigtimedwait, &usr2, info, &kZero, kSigsetSize);
    return KeepErrno(rc, [&] {
        while (syscall(SYS_rt_sigtimedwait, &usr2, nullptr, &kZero, kSigsetSize) > 0) {
        }
        sigprocmask(SIG_SETMASK, &old, nullptr);
    });
}

long SendmsgWith(int fd, msghdr msg) { return syscall(SYS_sendmsg, fd, &msg, MSG_DONTWAIT); }

msghdr OneIov(iovec* iov) {
    msghdr msg = {};
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    return msg;
}

int ExecTrue(char* const* argv, char* const* envp, char const* path = "/bin/true") {
    syscall(SYS_execve, path, argv, envp);
    return errno;  // InChild's exit code: EFAULT when execve refused, 0 when /bin/true ran
}

// An InChild result as a syscall result: its exit code is the errno (0: the call succeeded).
long ChildErrno(int code) {
    if (code == 0)
        return 0;
    errno = code;
    return -1;
}

}  // namespace

std::vector<Row> const& SysRows() {
    static std::vector<Row> const rows = {
        // Polling. poll with nfds == 0 reads nothing, but Linux still refuses an array that is
        // not in user space at all.
        {"poll_fds", [](E&, void* p) { return syscall(SYS_poll, p, 1, 0); }},
        {"poll_nfds0", [](E&, void* p) { return syscall(SYS_poll, p, 0, 0); },
         Expected(kSucceeds).With(kKernel, EFAULT).With(kNonCanonical, EFAULT)},
        {"ppoll_fds", [](E&, void* p) { return syscall(SYS_ppoll, p, 1, &kZero, nullptr, kSigsetSize); }},
        {"ppoll_timeout",
         [](E& e, void* p) {
             pollfd fd = {e.pipe_r, POLLIN, 0};
             return syscall(SYS_ppoll, &fd, 1, p, nullptr, kSigsetSize);
         },
         kEfault.With(kNull, kSucceeds)},
        {"ppoll_sigmask",
         [](E& e, void* p) {
             pollfd fd = {e.pipe_r, POLLIN, 0};
             return syscall(SYS_ppoll, &fd, 1, &kZero, p, kSigsetSize);
         },
         kEfault.With(kNull, kSucceeds)},
        {"select_readfds",
         [](E& e, void* p) {
             timeval zero = {0, 0};
             return syscall(SYS_select, e.pipe_r + 1, p, nullptr, nullptr, &zero);
         },
         kEfault.With(kNull, kSucceeds)},
        {"select_timeout",
         [](E& e, void* p) {
             fd_set set;
             FD_ZERO(&set);
             FD_SET(e.pipe_r, &set);
             return syscall(SYS_select, e.pipe_r + 1, &set, nullptr, nullptr, p);
         },
         kEfault.With(kNull, kSucceeds)},
        {"pselect6_timeout",
         [](E& e, void* p) {
             fd_set set;
             FD_ZERO(&set);
             FD_SET(e.pipe_r, &set);
             return syscall(SYS_pselect6, e.pipe_r + 1, &set, nullptr, nullptr, p, nullptr);
         },
         kEfault.With(kNull, kSucceeds)},
        {"pselect6_sigarg",
         [](E& e, void* p) {
             fd_set set;
             FD_ZERO(&set);
             FD_SET(e.pipe_r, &set);
             return syscall(SYS_pselect6, e.pipe_r + 1, &set, nullptr, nullptr, &kZero, p);
         },
         kEfault.With(kNull, kSucceeds)},
        {"pselect6_sigset",
         [](E& e, void* p) {
             fd_set set;
             FD_ZERO(&set);
             FD_SET(e.pipe_r, &set);
             SigsetArg arg = {p, kSigsetSize};
             return syscall(SYS_pselect6, e.pipe_r + 1, &set, nullptr, nullptr, &kZero, &arg);
         },
         kEfault.With(kNull, kSucceeds)},
        // pipe_r is ready, so the event must be written.
        {"epoll_wait_events", [](E& e, void* p) { return syscall(SYS_epoll_wait, e.ReadyEpoll(), p, 1, 0); }},
        {"epoll_ctl_event",
         [](E& e, void* p) { return syscall(SYS_epoll_ctl, e.ReadyEpoll(), EPOLL_CTL_ADD, e.pipe_w, p); }},

        // Time.
        {"nanosleep_req", [](E&, void* p) { return syscall(SYS_nanosleep, p, nullptr); }},
        {"clock_nanosleep_req",
         [](E&, void* p) { return syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, p, nullptr); }},
        {"clock_gettime_tp", [](E&, void* p) { return syscall(SYS_clock_gettime, CLOCK_MONOTONIC, p); }},
        {"clock_getres_res", [](E&, void* p) { return syscall(SYS_clock_getres, CLOCK_MONOTONIC, p); },
         kEfault.With(kNull, kSucceeds)},
        {"gettimeofday_tv", [](E&, void* p) { return syscall(SYS_gettimeofday, p, nullptr); },
         kEfault.With(kNull, kSucceeds)},
        {"gettimeofday_tz", [](E& e, void* p) { return syscall(SYS_gettimeofday, e.good, p); },
         kEfault.With(kNull, kSucceeds)},
        {"time_tloc", [](E&, void* p) { return syscall(SYS_time, p); }, kEfault.With(kNull, kSucceeds)},

        // System information and limits.
        {"uname_buf", [](E&, void* p) { return syscall(SYS_uname, p); }},
        {"sysinfo_info", [](E&, void* p) { return syscall(SYS_sysinfo, p); }},
        {"getrlimit_rlim", [](E&, void* p) { return syscall(SYS_getrlimit, RLIMIT_NOFILE, p); }},
        {"setrlimit_rlim", [](E&, void* p) { return syscall(SYS_setrlimit, RLIMIT_NOFILE, p); }},
        {"prlimit64_new", [](E&, void* p) { return syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, p, nullptr); },
         kEfault.With(kNull, kSucceeds)},
        {"prlimit64_old", [](E&, void* p) { return syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, nullptr, p); },
         kEfault.With(kNull, kSucceeds)},
        {"getrusage_usage", [](E&, void* p) { return syscall(SYS_getrusage, RUSAGE_SELF, p); }},
        {"getrandom_buf", [](E&, void* p) { return syscall(SYS_getrandom, p, 16, 0); }},
        {"sched_getaffinity_mask", [](E&, void* p) { return syscall(SYS_sched_getaffinity, 0, 128, p); }},

        // Signals. NULL act/set/ss means "leave it", NULL old* means "don't report".
        {"rt_sigaction_act", [](E&, void* p) { return syscall(SYS_rt_sigaction, SIGUSR1, p, nullptr, kSigsetSize); },
         kEfault.With(kNull, kSucceeds)},
        {"rt_sigaction_oldact",
         [](E&, void* p) { return syscall(SYS_rt_sigaction, SIGUSR1, nullptr, p, kSigsetSize); },
         kEfault.With(kNull, kSucceeds)},
        {"rt_sigprocmask_set",
         [](E&, void* p) { return syscall(SYS_rt_sigprocmask, SIG_BLOCK, p, nullptr, kSigsetSize); },
         kEfault.With(kNull, kSucceeds)},
        {"rt_sigprocmask_oldset",
         [](E&, void* p) { return syscall(SYS_rt_sigprocmask, SIG_BLOCK, nullptr, p, kSigsetSize); },
         kEfault.With(kNull, kSucceeds)},
        {"sigaltstack_ss", [](E&, void* p) { return syscall(SYS_sigaltstack, p, nullptr); },
         kEfault.With(kNull, kSucceeds)},
        {"sigaltstack_oss", [](E&, void* p) { return syscall(SYS_sigaltstack, nullptr, p); },
         kEfault.With(kNull, kSucceeds)},
        {"rt_sigpending_set", [](E&, void* p) { return syscall(SYS_rt_sigpending, p, kSigsetSize); }},
        {"rt_sigtimedwait_set", [](E&, void* p) { return syscall(SYS_rt_sigtimedwait, p, nullptr, &kZero, kSigsetSize); }},
        // NULL would wait forever.
        {"rt_sigtimedwait_timeout",
         [](E&, void* p) {
             sigset_t none;
             sigemptyset(&none);
             return syscall(SYS_rt_sigtimedwait, &none, nullptr, p, kSigsetSize);
         },
         kEfault.With(kNull, kSkip)},
        {"rt_sigtimedwait_info", [](E&, void* p) { return SigtimedwaitWithPending(p); },
         kEfault.With(kNull, kSucceeds)},

        // Processes. The zombie is reaped even when the status cannot be written, as on Linux.
        {"wait4_status", [](E& e, void* p) { return syscall(SYS_wait4, e.Zombie(), p, 0, nullptr); },
         kEfault.With(kNull, kSucceeds)},
        {"wait4_rusage", [](E& e, void* p) { return syscall(SYS_wait4, e.Zombie(), nullptr, 0, p); },
         kEfault.With(kNull, kSucceeds)},
        {"waitid_infop", [](E& e, void* p) { return syscall(SYS_waitid, P_PID, e.Zombie(), p, WEXITED, nullptr); },
         kEfault.With(kNull, kSucceeds)},
        {"waitid_rusage",
         [](E& e, void* p) {
             siginfo_t info;
             return syscall(SYS_waitid, P_PID, e.Zombie(), &info, WEXITED, p);
         },
         kEfault.With(kNull, kSucceeds)},
        // FUTEX_WAIT reads the word (alignment first: EINVAL for an odd address); the timeout is
        // read before the word is compared (the word is 0, we expect 1: EAGAIN with no timeout).
        {"futex_wait_uaddr", [](E&, void* p) { return syscall(SYS_futex, p, FUTEX_WAIT_PRIVATE, 0, &kZero); },
         kEfault.With(kLow, EINVAL)},
        {"futex_wait_timeout",
         [](E& e, void* p) {
             std::memset(e.good, 0, 4);
             return syscall(SYS_futex, e.good, FUTEX_WAIT_PRIVATE, 1, p);
         },
         kEfault.With(kNull, EAGAIN)},
        // A private FUTEX_WAKE never reads the word: only addresses outside user space fault.
        {"futex_wake_uaddr", [](E&, void* p) { return syscall(SYS_futex, p, FUTEX_WAKE_PRIVATE, 1); },
         Expected(kSucceeds).With(kLow, EINVAL).With(kKernel, EFAULT).With(kNonCanonical, EFAULT)},
        // Never read until the thread exits, and then only when other threads share the memory: the
        // call and a lone thread's exit both succeed.
        {"set_tid_address_tidptr",
         [](E&, void* p) {
             return ChildErrno(InChild(
                 [](void* bad) {
                     syscall(SYS_set_tid_address, bad);
                     syscall(SYS_exit, 0);
                     return 1;
                 },
                 p));
         },
         Expected(kSucceeds)},
        // In a child, so a wrongly successful execve cannot replace the test. A NULL argv or envp
        // is an empty list (and a NULL argv[0] ends the list), which execve accepts.
        {"execve_path",
         [](E&, void* p) {
             return ChildErrno(InChild([](void* bad) { return ExecTrue(nullptr, nullptr, static_cast<char*>(bad)); }, p));
         }},
        {"execve_argv",
         [](E&, void* p) { return ChildErrno(InChild([](void* bad) { return ExecTrue(static_cast<char**>(bad), nullptr); }, p)); },
         kEfault.With(kNull, kSkip)},
        {"execve_argv_elem",
         [](E&, void* p) {
             return ChildErrno(InChild(
                 [](void* bad) {
                     char* argv[] = {const_cast<char*>("true"), static_cast<char*>(bad), nullptr};
                     return ExecTrue(argv, nullptr);
                 },
                 p));
         },
         kEfault.With(kNull, kSkip)},
        {"execve_envp",
         [](E&, void* p) { return ChildErrno(InChild([](void* bad) { return ExecTrue(nullptr, static_cast<char**>(bad)); }, p)); },
         kEfault.With(kNull, kSkip)},

        // Sockets.
        {"socketpair_sv", [](E&, void* p) { return syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, p); }},
        {"sendto_buf", [](E& e, void* p) { return syscall(SYS_sendto, e.stream_a, p, 8, MSG_DONTWAIT, nullptr, 0); }},
        // No address on an unconnected UDP socket: EDESTADDRREQ.
        {"sendto_addr", [](E& e, void* p) { return syscall(SYS_sendto, e.Udp(), "x", 1, MSG_DONTWAIT, p, 16); },
         kEfault.With(kNull, EDESTADDRREQ)},
        {"recvfrom_buf", [](E& e, void* p) { return syscall(SYS_recvfrom, e.stream_b, p, 8, MSG_DONTWAIT, nullptr, nullptr); }},
        // An unnamed unix peer has an empty address: nothing to write, and Linux writes nothing.
        {"recvfrom_addr_unnamed",
         [](E& e, void* p) {
             socklen_t len = 16;
             return syscall(SYS_recvfrom, e.dgram_b, e.good, 8, MSG_DONTWAIT, p, &len);
         },
         Expected(kSucceeds)},
        {"recvfrom_addr_udp",
         [](E& e, void* p) {
             socklen_t len = 16;
             return syscall(SYS_recvfrom, e.UdpWithDatagram(), e.good, 8, MSG_DONTWAIT, p, &len);
         },
         kEfault.With(kNull, kSucceeds)},
        {"recvfrom_addrlen",
         [](E& e, void* p) { return syscall(SYS_recvfrom, e.UdpWithDatagram(), e.good, 8, MSG_DONTWAIT, e.good + 64, p); }},
        {"sendmsg_msg", [](E& e, void* p) { return syscall(SYS_sendmsg, e.stream_a, p, MSG_DONTWAIT); }},
        {"sendmsg_iov",
         [](E& e, void* p) {
             msghdr msg = {};
             msg.msg_iov = static_cast<iovec*>(p);
             msg.msg_iovlen = 1;
             return SendmsgWith(e.stream_a, msg);
         }},
        {"sendmsg_iov_base",
         [](E& e, void* p) {
             iovec iov = {p, 8};
             return SendmsgWith(e.stream_a, OneIov(&iov));
         }},
        {"sendmsg_name",
         [](E& e, void* p) {
             iovec iov = {e.good, 1};
             msghdr msg = OneIov(&iov);
             msg.msg_name = p;
             msg.msg_namelen = 16;
             return SendmsgWith(e.Udp(), msg);
         },
         kEfault.With(kNull, EDESTADDRREQ)},
        {"sendmsg_control",
         [](E& e, void* p) {
             iovec iov = {e.good, 1};
             msghdr msg = OneIov(&iov);
             msg.msg_control = p;
             msg.msg_controllen = CMSG_SPACE(sizeof(int));
             return SendmsgWith(e.stream_a, msg);
         }},
        {"recvmsg_msg", [](E& e, void* p) { return syscall(SYS_recvmsg, e.stream_b, p, MSG_DONTWAIT); }},
        {"recvmsg_iov_base",
         [](E& e, void* p) {
             iovec iov = {p, 8};
             msghdr msg = OneIov(&iov);
             return syscall(SYS_recvmsg, e.stream_b, &msg, MSG_DONTWAIT);
         }},
        {"bind_addr", [](E& e, void* p) { return syscall(SYS_bind, e.Udp(), p, 16); }},
        {"connect_addr", [](E& e, void* p) { return syscall(SYS_connect, e.Udp(), p, 16); }},
        {"accept4_addr",
         [](E& e, void* p) {
             socklen_t len = 110;
             return CloseIfFd(syscall(SYS_accept4, e.PendingListener(), p, &len, SOCK_CLOEXEC));
         },
         kEfault.With(kNull, kSucceeds)},
        {"accept4_addrlen",
         [](E& e, void* p) { return CloseIfFd(syscall(SYS_accept4, e.PendingListener(), e.good, p, SOCK_CLOEXEC)); }},
        {"getsockname_addr",
         [](E& e, void* p) {
             socklen_t len = 16;
             return syscall(SYS_getsockname, e.Udp(), p, &len);
         }},
        {"getsockname_addrlen", [](E& e, void* p) { return syscall(SYS_getsockname, e.Udp(), e.good, p); }},
        {"getsockopt_optval",
         [](E& e, void* p) {
             socklen_t len = sizeof(int);
             return syscall(SYS_getsockopt, e.Udp(), SOL_SOCKET, SO_TYPE, p, &len);
         }},
        {"getsockopt_optlen", [](E& e, void* p) { return syscall(SYS_getsockopt, e.Udp(), SOL_SOCKET, SO_TYPE, e.good, p); }},
        {"setsockopt_optval", [](E& e, void* p) { return syscall(SYS_setsockopt, e.Udp(), SOL_SOCKET, SO_RCVBUF, p, sizeof(int)); }},
    };
    return rows;
}

}  // namespace moat::security
