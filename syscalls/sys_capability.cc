// The sandbox's capability sets (sentry/kernel/credentials.h): capget, capset and the
// capability options of prctl, with Linux's rules (kernel/capability.c, security/commoncap.c).

#include "sentry/kernel/credentials.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/capability_prctl.h"
#include "syscalls/handlers.h"

#include <linux/prctl.h>

namespace moat::syscalls {

namespace {

constexpr uint32_t kCapV1 = 0x19980330, kCapV2 = 0x20071026, kCapV3 = 0x20080522;

struct CapHeader {
    uint32_t version;
    int32_t pid;
};
struct CapData {
    uint32_t effective, permitted, inheritable;
};

// The number of 32-bit words the header's version carries; an unknown version is EINVAL and
// the header is rewritten with the preferred one (a probe: libcap passes version 0).
Result<int> CheckCapHeader(kernel::Task& t, mm::UserAddr hdr_addr, CapHeader& hdr) {
    hdr = TRY(t.mm().CopyInObject<CapHeader>(hdr_addr));
    if (hdr.version != kCapV1 && hdr.version != kCapV2 && hdr.version != kCapV3) {
        hdr.version = kCapV3;
        TRY(t.mm().CopyOutObject(hdr_addr, hdr));
        return Error(EINVAL);
    }
    if (hdr.pid < 0)
        return Error(EINVAL);
    return hdr.version == kCapV1 ? 1 : 2;
}

bool ValidCapability(uint64_t cap) { return cap <= static_cast<uint64_t>(kernel::kLastCapability); }

bool Subset(uint64_t a, uint64_t b) { return (a & ~b) == 0; }

// A process's credentials as capget reads them: its leader task's.
Result<kernel::Credentials> CredentialsOf(kernel::Task& t, pid_t pid) {
    if (pid == 0 || pid == t.tid() || pid == t.pid())
        return t.creds();
    auto tg = t.kernel().FindThreadGroup(pid);
    if (!tg)
        return Error(ESRCH);
    auto tasks = tg->tasks();
    if (tasks.empty())
        return Error(ESRCH);
    return tasks.front()->creds();
}

}  // namespace

// Implements Linux capget(2): any process's effective, permitted and inheritable sets.
SyscallResult sys_capget(kernel::Task& t, const SyscallArgs& a) {
    CapHeader hdr;
    int words = TRY(CheckCapHeader(t, arg_addr(a, 0), hdr));
    kernel::Credentials creds = TRY(CredentialsOf(t, hdr.pid));
    if (!a[1])
        return 0;
    CapData data[2] = {};
    for (int i = 0; i < words; ++i) {
        data[i].effective = static_cast<uint32_t>(creds.caps.effective >> (32 * i));
        data[i].permitted = static_cast<uint32_t>(creds.caps.permitted >> (32 * i));
        data[i].inheritable = static_cast<uint32_t>(creds.caps.inheritable >> (32 * i));
    }
    TRY(t.mm().CopyOut(arg_addr(a, 1), data, sizeof(CapData) * static_cast<size_t>(words)));
    return 0;
}

// Implements Linux capset(2) for the caller (cap_capset): permitted may only shrink,
// effective stays within permitted, inheritable within the old inheritable and the bounding
// set (and the old permitted set without CAP_SETPCAP); ambient shrinks with them.
SyscallResult sys_capset(kernel::Task& t, const SyscallArgs& a) {
    CapHeader hdr;
    int words = TRY(CheckCapHeader(t, arg_addr(a, 0), hdr));
    if (hdr.pid != 0 && hdr.pid != t.tid())
        return Error(EPERM);
    CapData data[2] = {};
    TRY(t.mm().CopyIn(arg_addr(a, 1), data, sizeof(CapData) * static_cast<size_t>(words)));
    uint64_t effective = 0, permitted = 0, inheritable = 0;
    for (int i = 0; i < words; ++i) {
        effective |= uint64_t{data[i].effective} << (32 * i);
        permitted |= uint64_t{data[i].permitted} << (32 * i);
        inheritable |= uint64_t{data[i].inheritable} << (32 * i);
    }
    effective &= kernel::kAllCapabilities;
    permitted &= kernel::kAllCapabilities;
    inheritable &= kernel::kAllCapabilities;
    auto& c = t.creds();
    const auto& old = c.caps;
    if (!c.HasCapability(CAP_SETPCAP) && !Subset(inheritable, old.inheritable | old.permitted))
        return Error(EPERM);
    if (!Subset(inheritable, old.inheritable | old.bounding))
        return Error(EPERM);
    if (!Subset(permitted, old.permitted) || !Subset(effective, permitted))
        return Error(EPERM);
    c.caps.effective = effective;
    c.caps.permitted = permitted;
    c.caps.inheritable = inheritable;
    c.caps.ambient &= permitted & inheritable;
    return 0;
}

namespace {
// prctl(PR_CAP_AMBIENT, op, cap, 0, 0).
SyscallResult AmbientPrctl(kernel::Task& t, const SyscallArgs& a) {
    auto& c = t.creds();
    if (a[1] == PR_CAP_AMBIENT_CLEAR_ALL) {
        if (a[2] || a[3] || a[4])
            return Error(EINVAL);
        c.caps.ambient = 0;
        return 0;
    }
    if (a[3] || a[4] || !ValidCapability(a[2]))
        return Error(EINVAL);
    const uint64_t bit = kernel::CapabilityBit(static_cast<int>(a[2]));
    switch (a[1]) {
    case PR_CAP_AMBIENT_IS_SET: return (c.caps.ambient & bit) ? 1 : 0;
    case PR_CAP_AMBIENT_RAISE:
        if (!(c.caps.permitted & bit) || !(c.caps.inheritable & bit))
            return Error(EPERM);
        c.caps.ambient |= bit;
        return 0;
    case PR_CAP_AMBIENT_LOWER: c.caps.ambient &= ~bit; return 0;
    default: return Error(EINVAL);
    }
}
}  // namespace

std::optional<SyscallResult> CapabilityPrctl(kernel::Task& t, const SyscallArgs& a) {
    auto& c = t.creds();
    switch (arg_int(a, 0)) {
    case PR_CAPBSET_READ:
        if (!ValidCapability(a[1]))
            return Error(EINVAL);
        return (c.caps.bounding & kernel::CapabilityBit(static_cast<int>(a[1]))) ? 1 : 0;
    case PR_CAPBSET_DROP:
        if (!c.HasCapability(CAP_SETPCAP))
            return Error(EPERM);
        if (!ValidCapability(a[1]))
            return Error(EINVAL);
        c.caps.bounding &= ~kernel::CapabilityBit(static_cast<int>(a[1]));
        return 0;
    case PR_CAP_AMBIENT: return AmbientPrctl(t, a);
    case PR_GET_KEEPCAPS: return c.keep_caps ? 1 : 0;
    case PR_SET_KEEPCAPS:
        if (a[1] > 1)
            return Error(EINVAL);
        c.keep_caps = a[1] == 1;
        return 0;
    case PR_GET_SECUREBITS: return c.keep_caps ? 0x10 : 0;  // SECBIT_KEEP_CAPS
    case PR_SET_NO_NEW_PRIVS:
        if (a[1] != 1 || a[2] || a[3] || a[4])
            return Error(EINVAL);
        c.no_new_privs = true;
        return 0;
    case PR_GET_NO_NEW_PRIVS:
        if (a[1] || a[2] || a[3] || a[4])
            return Error(EINVAL);
        return c.no_new_privs ? 1 : 0;
    default: return std::nullopt;
    }
}

}  // namespace moat::syscalls
