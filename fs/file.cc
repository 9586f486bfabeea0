#include "fs/file.h"

#include "fs/inotify/notify.h"
#include "fs/lock/lock_hooks.h"
#include <poll.h>

#include <limits>

namespace moat::fs {

File::~File() {
    ReleaseDescriptionLocks(*this);
    NotifyFile(*this, writable() ? IN_CLOSE_WRITE : IN_CLOSE_NOWRITE);
}

Result<InodeAttr> File::Stat() {
    if (!m_path)
        return Error(EBADF);
    return m_path->inode().Stat();
}

Result<size_t> File::Read(IoDst& dst) {
    if (!seekable())
        return Error(EINVAL);
    std::lock_guard lock(m_pos_lock);
    size_t n = TRY(PRead(dst, static_cast<uint64_t>(m_offset)));
    m_offset += static_cast<int64_t>(n);
    return n;
}

Result<size_t> File::PRead(IoDst&, uint64_t) { return Error(ESPIPE); }

Result<size_t> File::Write(IoSrc&) { return Error(EINVAL); }

Result<size_t> File::PWrite(IoSrc&, uint64_t) { return Error(ESPIPE); }

Result<int64_t> File::Seek(int64_t, int) { return Error(ESPIPE); }

Result<void> File::GetDents(const FsCaller&, DirentSink&) { return Error(ENOTDIR); }

Result<uint64_t> File::Ioctl(kernel::Task&, uint32_t, uint64_t) { return Error(ENOTTY); }

Result<int64_t> File::BytesReadable() { return Error(ENOTTY); }

Result<int64_t> File::SeekRegular(int64_t offset, int whence, int64_t size) {
    std::lock_guard lock(m_pos_lock);
    int64_t base;
    switch (whence) {
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = m_offset;
        break;
    case SEEK_END:
        base = size;
        break;
    case SEEK_DATA:
        // The whole file is data (no holes are reported): data at `offset` if inside the file.
        if (offset < 0 || offset >= size)
            return Error(ENXIO);
        m_offset = offset;
        return offset;
    case SEEK_HOLE:
        // The only hole is the implicit one at end of file.
        if (offset < 0 || offset >= size)
            return Error(ENXIO);
        m_offset = size;
        return size;
    default:
        return Error(EINVAL);
    }
    int64_t result;
    if (__builtin_add_overflow(base, offset, &result) || result < 0)
        return Error(EINVAL);
    m_offset = result;
    return result;
}

Result<void> File::Fallocate(int, int64_t, int64_t) { return Error(ENODEV); }

Result<void> File::Sync(bool) { return {}; }

uint32_t File::Readiness(uint32_t) { return POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM; }

Result<std::shared_ptr<File>> File::Reopen(const FsCaller&, int) { return Error(ENXIO); }

int64_t File::offset_for_proc() {
    // try_lock: a read blocked with the position lock held must not block a reader of /proc.
    std::unique_lock lock(m_pos_lock, std::try_to_lock);
    return lock.owns_lock() ? m_offset : 0;
}

}  // namespace moat::fs
