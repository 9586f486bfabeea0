#pragma once
// Credentials: a task's identity and privileges as the sandbox sees them — the sandbox's own
// ids and capability sets, never the host's. The sentry's host process keeps its own uid and
// has no capabilities at all (sentry/sandbox); these are the model the workload's syscalls see.

#include <linux/capability.h>
#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace moat::kernel {

// CAP_CHOWN (0) .. CAP_LAST_CAP: every capability this kernel knows.
inline constexpr int kLastCapability = 40;  // CAP_CHECKPOINT_RESTORE
inline constexpr uint64_t kAllCapabilities = (uint64_t{1} << (kLastCapability + 1)) - 1;

constexpr uint64_t CapabilityBit(int cap) { return uint64_t{1} << cap; }

// Linux's five per-task sets (capabilities(7)). The default is the sandbox's root before any
// configuration: every capability, as a process started by root on a host has.
struct CapabilitySets {
    uint64_t inheritable = 0;
    uint64_t permitted = kAllCapabilities;
    uint64_t effective = kAllCapabilities;
    uint64_t bounding = kAllCapabilities;
    uint64_t ambient = 0;
};

struct Credentials {
    uid_t ruid = 0, euid = 0, suid = 0, fsuid = 0;
    gid_t rgid = 0, egid = 0, sgid = 0, fsgid = 0;
    std::vector<gid_t> groups;
    CapabilitySets caps;
    // Linux keeps these two in the task (atomic_flags, securebits) rather than the cred; like
    // the cred they are inherited by fork and kept by exec, so they live here.
    bool no_new_privs = false;  // PR_SET_NO_NEW_PRIVS: once set, never cleared
    bool keep_caps = false;     // PR_SET_KEEPCAPS: cleared by exec

    // capable(cap): the effective set holds it.
    bool HasCapability(int cap) const {
        return cap >= 0 && cap <= kLastCapability && (caps.effective & CapabilityBit(cap)) != 0;
    }
};

// execve(2)'s transformation of the sets (Linux's cap_bprm_creds_from_file) for a file without
// file capabilities or set-id bits — the sandbox's files carry neither: root (real or
// effective uid 0) gains its bounding and inheritable sets, others keep only the ambient set;
// with no_new_privs nothing beyond the old permitted set is gained.
void ApplyExecToCapabilities(Credentials& creds);

// What a change of uids does to the sets (Linux's cap_task_fix_setuid): leaving uid 0 for
// all of real, effective and saved drops permitted and effective (unless keep_caps) and
// ambient; leaving or regaining effective uid 0 drops or restores effective; an fsuid change
// drops or restores the filesystem capabilities.
void FixCapabilitiesAfterSetuid(Credentials& creds, const Credentials& old);

}  // namespace moat::kernel
