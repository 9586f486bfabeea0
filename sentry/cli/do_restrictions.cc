#include "sentry/cli/do_restrictions.h"

#include "fs/path_restrictions.h"
#include "sentry/kernel/thread_group.h"

#include <fmt/format.h>

#include <cstring>

namespace moat::cli {

std::string ApplyPathRestrictions(fs::Vfs& vfs, const DoOptions& opts) {
    for (const auto& path : opts.masked_paths)
        if (auto r = fs::MaskPath(vfs, path); !r.ok())
            return fmt::format("linux.maskedPaths {}: {}", path, strerror(r.error()));
    for (const auto& path : opts.readonly_paths)
        if (auto r = fs::MakePathReadOnly(vfs, path); !r.ok())
            return fmt::format("linux.readonlyPaths {}: {}", path, strerror(r.error()));
    if (opts.readonly_root)
        fs::MakeRootReadOnly(vfs);
    return "";
}

void ApplyInitialRlimits(const DoOptions& opts) {
    for (const auto& r : opts.rlimits)
        kernel::ThreadGroup::SetInitialRlimit(r.resource, {r.soft, r.hard});
}

}  // namespace moat::cli
