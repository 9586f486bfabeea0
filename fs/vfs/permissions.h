#pragma once
// Permission checks against a caller's credentials, as Linux's generic_permission: the mode
// bits for the caller's fsuid/fsgid, then CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH from its
// effective set.

#include "fs/vfs/caller.h"
#include "fs/vfs/inode.h"
#include "platform/base/result.h"

namespace moat::fs {

enum MayMask : int {
    kMayExec = 1,
    kMayWrite = 2,
    kMayRead = 4,
};

// EACCES unless `creds` may access an inode with `attr` as `mask` (kMay* bits). Null creds are
// the sentry: treated as root.
Result<void> CheckPermission(const kernel::Credentials* creds, const InodeAttr& attr, int mask);

// Same with the uid/gid the check uses given explicitly; uid 0 counts as holding every
// capability.
Result<void> CheckPermissionAs(uid_t uid, gid_t gid, const std::vector<gid_t>& groups, const InodeAttr& attr,
                               int mask);

}  // namespace moat::fs
