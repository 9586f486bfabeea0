#include "fs/host/regular_file.h"

#include <fcntl.h>
#include <linux/falloc.h>

#include <memory>

namespace moat::fs {

namespace {
// Linux's MAX_LFS_FILESIZE on 64-bit.
constexpr uint64_t kMaxFileSize = static_cast<uint64_t>(INT64_MAX);
}  // namespace

std::shared_ptr<mm::Mappable> HostRegularFile::mappable() {
    auto pc = m_inode->PageCache(*path());
    if (!pc.ok())
        return nullptr;
    return *pc;
}

Result<size_t> HostRegularFile::PRead(IoDst& dst, uint64_t offset) {
    if (offset > static_cast<uint64_t>(INT64_MAX))
        return Error(EINVAL);
    if (!m_inode->host_fs().read_only()) {
        // A shared writable mapping changes the cached frames before the host file: read
        // what the mapping wrote, as Linux does.
        if (auto cache = m_inode->ExistingPageCache())
            return ChunkedRead(dst, offset, [&](std::span<uint8_t> buf, uint64_t off) {
                return cache->ReadAt(buf.data(), buf.size(), off);
            });
    }
    HostIo& io = m_inode->host_fs().io();
    int fd = m_fd->get();
    return ChunkedRead(dst, offset, [&](std::span<uint8_t> buf, uint64_t off) {
        return io.Pread(fd, buf.data(), buf.size(), off);
    });
}

Result<size_t> HostRegularFile::Write(IoSrc& src) {
    std::lock_guard pos_lock(m_pos_lock);
    std::lock_guard lock(m_inode->write_lock());
    uint64_t offset = static_cast<uint64_t>(m_offset);
    size_t n = TRY(WriteLocked(src, offset));
    m_offset = static_cast<int64_t>(offset + n);
    return n;
}

Result<size_t> HostRegularFile::PWrite(IoSrc& src, uint64_t offset) {
    std::lock_guard lock(m_inode->write_lock());
    // Linux: pwrite on an O_APPEND file appends, whatever the offset.
    return WriteLocked(src, offset);
}

Result<size_t> HostRegularFile::WriteLocked(IoSrc& src, uint64_t& offset) {
    if (!writable())
        return Error(EBADF);
    if (status_flags() & O_APPEND)
        offset = static_cast<uint64_t>(TRY(m_inode->Stat()).size);
    size_t want = std::min(src.remaining(), kMaxRwCount);
    if (want == 0)
        return size_t{0};
    if (offset >= kMaxFileSize)
        return Error(EFBIG);
    want = static_cast<size_t>(std::min<uint64_t>(want, kMaxFileSize - offset));
    size_t buf_size = std::min(want, kIoChunk);
    std::unique_ptr<uint8_t[]> buf(new (std::nothrow) uint8_t[buf_size]);
    if (!buf)
        return Error(ENOMEM);
    HostIo& io = m_inode->host_fs().io();
    size_t total = 0;
    while (total < want) {
        size_t n = std::min(want - total, buf_size);
        Result<size_t> took = src.Take(std::span<uint8_t>(buf.get(), n));
        if (!took.ok()) {
            if (total > 0)
                break;
            return Error(took.error());
        }
        size_t written = 0;
        while (written < *took) {
            Result<size_t> w = io.Pwrite(m_fd->get(), buf.get() + written, *took - written, offset + total + written);
            if (!w.ok()) {
                if (total + written > 0)
                    break;
                return Error(w.error());
            }
            m_inode->NoteWrite(buf.get() + written, *w, offset + total + written);
            written += *w;
        }
        total += written;
        if (written < *took || *took < n)
            break;  // a short write (ENOSPC, EFBIG) or the source faulted
    }
    return total;
}

Result<int64_t> HostRegularFile::Seek(int64_t offset, int whence) {
    if (whence == SEEK_DATA || whence == SEEK_HOLE) {
        // The host file's own holes. FIXME(#fs-host-coherence): pages a shared mapping dirtied
        // in a hole count as a hole until written back.
        if (offset < 0)
            return Error(ENXIO);
        std::lock_guard lock(m_pos_lock);
        m_offset = TRY(m_inode->host_fs().io().SeekHole(m_fd->get(), offset, whence));
        return m_offset;
    }
    int64_t size = 0;
    if (whence == SEEK_END || whence == SEEK_DATA || whence == SEEK_HOLE)
        size = TRY(m_inode->Stat()).size;
    return SeekRegular(offset, whence, size);
}

Result<int64_t> HostRegularFile::BytesReadable() {
    int64_t size = TRY(m_inode->Stat()).size;
    std::lock_guard lock(m_pos_lock);
    return size - m_offset;
}

Result<void> HostRegularFile::Fallocate(int mode, int64_t offset, int64_t len) {
    if (!writable())
        return Error(EBADF);
    std::lock_guard lock(m_inode->write_lock());
    TRY(m_inode->host_fs().io().Fallocate(m_fd->get(), mode, offset, len));
    auto cache = m_inode->ExistingPageCache();
    // Holes punched, ranges zeroed or collapsed change bytes the cache holds: forget them
    // (mappings keep the frames they already have: FIXME(#fs-host-coherence)).
    if (cache && (mode & ~FALLOC_FL_KEEP_SIZE) != 0)
        cache->DropAll();
    InodeAttr attr = TRY(m_inode->Stat());
    if (cache)
        cache->Resize(static_cast<uint64_t>(attr.size));
    return {};
}

Result<void> HostRegularFile::Sync(bool data_only) {
    // Writes are write-through; what shared mappings changed is still only in the frames.
    if (auto cache = m_inode->ExistingPageCache())
        TRY(cache->Writeback(0, UINT64_MAX));
    return m_inode->host_fs().io().Fsync(m_fd->get(), data_only);
}

}  // namespace moat::fs
