#include "fs/host/regular_file.h"

namespace moat::fs {

std::shared_ptr<mm::Mappable> HostRegularFile::mappable() {
    auto pc = m_inode->PageCache(*path());
    if (!pc.ok())
        return nullptr;
    return *pc;
}

Result<size_t> HostRegularFile::PRead(IoDst& dst, uint64_t offset) {
    if (offset > static_cast<uint64_t>(INT64_MAX))
        return Error(EINVAL);
    HostIo& io = m_inode->host_fs().io();
    int fd = m_fd->get();
    return ChunkedRead(dst, offset, [&](std::span<uint8_t> buf, uint64_t off) {
        return io.Pread(fd, buf.data(), buf.size(), off);
    });
}

Result<int64_t> HostRegularFile::Seek(int64_t offset, int whence) {
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

}  // namespace moat::fs
