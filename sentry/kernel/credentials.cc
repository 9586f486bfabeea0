#include "sentry/kernel/credentials.h"

namespace moat::kernel {

namespace {

// CAP_FS_MASK: what follows the fsuid between 0 and not 0.
constexpr uint64_t kFsCapabilities = CapabilityBit(CAP_CHOWN) | CapabilityBit(CAP_DAC_OVERRIDE) |
                                     CapabilityBit(CAP_DAC_READ_SEARCH) | CapabilityBit(CAP_FOWNER) |
                                     CapabilityBit(CAP_FSETID) | CapabilityBit(CAP_MAC_OVERRIDE);

bool AnyRoot(const Credentials& c) { return c.ruid == 0 || c.euid == 0 || c.suid == 0; }

}  // namespace

void ApplyExecToCapabilities(Credentials& c) {
    const CapabilitySets old = c.caps;
    CapabilitySets& n = c.caps;
    // handle_privileged_root: root's files count as having every file capability.
    const bool root = c.euid == 0 || c.ruid == 0;
    n.permitted = root ? (old.bounding | old.inheritable) : 0;
    if (c.no_new_privs && (n.permitted & ~old.permitted))
        n.permitted &= old.permitted;
    // The ambient set survives only within permitted and inheritable (cap_ambient_invariant).
    n.ambient &= n.permitted | old.inheritable;
    n.permitted |= n.ambient;
    n.effective = c.euid == 0 ? n.permitted : n.ambient;
    c.suid = c.fsuid = c.euid;
    c.sgid = c.fsgid = c.egid;
    c.keep_caps = false;
}

void FixCapabilitiesAfterSetuid(Credentials& c, const Credentials& old) {
    CapabilitySets& n = c.caps;
    if (AnyRoot(old) && !AnyRoot(c)) {
        if (!c.keep_caps)
            n.permitted = n.effective = 0;
        n.ambient = 0;
    }
    if (old.euid == 0 && c.euid != 0)
        n.effective = 0;
    if (old.euid != 0 && c.euid == 0)
        n.effective = n.permitted;
    if (old.fsuid == 0 && c.fsuid != 0)
        n.effective &= ~kFsCapabilities;
    if (old.fsuid != 0 && c.fsuid == 0)
        n.effective |= n.permitted & kFsCapabilities;
}

}  // namespace moat::kernel
