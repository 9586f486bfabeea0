// Replacing the process image: execve, execveat. Task::ExecProcess (sentry/kernel) loads the
// program, ends the other threads, closes close-on-exec fds and releases a vfork parent.

#include "fs/fd_table.h"
#include "fs/file.h"
#include "fs/fs_context.h"
#include "fs/vfs/mount.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <fcntl.h>
#include <sys/resource.h>

#include <string>

#include <vector>

namespace moat::syscalls {

namespace {

constexpr size_t kPathMax = 4096;
constexpr size_t kMaxArgStrlen = 131072;  // MAX_ARG_STRLEN: 32 pages
constexpr size_t kMaxArgStrings = 0x7fffffff;

// Copies a NULL-terminated array of string pointers (argv or envp). A null array is empty.
Result<void> CopyStringArray(kernel::Task& t, uint64_t addr, std::vector<std::string>& out, size_t& total) {
    if (!addr)
        return {};
    for (size_t i = 0;; ++i) {
        if (i >= kMaxArgStrings)
            return Error(E2BIG);
        uint64_t p = TRY(t.mm().CopyInObject<uint64_t>(mm::UserAddr(addr + i * sizeof(uint64_t))));
        if (!p)
            return {};
        auto s = t.mm().CopyInString(mm::UserAddr(p), kMaxArgStrlen - 1);
        if (!s.ok())
            return Error(s.error() == ENAMETOOLONG ? E2BIG : s.error());
        total += s.value().size() + 1 + sizeof(uint64_t);
        out.push_back(s.release_value());
    }
}

SyscallResult DoExec(kernel::Task& t, const std::string& path, uint64_t argv_addr, uint64_t envp_addr) {
    std::vector<std::string> argv, envp;
    size_t total = 0;
    TRY(CopyStringArray(t, argv_addr, argv, total));
    TRY(CopyStringArray(t, envp_addr, envp, total));
    // Linux's limit on the strings and pointers together: a quarter of the stack rlimit,
    // at most 6 MiB (3/4 of _STK_LIM), at least 128 KiB (ARG_MAX).
    struct rlimit stack = t.thread_group().rlimit(RLIMIT_STACK);
    size_t limit = 6u << 20;
    if (stack.rlim_cur != RLIM_INFINITY)
        limit = std::min<size_t>(limit, stack.rlim_cur / 4);
    limit = std::max<size_t>(limit, 128u << 10);
    if (total > limit)
        return Error(E2BIG);
    // Linux 5.18+: an empty argv gets an empty argv[0], so argc is never 0.
    if (argv.empty())
        argv.emplace_back();
    TRY(t.ExecProcess(path, std::move(argv), std::move(envp)));
    return 0;
}

}  // namespace

// Implements Linux execve(2). On success the registers are replaced and nothing returns.
SyscallResult sys_execve(kernel::Task& t, const SyscallArgs& a) {
    std::string path = TRY(t.mm().CopyInString(arg_addr(a, 0), kPathMax - 1));
    return DoExec(t, path, a[1], a[2]);
}

// Implements Linux execveat(2). Differs: a dirfd-relative path or AT_EMPTY_PATH is resolved
// by re-walking the fd's path (FIXME(#3): open from the fd itself, so a renamed or unlinked
// file still runs); AT_SYMLINK_NOFOLLOW is accepted but not enforced.
SyscallResult sys_execveat(kernel::Task& t, const SyscallArgs& a) {
    int dirfd = arg_int(a, 0);
    int flags = arg_int(a, 4);
    if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
        return Error(EINVAL);
    std::string path = TRY(t.mm().CopyInString(arg_addr(a, 1), kPathMax - 1));
    if (path.empty() && !(flags & AT_EMPTY_PATH))
        return Error(ENOENT);
    if (dirfd != AT_FDCWD && (path.empty() || path[0] != '/')) {
        auto file = TRY(t.fd_table().Get(dirfd));
        const fs::VfsPath* where = file->path();
        if (!where)
            return Error(path.empty() ? EACCES : ENOTDIR);
        bool reachable = true;
        std::string base = fs::PathFrom(*where, t.fs_context().root(), &reachable);
        if (!reachable)
            return Error(ENOENT);
        if (!path.empty())
            path = (base == "/" ? base : base + "/") + path;
        else
            path = base;
    }
    return DoExec(t, path, a[2], a[3]);
}

}  // namespace moat::syscalls
