#include "fs/dev/devfs.h"

#include "fs/dev/char_devices.h"
#include "fs/vfs.h"

#include <sys/stat.h>

namespace moat::fs {

Result<void> PopulateDevfs(Inode& root) {
    const FsCaller sentry{};
    struct Node {
        const char* name;
        uint32_t mode;
        uint64_t rdev;
    };
    constexpr Node kNodes[] = {
        {"null", S_IFCHR | 0666, kDevNull},       {"zero", S_IFCHR | 0666, kDevZero},
        {"full", S_IFCHR | 0666, kDevFull},       {"random", S_IFCHR | 0666, kDevRandom},
        {"urandom", S_IFCHR | 0666, kDevUrandom}, {"tty", S_IFCHR | 0666, kDevTty},
        {"console", S_IFCHR | 0600, kDevConsole}, {"ptmx", S_IFCHR | 0666, kDevPtmx},
    };
    for (const Node& n : kNodes)
        TRY(root.Create(sentry, n.name, NewInode{n.mode, 0, 0, n.rdev}));
    struct Link {
        const char* name;
        const char* target;
    };
    constexpr Link kLinks[] = {
        {"fd", "/proc/self/fd"},
        {"stdin", "/proc/self/fd/0"},
        {"stdout", "/proc/self/fd/1"},
        {"stderr", "/proc/self/fd/2"},
    };
    for (const Link& l : kLinks)
        TRY(root.Symlink(sentry, l.name, l.target, NewInode{S_IFLNK | 0777, 0, 0, 0}));
    TRY(root.Mkdir(sentry, "shm", NewInode{S_IFDIR | 01777, 0, 0, 0}));
    TRY(root.Mkdir(sentry, "pts", NewInode{S_IFDIR | 0755, 0, 0, 0}));
    TRY(root.Mkdir(sentry, "mqueue", NewInode{S_IFDIR | 01777, 0, 0, 0}));
    return {};
}

std::optional<VfsPath> FindConsoleNode(Vfs& vfs) {
    auto found = vfs.Resolve(FsCaller{}, vfs.root(), vfs.root(), "/dev/console", 0);
    if (!found.ok())
        return std::nullopt;
    return *found;
}

}  // namespace moat::fs
