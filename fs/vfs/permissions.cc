#include "fs/vfs/permissions.h"

#include <algorithm>

namespace moat::fs {

Result<void> CheckPermissionAs(uid_t uid, gid_t gid, const std::vector<gid_t>& groups, const InodeAttr& attr,
                               int mask) {
    mask &= kMayExec | kMayWrite | kMayRead;
    if (uid == 0) {
        // CAP_DAC_OVERRIDE: everything, except executing a non-directory with no x bit at all.
        if ((mask & kMayExec) && !S_ISDIR(attr.mode) && (attr.mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0)
            return Error(EACCES);
        return {};
    }
    uint32_t bits;
    if (attr.uid == uid)
        bits = (attr.mode >> 6) & 7;
    else if (attr.gid == gid || std::find(groups.begin(), groups.end(), attr.gid) != groups.end())
        bits = (attr.mode >> 3) & 7;
    else
        bits = attr.mode & 7;
    if ((bits & mask) != static_cast<uint32_t>(mask))
        return Error(EACCES);
    return {};
}

Result<void> CheckPermission(const kernel::Credentials* creds, const InodeAttr& attr, int mask) {
    static const std::vector<gid_t> kNoGroups;
    if (!creds)
        return CheckPermissionAs(0, 0, kNoGroups, attr, mask);
    return CheckPermissionAs(creds->fsuid, creds->fsgid, creds->groups, attr, mask);
}

}  // namespace moat::fs
