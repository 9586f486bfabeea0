// The table is generated from syscall_names.inc; handlers plug in through the weak
// declarations in handlers.h; notes for partial support live in kNotes below.

#include "syscalls/table.h"

#include "syscalls/handlers.h"

#include <array>
#include <cstring>
#include <mutex>
#include <vector>

namespace moat::syscalls {
namespace {

struct NameEntry {
    uint32_t nr;
    const char* name;
};

constexpr NameEntry kNames[] = {
#define X(nr, name) {nr, #name},
#include "syscalls/syscall_names.inc"
#undef X
};

constexpr bool NamesSorted() {
    for (size_t i = 1; i < std::size(kNames); ++i)
        if (kNames[i - 1].nr >= kNames[i].nr)
            return false;
    return true;
}
static_assert(NamesSorted(), "syscall_names.inc must be in strictly increasing number order");

// Handlers, parallel to kNames (weak: null when no family file defines it).
const Handler kHandlers[] = {
#define X(nr, name) &sys_##name,
#include "syscalls/syscall_names.inc"
#undef X
};
static_assert(std::size(kHandlers) == std::size(kNames));

struct Note {
    const char* name;
    Support support;
    const char* text;
};

// What is served but not completely, and what is refused on purpose.
constexpr Note kNotes[] = {
    {"rseq", Support::Unimplemented, "ENOSYS by design: glibc falls back cleanly"},
    {"reboot", Support::Partial, "always EPERM: the sandbox has no CAP_SYS_BOOT"},
    {"swapon", Support::Partial, "always EPERM: no swap of the host's"},
    {"swapoff", Support::Partial, "always EPERM: no swap of the host's"},
    {"iopl", Support::Partial, "always EPERM: no CAP_SYS_RAWIO"},
    {"ioperm", Support::Partial, "always EPERM: no CAP_SYS_RAWIO"},
    {"init_module", Support::Partial, "always EPERM: no CAP_SYS_MODULE"},
    {"finit_module", Support::Partial, "always EPERM: no CAP_SYS_MODULE"},
    {"delete_module", Support::Partial, "always EPERM: no CAP_SYS_MODULE"},
    {"kexec_load", Support::Partial, "always EPERM: no CAP_SYS_BOOT"},
    {"kexec_file_load", Support::Partial, "always EPERM: no CAP_SYS_BOOT"},
    {"acct", Support::Partial, "always EPERM: no CAP_SYS_PACCT"},
    {"kill", Support::Partial, "no EPERM: the sandbox's root may signal every process"},
    {"clock_nanosleep", Support::Partial, "ALARM clocks EOPNOTSUPP (no RTC)"},
    {"timer_create", Support::Partial, "ALARM clocks EOPNOTSUPP (no RTC); CPU clocks sampled at >= 1 ms"},
    {"ioctl", Support::Partial, "fd flags, FIONREAD; SIOCINQ/SIOCOUTQ on inet sockets; terminals: termios(2), winsize, job control, ptmx; no TIOCSTI/TIOCPKT/modem lines; sockets: SIOCGIF{CONF,NAME,INDEX,FLAGS,MTU,HWADDR,TXQLEN,METRIC,MAP}, on AF_INET SIOCGIF{ADDR,NETMASK,BRDADDR,DSTADDR}; changes EPERM"},
    {"fcntl", Support::Partial, "fd/status flags, POSIX and OFD record locks, memfd seals; no leases, owners or pipe sizes"},
    {"flock", Support::Partial, "files in the mount tree only (pipes, sockets: ENOLCK)"},
    {"sendfile", Support::Partial, "copied through the sentry; any readable non-pipe source"},
    {"copy_file_range", Support::Partial, "copied through the sentry; also across filesystems (no EXDEV)"},
    {"vmsplice", Support::Partial, "pages copied, never gifted"},
    {"memfd_create", Support::Partial, "no MFD_HUGETLB (EINVAL)"},
    {"inotify_add_watch", Support::Partial, "events for changes made inside the sandbox only"},
    {"madvise", Support::Partial, "MADV_DONTNEED honoured; other advice accepted"},
    {"mount", Support::Partial, "the sentry's own tmpfs and proc, bind, remount, propagation (no-op); no MS_MOVE"},
    {"umount2", Support::Partial, "busy filesystems (open files, cwds) are not EBUSY"},
    {"renameat2", Support::Partial, "RENAME_WHITEOUT refused"},
    {"mknodat", Support::Partial, "device nodes open the sandbox's own devices only (ENXIO otherwise)"},
    {"mknod", Support::Partial, "device nodes open the sandbox's own devices only (ENXIO otherwise)"},
    {"prctl", Support::Partial, "PR_SET_NAME/PR_GET_NAME, subreaper, pdeathsig, capability sets, keepcaps, no_new_privs"},
    {"clone", Support::Partial, "no namespaces (EPERM) or pidfds (EINVAL)"},
    {"clone3", Support::Partial, "no namespaces (EPERM), pidfds, set_tid or cgroups"},
    {"futex", Support::Partial, "PI futexes follow the owner-TID protocol without priority inheritance"},
    {"membarrier", Support::Partial, "no rseq commands; a barrier interrupts the other threads, no IPI"},
    {"getrusage", Support::Partial, "no major-fault or context-switch counts; ru_maxrss sampled"},
    {"sched_setaffinity", Support::Partial, "recorded per task; the host places the threads"},
    {"sched_setscheduler", Support::Partial, "recorded per task; the host schedules (no real RT)"},
    {"wait4", Support::Partial, "no stopped/continued reports yet"},
    {"waitid", Support::Partial, "no P_PIDFD or stopped/continued reports yet"},
    {"epoll_ctl", Support::Partial, "EPOLLWAKEUP dropped; no depth limit above the target epoll"},
    {"timerfd_create", Support::Partial, "the alarm clocks behave as CLOCK_REALTIME/CLOCK_BOOTTIME"},
    {"timerfd_settime", Support::Partial, "TFD_TIMER_CANCEL_ON_SET accepted; the sandbox's clock is never set"},
    {"select", Support::Partial, "nfds truncated to an estimate of Linux's fd-array size"},
    {"socket", Support::Partial, "AF_UNIX; AF_INET/AF_INET6 TCP and UDP over loopback (Moat's own stack; no raw or ping sockets), host-backed under --network=host; AF_NETLINK (NETLINK_ROUTE only); other families EAFNOSUPPORT"},
    {"socketpair", Support::Partial, "AF_UNIX only (AF_INET, AF_NETLINK: EOPNOTSUPP as Linux)"},
    {"setsockopt", Support::Partial, "unix: SOL_SOCKET; inet: SOL_SOCKET, SOL_IP, SOL_IPV6, SOL_TCP, SOL_UDP common options (tuning-only ones stored); netlink: SOL_NETLINK flags and groups; host sockets: an allowlist of SOL_SOCKET/TCP/IP/IPV6 options"},
    {"getsockopt", Support::Partial, "unix: SOL_SOCKET; inet: SOL_SOCKET, SOL_IP, SOL_IPV6, SOL_TCP (TCP_INFO minimal), SOL_UDP; netlink: SOL_NETLINK (a short optlen is not EINVAL); host sockets: the allowlist"},
    {"connect", Support::Partial, "inet: loopback only, any other address ENETUNREACH (--network=none)"},
    {"sendmsg", Support::Partial, "SCM_RIGHTS, SCM_CREDENTIALS; no MSG_OOB (TCP urgent data EOPNOTSUPP); fds in flight in a cycle are never collected"},
    {"recvmsg", Support::Partial, "SCM_RIGHTS, SCM_CREDENTIALS; no MSG_OOB, MSG_ERRQUEUE or SO_PEEK_OFF"},
    {"recvmmsg", Support::Partial, "the timeout is checked after each message and not written back"},
};

std::vector<SyscallEntry> BuildTable() {
    std::vector<SyscallEntry> t;
    t.reserve(std::size(kNames));
    for (size_t i = 0; i < std::size(kNames); ++i) {
        SyscallEntry e{kNames[i].nr, kNames[i].name, kHandlers[i], kHandlers[i] ? Support::Full : Support::Unimplemented, ""};
        for (const Note& n : kNotes) {
            if (strcmp(n.name, e.name) == 0) {
                e.note = n.text;
                if (e.handler || n.support == Support::Unimplemented)
                    e.support = n.support;
            }
        }
        t.push_back(e);
    }
    return t;
}

struct Tables {
    std::vector<SyscallEntry> entries;
    std::array<const SyscallEntry*, 512> by_nr{};
};

const Tables& GetTables() {
    // Built once, immutable afterwards (a function-local static, not mutable global state).
    static const Tables tables = [] {
        Tables t;
        t.entries = BuildTable();
        for (const SyscallEntry& e : t.entries)
            if (e.nr < t.by_nr.size())
                t.by_nr[e.nr] = &e;
        return t;
    }();
    return tables;
}

}  // namespace

std::span<const SyscallEntry> Table() { return GetTables().entries; }

const SyscallEntry* Lookup(uint64_t nr) {
    const Tables& t = GetTables();
    return nr < t.by_nr.size() ? t.by_nr[nr] : nullptr;
}

std::string_view SupportName(Support s) {
    switch (s) {
    case Support::Full:
        return "full";
    case Support::Partial:
        return "partial";
    case Support::Unimplemented:
        return "unimplemented";
    }
    return "?";
}

}  // namespace moat::syscalls
