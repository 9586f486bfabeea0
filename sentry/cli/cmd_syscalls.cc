#include "sentry/cli/commands.h"
#include "syscalls/table.h"

#include <fmt/format.h>

namespace moat::cli {

int RunSyscalls(const SyscallsOptions& opts) {
    if (opts.host) {
        // FIXME(#7): the sentry's own seccomp allowlist arrives with hardening.
        fmt::print(stderr, "moat: the host allowlist is not installed yet (hardening, issue #7)\n");
        return 1;
    }
    size_t counts[3] = {};
    for (const auto& e : syscalls::Table()) {
        ++counts[static_cast<int>(e.support)];
        if (e.note && *e.note)
            fmt::print("{:>3} {:<24} {:<13} {}\n", e.nr, e.name, syscalls::SupportName(e.support), e.note);
        else
            fmt::print("{:>3} {:<24} {}\n", e.nr, e.name, syscalls::SupportName(e.support));
    }
    fmt::print("# {} full, {} partial, {} unimplemented\n", counts[0], counts[1], counts[2]);
    return 0;
}

}  // namespace moat::cli
