// The sandbox's identity and limits: the getuid family, uname, rlimits.

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <sys/resource.h>
#include <sys/utsname.h>

#include <tuple>
#include <vector>

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
// sethostname / setdomainname: CAP_SYS_ADMIN over the UTS namespace, then at most
// __NEW_UTS_LEN bytes, then the copy (EFAULT). The host's names are never touched: the names
// are the sandbox's own.
Result<std::string> CopyInUtsName(kernel::Task& t, const SyscallArgs& a) {
    if (!t.creds().HasCapability(CAP_SYS_ADMIN))
        return Error(EPERM);
    int len = arg_int(a, 1);
    if (len < 0 || len > 64)
        return Error(EINVAL);
    std::string name(static_cast<size_t>(len), '\0');
    if (len > 0)
        TRY(t.mm().CopyIn(arg_addr(a, 0), name.data(), name.size()));
    // utsname fields are C strings: a NUL inside ends the name.
    return std::string(name.c_str());
}
}  // namespace

// Implements Linux sethostname(2) on the sandbox's UTS namespace.
SyscallResult sys_sethostname(kernel::Task& t, const SyscallArgs& a) {
    t.kernel().set_hostname(TRY(CopyInUtsName(t, a)));
    return 0;
}

// Implements Linux setdomainname(2) on the sandbox's UTS namespace.
SyscallResult sys_setdomainname(kernel::Task& t, const SyscallArgs& a) {
    t.kernel().set_domainname(TRY(CopyInUtsName(t, a)));
    return 0;
}

namespace {
// Linux's fs.nr_open default: the ceiling for RLIMIT_NOFILE.
constexpr rlim_t kNrOpen = 1024 * 1024;

// do_prlimit's checks: soft within hard, a raised hard limit needs CAP_SYS_RESOURCE.
Result<void> CheckNewLimit(kernel::Task& t, int resource, const struct rlimit& lim) {
    if (lim.rlim_cur > lim.rlim_max)
        return Error(EINVAL);
    if (lim.rlim_max > t.thread_group().rlimit(resource).rlim_max && !t.creds().HasCapability(CAP_SYS_RESOURCE))
        return Error(EPERM);
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
        TRY(CheckNewLimit(t, static_cast<int>(resource), new_lim));
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
    TRY(CheckNewLimit(t, static_cast<int>(resource), lim));
    t.thread_group().set_rlimit(static_cast<int>(resource), lim);
    return 0;
}

}  // namespace moat::syscalls

// ---- Changing credentials: Linux's rules, CAP_SETUID / CAP_SETGID from the effective set, and
// the capability sets following the uids (FixCapabilitiesAfterSetuid) ----

