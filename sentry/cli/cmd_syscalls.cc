#include "sentry/cli/commands.h"
#include "sentry/sandbox/host_filter.h"
#include "syscalls/table.h"

#include <fmt/format.h>

#include <cstring>

namespace moat::cli {

int RunSyscalls(const SyscallsOptions& opts) {
    if (opts.host) {
        // The default mode's list, one syscall per line; --verbose adds why. --oci adds what
        // an OCI container's control socket needs, --network=host the host socket calls.
        sandbox::HostFilterMode mode;
        mode.control_socket = opts.oci;
        mode.host_network = opts.network == "host";
        for (const auto& e : sandbox::HostAllowlist(mode)) {
            if (opts.verbose)
                fmt::print("{:<20} {}\n", e.name, e.reason);
            else
                fmt::print("{}\n", e.name);
        }
        if (opts.verbose)
            for (const auto& e : sandbox::HostRefused())
                fmt::print("# refused with {}: {:<16} {}\n", strerrorname_np(e.refused_errno), e.name, e.reason);
        return 0;
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
