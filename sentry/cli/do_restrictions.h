#pragma once
// What `moat do` applies to the sandbox it has built, for an OCI bundle's config.json: the
// path restrictions on the tree (linux.maskedPaths, linux.readonlyPaths, root.readonly) and
// the init process's initial rlimits (process.rlimits).

#include "fs/forward.h"
#include "sentry/cli/commands.h"

#include <string>

namespace moat::cli {

// After every mount: masks, read-only paths, then the read-only root (runc's order). Returns
// "" or the error line naming the path.
std::string ApplyPathRestrictions(fs::Vfs& vfs, const DoOptions& opts);

// After ThreadGroup::CaptureHostRlimits: opts.rlimits become the init process's limits.
void ApplyInitialRlimits(const DoOptions& opts);

}  // namespace moat::cli
