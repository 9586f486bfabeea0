// Reading and writing file data: read, write, pread64, pwrite64, readv, writev, preadv,
// pwritev, preadv2, pwritev2, lseek. Data moves through the sentry in bounded chunks
// (fs::kIoChunk); app memory is touched only through the MemoryManager.

#include "fs/file.h"
#include "fs/inotify/notify.h"
#include "fs/task_fs.h"
#include "fs/user_io.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"
#include "sentry/kernel/signals.h"
#include "syscalls/handlers.h"

#include <csignal>

#include <linux/fs.h>

namespace moat::syscalls {

namespace {

constexpr int kRwfSupported = RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND;

// rw_verify_area for a positioned transfer: pos + count must not overflow loff_t.
Result<void> VerifyArea(int64_t pos, uint64_t count) {
    if (pos < 0)
        return Error(EINVAL);
    if (count > static_cast<uint64_t>(INT64_MAX - pos))
        return Error(EINVAL);
    return {};
}

uint64_t Total(const std::vector<fs::UserSegment>& segs) {
    uint64_t t = 0;
    for (auto& s : segs)
        t += s.len;
    return t;
}

// `pos` < 0 means "at the file offset".
SyscallResult DoRead(kernel::Task& task, fs::File& file, std::vector<fs::UserSegment> segs, int64_t pos) {
    fs::UserIoDst dst(task.mm(), std::move(segs));
    size_t n = pos < 0 ? TRY(file.Read(dst)) : TRY(file.PRead(dst, static_cast<uint64_t>(pos)));
    if (n > 0)
        fs::NotifyFile(file, IN_ACCESS);
    return n;
}

SyscallResult DoWrite(kernel::Task& task, fs::File& file, std::vector<fs::UserSegment> segs, int64_t pos) {
    fs::UserIoSrc src(task.mm(), std::move(segs));
    auto written = pos < 0 ? file.Write(src) : file.PWrite(src, static_cast<uint64_t>(pos));
    // A write to a pipe or stream nobody reads: EPIPE, and SIGPIPE as Linux sends it.
    if (!written.ok() && written.error() == EPIPE)
        kernel::SendSignalToGroup(task, SIGPIPE);
    if (written.ok() && *written > 0)
        fs::NotifyFile(file, IN_MODIFY);
    return TRY(std::move(written));
}

Result<std::shared_ptr<fs::File>> ReadableFile(kernel::Task& task, int fd) {
    auto file = TRY(fs::GetFile(task, fd));
    if (!file->readable())
        return Error(EBADF);
    return file;
}

Result<std::shared_ptr<fs::File>> WritableFile(kernel::Task& task, int fd) {
    auto file = TRY(fs::GetFile(task, fd));
    if (!file->writable())
        return Error(EBADF);
    return file;
}

SyscallResult Readv(kernel::Task& task, int fd, mm::UserAddr iov, uint64_t iovcnt, int64_t pos, bool positioned) {
    auto file = TRY(fs::GetFile(task, fd));
    if (positioned && !file->seekable())
        return Error(ESPIPE);
    if (!file->readable())
        return Error(EBADF);
    auto segs = TRY(fs::ImportIovecs(task.mm(), iov, iovcnt));
    uint64_t total = Total(segs);
    if (positioned)
        TRY(VerifyArea(pos, total));
    if (total == 0)
        return 0;
    return DoRead(task, *file, std::move(segs), positioned ? pos : -1);
}

SyscallResult Writev(kernel::Task& task, int fd, mm::UserAddr iov, uint64_t iovcnt, int64_t pos, bool positioned) {
    auto file = TRY(fs::GetFile(task, fd));
    if (positioned && !file->seekable())
        return Error(ESPIPE);
    if (!file->writable())
        return Error(EBADF);
    auto segs = TRY(fs::ImportIovecs(task.mm(), iov, iovcnt));
    uint64_t total = Total(segs);
    if (positioned)
        TRY(VerifyArea(pos, total));
    if (total == 0)
        return 0;
    return DoWrite(task, *file, std::move(segs), positioned ? pos : -1);
}

}  // namespace

// Implements Linux read(2).
SyscallResult sys_read(kernel::Task& task, const SyscallArgs& args) {
    auto file = TRY(ReadableFile(task, arg_int(args, 0)));
    auto segs = TRY(fs::ImportBuffer(arg_addr(args, 1), args[2]));
    return DoRead(task, *file, std::move(segs), -1);
}

// Implements Linux write(2).
SyscallResult sys_write(kernel::Task& task, const SyscallArgs& args) {
    auto file = TRY(WritableFile(task, arg_int(args, 0)));
    auto segs = TRY(fs::ImportBuffer(arg_addr(args, 1), args[2]));
    return DoWrite(task, *file, std::move(segs), -1);
}

// Implements Linux pread64(2).
SyscallResult sys_pread64(kernel::Task& task, const SyscallArgs& args) {
    int64_t pos = static_cast<int64_t>(args[3]);
    if (pos < 0)
        return Error(EINVAL);
    auto file = TRY(fs::GetFile(task, arg_int(args, 0)));
    if (!file->seekable())
        return Error(ESPIPE);
    if (!file->readable())
        return Error(EBADF);
    auto segs = TRY(fs::ImportBuffer(arg_addr(args, 1), args[2]));
    TRY(VerifyArea(pos, args[2]));
    return DoRead(task, *file, std::move(segs), pos);
}

// Implements Linux pwrite64(2).
SyscallResult sys_pwrite64(kernel::Task& task, const SyscallArgs& args) {
    int64_t pos = static_cast<int64_t>(args[3]);
    if (pos < 0)
        return Error(EINVAL);
    auto file = TRY(fs::GetFile(task, arg_int(args, 0)));
    if (!file->seekable())
        return Error(ESPIPE);
    if (!file->writable())
        return Error(EBADF);
    auto segs = TRY(fs::ImportBuffer(arg_addr(args, 1), args[2]));
    TRY(VerifyArea(pos, args[2]));
    return DoWrite(task, *file, std::move(segs), pos);
}

// Implements Linux readv(2).
SyscallResult sys_readv(kernel::Task& task, const SyscallArgs& args) {
    return Readv(task, arg_int(args, 0), arg_addr(args, 1), args[2], -1, false);
}

// Implements Linux writev(2).
SyscallResult sys_writev(kernel::Task& task, const SyscallArgs& args) {
    return Writev(task, arg_int(args, 0), arg_addr(args, 1), args[2], -1, false);
}

// Implements Linux preadv(2). On x86-64 the whole offset is in pos_l (args[3]).
SyscallResult sys_preadv(kernel::Task& task, const SyscallArgs& args) {
    int64_t pos = static_cast<int64_t>(args[3]);
    if (pos < 0)
        return Error(EINVAL);
    return Readv(task, arg_int(args, 0), arg_addr(args, 1), args[2], pos, true);
}

// Implements Linux pwritev(2).
SyscallResult sys_pwritev(kernel::Task& task, const SyscallArgs& args) {
    int64_t pos = static_cast<int64_t>(args[3]);
    if (pos < 0)
        return Error(EINVAL);
    return Writev(task, arg_int(args, 0), arg_addr(args, 1), args[2], pos, true);
}

namespace {
// preadv2/pwritev2: flags checked, then offset -1 means "at the file offset" like readv/writev.
template <typename Vectored>
SyscallResult Vectored2(kernel::Task& task, const SyscallArgs& args, Vectored vectored) {
    int64_t pos = static_cast<int64_t>(args[3]);
    if (arg_int(args, 5) & ~kRwfSupported)
        return Error(EOPNOTSUPP);
    if (pos < -1)
        return Error(EINVAL);
    return vectored(task, arg_int(args, 0), arg_addr(args, 1), args[2], pos, pos != -1);
}
}  // namespace

// Implements Linux preadv2(2). Differs: the RWF_* hints are accepted and ignored.
SyscallResult sys_preadv2(kernel::Task& task, const SyscallArgs& args) { return Vectored2(task, args, Readv); }

// Implements Linux pwritev2(2). Differs: the RWF_* hints are accepted and ignored.
SyscallResult sys_pwritev2(kernel::Task& task, const SyscallArgs& args) { return Vectored2(task, args, Writev); }

// Implements Linux lseek(2). Directories take SEEK_SET/SEEK_CUR only (as tmpfs).
SyscallResult sys_lseek(kernel::Task& task, const SyscallArgs& args) {
    auto file = TRY(fs::GetFile(task, arg_int(args, 0)));
    unsigned whence = arg_uint(args, 2);
    if (whence > SEEK_HOLE)
        return Error(EINVAL);
    int64_t r = TRY(file->Seek(static_cast<int64_t>(args[1]), static_cast<int>(whence)));
    return static_cast<uint64_t>(r);
}

}  // namespace moat::syscalls
