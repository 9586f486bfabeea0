// Extended attributes: setxattr, lsetxattr, fsetxattr, getxattr, lgetxattr, fgetxattr,
// listxattr, llistxattr, flistxattr, removexattr, lremovexattr, fremovexattr. The argument
// checks are fs/xattr.c's; the namespace and permission rules are the Vfs's.

#include "fs/file.h"
#include "fs/fs_context.h"
#include "fs/task_fs.h"
#include "fs/vfs.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <fcntl.h>
#include <linux/limits.h>
#include <sys/xattr.h>

namespace moat::syscalls {

namespace {

constexpr size_t kXattrNameMax = XATTR_NAME_MAX;  // 255
constexpr size_t kXattrSizeMax = XATTR_SIZE_MAX;  // 65536
constexpr size_t kXattrListMax = XATTR_LIST_MAX;  // 65536

fs::Vfs& VfsOf(kernel::Task& task) { return task.fs_context().vfs(); }

// What an xattr call acts on: a path (followed or not) or an fd.
struct XattrTarget {
    fs::VfsPath path;
    std::shared_ptr<fs::File> holder;
};

enum class By { Path, LinkPath, Fd };

Result<XattrTarget> TargetOf(kernel::Task& task, By by, uint64_t arg) {
    XattrTarget t;
    if (by == By::Fd) {
        t.holder = TRY(fs::GetFile(task, static_cast<int>(arg)));
        if (!t.holder->path())
            return Error(EOPNOTSUPP);  // pipes: no xattr handlers
        t.path = *t.holder->path();
        return t;
    }
    std::string path = TRY(fs::CopyInPath(task, mm::UserAddr(arg)));
    auto at = TRY(fs::ResolveAt(task, AT_FDCWD, path, by == By::Path ? fs::kWalkFollow : 0u, false));
    t.path = std::move(at.path);
    return t;
}

// strncpy_from_user of at most XATTR_NAME_MAX + 1 bytes: empty or too long is ERANGE.
Result<std::string> CopyInName(kernel::Task& task, mm::UserAddr addr) {
    std::string name = TRY(task.mm().CopyInString(addr, kXattrNameMax + 1));
    if (name.empty() || name.size() > kXattrNameMax)
        return Error(ERANGE);
    return name;
}

SyscallResult DoSet(kernel::Task& task, By by, const SyscallArgs& args) {
    size_t size = args[3];
    int flags = arg_int(args, 4);
    if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
        return Error(EINVAL);
    std::string name = TRY(CopyInName(task, arg_addr(args, 1)));
    if (size > kXattrSizeMax)
        return Error(E2BIG);
    std::string value(size, '\0');
    if (size)
        TRY(task.mm().CopyIn(arg_addr(args, 2), value.data(), size));
    auto t = TRY(TargetOf(task, by, args[0]));
    TRY(VfsOf(task).SetXattr(fs::CallerOf(task), t.path, name, value, flags));
    return 0;
}

SyscallResult DoGet(kernel::Task& task, By by, const SyscallArgs& args) {
    auto t = TRY(TargetOf(task, by, args[0]));
    std::string name = TRY(CopyInName(task, arg_addr(args, 1)));
    size_t size = std::min<size_t>(args[3], kXattrSizeMax);
    std::string value = TRY(VfsOf(task).GetXattr(fs::CallerOf(task), t.path, name));
    if (size == 0)
        return value.size();
    if (value.size() > size)
        return Error(ERANGE);
    TRY(task.mm().CopyOut(arg_addr(args, 2), value.data(), value.size()));
    return value.size();
}

SyscallResult DoList(kernel::Task& task, By by, const SyscallArgs& args) {
    auto t = TRY(TargetOf(task, by, args[0]));
    size_t size = std::min<size_t>(args[2], kXattrListMax);
    auto names = TRY(VfsOf(task).ListXattr(fs::CallerOf(task), t.path));
    std::string list;
    for (const auto& n : names) {
        list.append(n);
        list.push_back('\0');
    }
    if (size == 0)
        return list.size();
    if (list.size() > size)
        return Error(ERANGE);
    TRY(task.mm().CopyOut(arg_addr(args, 1), list.data(), list.size()));
    return list.size();
}

SyscallResult DoRemove(kernel::Task& task, By by, const SyscallArgs& args) {
    std::string name = TRY(CopyInName(task, arg_addr(args, 1)));
    auto t = TRY(TargetOf(task, by, args[0]));
    TRY(VfsOf(task).RemoveXattr(fs::CallerOf(task), t.path, name));
    return 0;
}

}  // namespace

// Implements Linux setxattr(2), lsetxattr(2), fsetxattr(2).
SyscallResult sys_setxattr(kernel::Task& task, const SyscallArgs& args) { return DoSet(task, By::Path, args); }
SyscallResult sys_lsetxattr(kernel::Task& task, const SyscallArgs& args) { return DoSet(task, By::LinkPath, args); }
SyscallResult sys_fsetxattr(kernel::Task& task, const SyscallArgs& args) { return DoSet(task, By::Fd, args); }

// Implements Linux getxattr(2), lgetxattr(2), fgetxattr(2).
SyscallResult sys_getxattr(kernel::Task& task, const SyscallArgs& args) { return DoGet(task, By::Path, args); }
SyscallResult sys_lgetxattr(kernel::Task& task, const SyscallArgs& args) { return DoGet(task, By::LinkPath, args); }
SyscallResult sys_fgetxattr(kernel::Task& task, const SyscallArgs& args) { return DoGet(task, By::Fd, args); }

// Implements Linux listxattr(2), llistxattr(2), flistxattr(2).
SyscallResult sys_listxattr(kernel::Task& task, const SyscallArgs& args) { return DoList(task, By::Path, args); }
SyscallResult sys_llistxattr(kernel::Task& task, const SyscallArgs& args) { return DoList(task, By::LinkPath, args); }
SyscallResult sys_flistxattr(kernel::Task& task, const SyscallArgs& args) { return DoList(task, By::Fd, args); }

// Implements Linux removexattr(2), lremovexattr(2), fremovexattr(2).
SyscallResult sys_removexattr(kernel::Task& task, const SyscallArgs& args) { return DoRemove(task, By::Path, args); }
SyscallResult sys_lremovexattr(kernel::Task& task, const SyscallArgs& args) {
    return DoRemove(task, By::LinkPath, args);
}
SyscallResult sys_fremovexattr(kernel::Task& task, const SyscallArgs& args) { return DoRemove(task, By::Fd, args); }

}  // namespace moat::syscalls
