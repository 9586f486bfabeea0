#include "fs/vfs/permissions.h"

#include <algorithm>

namespace moat::fs {

namespace {

// CAP_DAC_OVERRIDE: everything, except executing a non-directory with no x bit at all.
bool DacOverrideAllows(const InodeAttr& attr, int mask) {
    return !((mask & kMayExec) && !S_ISDIR(attr.mode) && (attr.mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0);
}

// CAP_DAC_READ_SEARCH: reading any file, reading and searching any directory.
bool DacReadSearchAllows(const InodeAttr& attr, int mask) {
    if (S_ISDIR(attr.mode))
        return (mask & kMayWrite) == 0;
    return mask == kMayRead;
}

bool ModeBitsAllow(uid_t uid, gid_t gid, const std::vector<gid_t>& groups, const InodeAttr& attr, int mask) {
    uint32_t bits;
    if (attr.uid == uid)
        bits = (attr.mode >> 6) & 7;
    else if (attr.gid == gid || std::find(groups.begin(), groups.end(), attr.gid) != groups.end())
        bits = (attr.mode >> 3) & 7;
    else
        bits = attr.mode & 7;
    return (bits & mask) == static_cast<uint32_t>(mask);
}

}  // namespace

Result<void> CheckPermissionAs(uid_t uid, gid_t gid, const std::vector<gid_t>& groups, const InodeAttr& attr,
                               int mask) {
    mask &= kMayExec | kMayWrite | kMayRead;
    if (uid == 0)
        return DacOverrideAllows(attr, mask) ? Result<void>() : Result<void>(Error(EACCES));
    if (!ModeBitsAllow(uid, gid, groups, attr, mask))
        return Error(EACCES);
    return {};
}

Result<void> CheckPermission(const kernel::Credentials* creds, const InodeAttr& attr, int mask) {
    static const std::vector<gid_t> kNoGroups;
    if (!creds)
        return CheckPermissionAs(0, 0, kNoGroups, attr, mask);
    mask &= kMayExec | kMayWrite | kMayRead;
    if (ModeBitsAllow(creds->fsuid, creds->fsgid, creds->groups, attr, mask))
        return {};
    if (creds->HasCapability(CAP_DAC_OVERRIDE) && DacOverrideAllows(attr, mask))
        return {};
    if (creds->HasCapability(CAP_DAC_READ_SEARCH) && DacReadSearchAllows(attr, mask))
        return {};
    return Error(EACCES);
}

}  // namespace moat::fs
