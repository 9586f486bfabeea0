// Advisory file locks: flock(2) and fcntl(2)'s record-lock commands (FcntlLock). The lock
// state lives per inode in fs/lock/file_locks.h.

#include "fs/fd_table.h"
#include "fs/lock/file_locks.h"
#include "fs/task_fs.h"
#include "fs/vfs.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/fcntl_ops.h"
#include "syscalls/handlers.h"

#include <fcntl.h>
#include <sys/file.h>

namespace moat::syscalls {

namespace {

// LOCK_MAND (Samba's old mandatory flock): Linux ignores it and succeeds.
constexpr int kLockMand = 32;

// The locks of the file behind `file`. Files outside the mount tree (pipes, sockets, stdio)
// have no inode here to hang locks on: ENOLCK. FIXME(#fs-anon-locks): Linux locks those too.
Result<fs::FileLocks*> LocksOf(fs::File& file) {
    fs::Inode* inode = file.inode();
    if (!inode)
        return Error(ENOLCK);
    return &inode->file_locks();
}

bool IsOfd(int cmd) { return cmd == F_OFD_GETLK || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW; }

// The request `fl` describes, in absolute bytes (flock_to_posix_lock).
Result<fs::RecordRequest> RequestOf(fs::File& file, const struct flock& fl) {
    int64_t pos = 0, size = 0;
    if (fl.l_whence == SEEK_CUR) {
        auto cur = file.Seek(0, SEEK_CUR);
        pos = cur.ok() ? *cur : 0;
    } else if (fl.l_whence == SEEK_END) {
        auto attr = file.Stat();
        size = attr.ok() ? attr->size : 0;
    }
    auto range = TRY(fs::LockRangeOf(fl.l_whence, fl.l_start, fl.l_len, pos, size));
    fs::RecordRequest req;
    req.type = fl.l_type;
    req.start = range.start;
    req.end = range.end;
    return req;
}

SyscallResult GetLock(kernel::Task& task, const std::shared_ptr<fs::File>& file, int cmd, mm::UserAddr arg,
                      struct flock fl) {
    if (fl.l_type != F_RDLCK && fl.l_type != F_WRLCK)
        return Error(EINVAL);
    auto req = TRY(RequestOf(*file, fl));
    if (IsOfd(cmd) && fl.l_pid != 0)
        return Error(EINVAL);
    req.ofd = IsOfd(cmd);
    req.owner = req.ofd ? static_cast<const void*>(file.get()) : &task.fd_table();
    fs::FileLocks* locks = TRY(LocksOf(*file));
    auto conflict = locks->TestRecord(req);
    if (!conflict) {
        fl.l_type = F_UNLCK;
    } else {
        fl.l_type = conflict->type;
        fl.l_whence = SEEK_SET;
        fl.l_start = conflict->start;
        fl.l_len = conflict->end == fs::kLockEndMax ? 0 : conflict->end - conflict->start + 1;
        fl.l_pid = conflict->ofd ? -1 : conflict->pid;
    }
    TRY(task.mm().CopyOut(arg, &fl, sizeof(fl)));
    return 0;
}

SyscallResult SetLock(kernel::Task& task, const std::shared_ptr<fs::File>& file, int cmd, struct flock fl) {
    if (fl.l_type != F_RDLCK && fl.l_type != F_WRLCK && fl.l_type != F_UNLCK)
        return Error(EINVAL);
    auto req = TRY(RequestOf(*file, fl));
    // check_fmode_for_setlk: a lock type the description's mode cannot use.
    if ((fl.l_type == F_RDLCK && !file->readable()) || (fl.l_type == F_WRLCK && !file->writable()))
        return Error(EBADF);
    req.ofd = IsOfd(cmd);
    if (req.ofd && fl.l_pid != 0)
        return Error(EINVAL);
    req.owner = req.ofd ? static_cast<const void*>(file.get()) : &task.fd_table();
    req.pid = task.pid();
    fs::FileLocks* locks = TRY(LocksOf(*file));
    bool wait = cmd == F_SETLKW || cmd == F_OFD_SETLKW;
    TRY(locks->SetRecord(req, wait, &task.kernel().vfs().lock_waits()));
    return 0;
}

}  // namespace

// fcntl(2) lock commands. Differs: files outside the mount tree (pipes, sockets) are ENOLCK.
SyscallResult FcntlLock(kernel::Task& task, const std::shared_ptr<fs::File>& file, int cmd, mm::UserAddr arg) {
    struct flock fl {};
    TRY(task.mm().CopyIn(arg, &fl, sizeof(fl)));
    if (cmd == F_GETLK || cmd == F_OFD_GETLK)
        return GetLock(task, file, cmd, arg, fl);
    return SetLock(task, file, cmd, fl);
}

// Implements Linux flock(2). Differs: files outside the mount tree (pipes, sockets) are ENOLCK.
SyscallResult sys_flock(kernel::Task& task, const SyscallArgs& args) {
    auto file = TRY(fs::GetFile(task, arg_int(args, 0)));
    unsigned cmd = arg_uint(args, 1);
    if (cmd & kLockMand)
        return 0;
    bool nonblock = (cmd & LOCK_NB) != 0;
    cmd &= ~static_cast<unsigned>(LOCK_NB);
    if (cmd != LOCK_SH && cmd != LOCK_EX && cmd != LOCK_UN)
        return Error(EINVAL);
    fs::FileLocks* locks = TRY(LocksOf(*file));
    if (cmd == LOCK_UN) {
        locks->FlockUnlock(file.get());
        return 0;
    }
    TRY(locks->Flock(file.get(), cmd == LOCK_EX, nonblock));
    return 0;
}

}  // namespace moat::syscalls
