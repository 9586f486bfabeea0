#pragma once
// File: an open file description (what an fd refers to; shared by dup and fork). It holds
// the offset and status flags; the operations are the file's type's own.
//
// CONTRACT used by other folders (keep these signatures): status_flags(), readable(),
// writable(), mappable(). Everything else is fs/'s to shape.
//
// Lock order: File::m_pos_lock (held across a read/write/seek/getdents that uses the offset,
// like Linux's f_pos_lock) → the file type's own locks → inode locks → MemoryFile.

#include "fs/forward.h"
#include "fs/io.h"
#include "fs/vfs/inode.h"
#include "fs/vfs/mount.h"
#include "platform/base/result.h"
#include "sentry/kernel/event_queue.h"
#include "sentry/kernel/forward.h"
#include "sentry/mm/mappable.h"

#include <fcntl.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace moat::fs {

// Where getdents puts entries; the syscall layer formats them (linux_dirent64 or the old
// linux_dirent). `next_off` is the d_off of the entry: the position after it.
class DirentSink {
public:
    virtual ~DirentSink() = default;
    // False when the entry does not fit (the directory position then stays at this entry).
    virtual bool Add(const DirEntry& entry, int64_t next_off) = 0;
};

class File {
public:
    explicit File(int status_flags) : m_status_flags(status_flags) {}
    File(int status_flags, VfsPath path) : m_status_flags(status_flags), m_path(std::move(path)) {}
    File(int status_flags, std::optional<VfsPath> path) : m_status_flags(status_flags), m_path(std::move(path)) {}
    // Releases the description's flock/OFD locks (fs/lock/lock_hooks.h) and reports the
    // close to inotify.
    virtual ~File();
    File(const File&) = delete;
    File& operator=(const File&) = delete;

    // O_ACCMODE bits plus O_APPEND, O_NONBLOCK, O_DIRECT, O_NOATIME, O_PATH… as open(2) set them.
    int status_flags() const { return m_status_flags.load(std::memory_order_relaxed); }
    void set_status_flags(int flags) { m_status_flags.store(flags, std::memory_order_relaxed); }
    bool readable() const { return (status_flags() & O_PATH) == 0 && (status_flags() & O_ACCMODE) != O_WRONLY; }
    bool writable() const { return (status_flags() & O_PATH) == 0 && (status_flags() & O_ACCMODE) != O_RDONLY; }
    bool is_path_only() const { return (status_flags() & O_PATH) != 0; }

    // Pages for mmap; null means the file cannot be mapped (mmap gives ENODEV).
    virtual std::shared_ptr<mm::Mappable> mappable() { return nullptr; }

    // Where the file was opened in the mount tree; null for files outside it (stdio, pipes).
    const VfsPath* path() const { return m_path ? &*m_path : nullptr; }
    // The inode behind path(), or null.
    Inode* inode() const { return m_path && m_path->dentry ? m_path->dentry->inode().get() : nullptr; }
    bool is_directory() const { return inode() && inode()->is_dir(); }

    // ---- Operations (the syscall layer has checked readable()/writable()/O_PATH) ----
    // fstat(2). Default: the inode's attributes.
    virtual Result<InodeAttr> Stat();
    // read(2) at and advancing the file offset. Default: PRead at the offset under m_pos_lock.
    virtual Result<size_t> Read(IoDst& dst);
    // pread(2). Default: ESPIPE (not seekable).
    virtual Result<size_t> PRead(IoDst& dst, uint64_t offset);
    virtual Result<size_t> Write(IoSrc& src);
    virtual Result<size_t> PWrite(IoSrc& src, uint64_t offset);
    // lseek(2) with Linux's errnos. Default: ESPIPE.
    virtual Result<int64_t> Seek(int64_t offset, int whence);
    // getdents(2): ENOTDIR unless a directory.
    virtual Result<void> GetDents(const FsCaller& caller, DirentSink& sink);
    // ioctl(2) requests specific to the file type (the generic FIONBIO/FIOCLEX/FIONCLEX are the
    // syscall layer's). Default: ENOTTY.
    virtual Result<uint64_t> Ioctl(kernel::Task& task, uint32_t request, uint64_t arg);
    // FIONREAD: bytes readable without blocking; ENOTTY where Linux has none.
    virtual Result<int64_t> BytesReadable();
    // fallocate(2) (mode as the app passed it; the syscall layer checked the ranges). Default:
    // ENODEV, Linux's answer for files that are not regular.
    virtual Result<void> Fallocate(int mode, int64_t offset, int64_t len);
    // fsync/fdatasync: the data reaches where the file keeps it. Default: nothing to do.
    virtual Result<void> Sync(bool data_only);
    // What /proc/[pid]/fd/N shows for a file outside the mount tree (path() is null):
    // "pipe:[N]", "socket:[N]", "anon_inode:[eventfd]"…
    virtual std::string anon_name() const { return "anon_inode:[unknown]"; }
    // Opening /proc/[pid]/fd/N of a file outside the mount tree: a new description of the same
    // object with `flags` (a pipe's other end…). Default ENXIO (Linux's no_open).
    virtual Result<std::shared_ptr<File>> Reopen(const FsCaller& caller, int flags);
    // The offset for /proc/[pid]/fdinfo (0 while another thread holds the position lock).
    virtual int64_t offset_for_proc();
    // True for a terminal (isatty).
    virtual bool is_tty() const { return false; }
    // Whether pread/pwrite are allowed (FMODE_PREAD); ESPIPE otherwise.
    virtual bool seekable() const { return false; }

    // ---- Readiness (poll, select, epoll; fs/events/README.md) ----
    // The POLL* events true now, as Linux's f_op->poll returns them: callers filter with what
    // they asked for (plus POLLERR|POLLHUP, always reported). `interest` is a hint of what the
    // caller waits for. Default, for files that never block: POLLIN|POLLOUT|POLLRDNORM|POLLWRNORM.
    virtual uint32_t Readiness(uint32_t interest);
    // Where the file announces that Readiness may have changed (kernel/event_queue.h); null
    // when it never changes.
    virtual std::shared_ptr<kernel::EventQueue> event_queue() { return nullptr; }

protected:
    // Regular-file lseek against `size` (SEEK_DATA/SEEK_HOLE treat the whole file as data).
    Result<int64_t> SeekRegular(int64_t offset, int whence, int64_t size);

    std::mutex m_pos_lock;
    int64_t m_offset = 0;  // guarded by m_pos_lock

private:
    std::atomic<int> m_status_flags;
    const std::optional<VfsPath> m_path;
};

}  // namespace moat::fs
