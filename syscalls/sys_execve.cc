// Replacing the process image: execve, execveat. Task::ExecProcess (sentry/kernel) loads the
// program, ends the other threads, closes close-on-exec fds and releases a vfork parent.

#include "fs/fd_table.h"
#include "fs/file.h"
#include "fs/exec.h"
#include "fs/fs_context.h"
#include "fs/task_fs.h"
#include "fs/vfs/path_walk.h"
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

SyscallResult DoExec(kernel::Task& t, const std::string& path, uint64_t argv_addr, uint64_t envp_addr,
                     std::shared_ptr<loader::ExecFile> file = nullptr) {
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
    TRY(t.ExecProcess(path, std::move(argv), std::move(envp), std::move(file)));
    return 0;
}

}  // namespace

// Implements Linux execve(2). On success the registers are replaced and nothing returns.
SyscallResult sys_execve(kernel::Task& t, const SyscallArgs& a) {
    std::string path = TRY(t.mm().CopyInString(arg_addr(a, 0), kPathMax - 1));
    return DoExec(t, path, a[1], a[2]);
}

// Implements Linux execveat(2): the executable is opened from dirfd itself (a directory fd
// for a relative path; with AT_EMPTY_PATH and "", the fd's own file, as fexecve(3) uses), so
// a renamed directory or an unlinked file still works. AT_SYMLINK_NOFOLLOW makes a final
// symlink ELOOP. As in Linux, the program sees "/dev/fd/N" or "/dev/fd/N/path" as its
// AT_EXECFN (and a `#!` interpreter as its script's path) unless the path is absolute or
// dirfd is AT_FDCWD.
SyscallResult sys_execveat(kernel::Task& t, const SyscallArgs& a) {
    int dirfd = arg_int(a, 0);
    int flags = arg_int(a, 4);
    if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
        return Error(EINVAL);
    std::string path = TRY(t.mm().CopyInString(arg_addr(a, 1), kPathMax - 1));
    unsigned walk = (flags & AT_SYMLINK_NOFOLLOW) ? 0u : unsigned{fs::kWalkFollow};
    fs::AtTarget target = TRY(fs::ResolveAt(t, dirfd, path, walk, (flags & AT_EMPTY_PATH) != 0));
    auto file = TRY(fs::OpenExecPath(t, target.path));
    std::string filename = path;
    if (dirfd != AT_FDCWD && (path.empty() || path[0] != '/'))
        filename = "/dev/fd/" + std::to_string(dirfd) + (path.empty() ? "" : "/" + path);
    return DoExec(t, filename, a[2], a[3], std::move(file));
}

}  // namespace moat::syscalls
