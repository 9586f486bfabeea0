#pragma once
#include <sys/types.h>

#include <vector>

namespace moat::kernel {

// A task's identity as the sandbox sees it (the sandbox's own ids, not the host's).
struct Credentials {
    uid_t ruid = 0, euid = 0, suid = 0, fsuid = 0;
    gid_t rgid = 0, egid = 0, sgid = 0, fsgid = 0;
    std::vector<gid_t> groups;
};

}  // namespace moat::kernel