namespace moat::syscalls {
namespace {

constexpr uint32_t kUnchanged = static_cast<uint32_t>(-1);

bool MaySetUids(const kernel::Credentials& c) { return c.HasCapability(CAP_SETUID); }
bool MaySetGids(const kernel::Credentials& c) { return c.HasCapability(CAP_SETGID); }

// Runs `change` on the caller's credentials, then lets the capability sets follow the uids.
template <typename Change>
Result<void> ChangeUids(kernel::Task& t, Change change) {
    auto& c = t.creds();
    kernel::Credentials old = c;
    TRY(change(c));
    kernel::FixCapabilitiesAfterSetuid(c, old);
    return {};
}

bool OneOf(uint32_t id, uint32_t a, uint32_t b, uint32_t c) { return id == a || id == b || id == c; }

// setresuid/setresgid share this shape: each new id must be one of the current three unless
// privileged; -1 keeps the current value; the fs id follows the effective one.
template <typename Ids>
Result<void> SetRes(Ids ids, bool privileged, uint32_t r, uint32_t e, uint32_t s) {
    auto [cr, ce, cs, cfs] = ids;
    if (!privileged) {
        for (uint32_t v : {r, e, s})
            if (v != kUnchanged && !OneOf(v, *cr, *ce, *cs))
                return Error(EPERM);
    }
    if (r != kUnchanged)
        *cr = r;
    if (e != kUnchanged)
        *ce = e;
    if (s != kUnchanged)
        *cs = s;
    *cfs = *ce;
    return {};
}

auto UidRefs(kernel::Credentials& c) { return std::tuple{&c.ruid, &c.euid, &c.suid, &c.fsuid}; }
auto GidRefs(kernel::Credentials& c) { return std::tuple{&c.rgid, &c.egid, &c.sgid, &c.fsgid}; }

template <typename Ids>
Result<void> SetRe(Ids ids, bool privileged, uint32_t r, uint32_t e) {
    auto [cr, ce, cs, cfs] = ids;
    uint32_t old_r = *cr;
    if (!privileged) {
        if (r != kUnchanged && r != *cr && r != *ce)
            return Error(EPERM);
        if (e != kUnchanged && !OneOf(e, *cr, *ce, *cs))
            return Error(EPERM);
    }
    if (r != kUnchanged)
        *cr = r;
    if (e != kUnchanged)
        *ce = e;
    if (r != kUnchanged || (e != kUnchanged && e != old_r))
        *cs = *ce;
    *cfs = *ce;
    return {};
}

template <typename Ids>
Result<void> SetOne(Ids ids, bool privileged, uint32_t id) {
    auto [cr, ce, cs, cfs] = ids;
    if (id == kUnchanged)
        return Error(EINVAL);
    if (privileged) {
        *cr = *ce = *cs = *cfs = id;
    } else if (id == *cr || id == *cs) {
        *ce = *cfs = id;
    } else {
        return Error(EPERM);
    }
    return {};
}

template <typename Ids>
uint64_t SetFs(Ids ids, bool privileged, uint32_t id) {
    auto [cr, ce, cs, cfs] = ids;
    uint32_t old = *cfs;
    if (id != kUnchanged && (privileged || OneOf(id, *cr, *ce, *cs) || id == *cfs))
        *cfs = id;
    return old;
}

}  // namespace

// Implements Linux setuid(2).
SyscallResult sys_setuid(kernel::Task& t, const SyscallArgs& a) {
    TRY(ChangeUids(t, [&](kernel::Credentials& c) { return SetOne(UidRefs(c), MaySetUids(c), arg_uint(a, 0)); }));
    return 0;
}
// Implements Linux setgid(2).
SyscallResult sys_setgid(kernel::Task& t, const SyscallArgs& a) {
    auto& c = t.creds();
    TRY(SetOne(GidRefs(c), MaySetGids(c), arg_uint(a, 0)));
    return 0;
}
// Implements Linux setreuid(2).
SyscallResult sys_setreuid(kernel::Task& t, const SyscallArgs& a) {
    TRY(ChangeUids(t, [&](kernel::Credentials& c) {
        return SetRe(UidRefs(c), MaySetUids(c), arg_uint(a, 0), arg_uint(a, 1));
    }));
    return 0;
}
// Implements Linux setregid(2).
SyscallResult sys_setregid(kernel::Task& t, const SyscallArgs& a) {
    auto& c = t.creds();
    TRY(SetRe(GidRefs(c), MaySetGids(c), arg_uint(a, 0), arg_uint(a, 1)));
    return 0;
}
// Implements Linux setresuid(2).
SyscallResult sys_setresuid(kernel::Task& t, const SyscallArgs& a) {
    TRY(ChangeUids(t, [&](kernel::Credentials& c) {
        return SetRes(UidRefs(c), MaySetUids(c), arg_uint(a, 0), arg_uint(a, 1), arg_uint(a, 2));
    }));
    return 0;
}
// Implements Linux setresgid(2).
SyscallResult sys_setresgid(kernel::Task& t, const SyscallArgs& a) {
    auto& c = t.creds();
    TRY(SetRes(GidRefs(c), MaySetGids(c), arg_uint(a, 0), arg_uint(a, 1), arg_uint(a, 2)));
    return 0;
}
// Implements Linux setfsuid(2): returns the previous fsuid, never an error.
SyscallResult sys_setfsuid(kernel::Task& t, const SyscallArgs& a) {
    auto& c = t.creds();
    kernel::Credentials old = c;
    uint64_t previous = SetFs(UidRefs(c), MaySetUids(c), arg_uint(a, 0));
    kernel::FixCapabilitiesAfterSetuid(c, old);
    return previous;
}
// Implements Linux setfsgid(2).
SyscallResult sys_setfsgid(kernel::Task& t, const SyscallArgs& a) {
    auto& c = t.creds();
    return SetFs(GidRefs(c), MaySetGids(c), arg_uint(a, 0));
}

// Implements Linux setgroups(2).
SyscallResult sys_setgroups(kernel::Task& t, const SyscallArgs& a) {
    constexpr int kNgroupsMax = 65536;
    int size = arg_int(a, 0);
    if (size < 0 || size > kNgroupsMax)
        return Error(EINVAL);
    if (!MaySetGids(t.creds()))
        return Error(EPERM);
    std::vector<gid_t> groups(static_cast<size_t>(size));
    if (size)
        TRY(t.mm().CopyIn(arg_addr(a, 1), groups.data(), groups.size() * sizeof(gid_t)));
    t.creds().groups = std::move(groups);
    return 0;
}

}  // namespace moat::syscalls
