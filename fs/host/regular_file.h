#pragma once
// HostRegularFile: an open regular file of the host filesystem. Reads go to the host with
// pread in bounded chunks (through the page cache, when one exists on a writable mount, so
// that a read sees what a shared mapping wrote); writes go to the host with pwrite
// (write-through) and then into the cached frames they cover; mmap gets the inode's page
// cache.

#include "fs/file.h"
#include "fs/host/filesystem.h"

namespace moat::fs {

class HostRegularFile final : public File {
public:
    HostRegularFile(int flags, VfsPath path, std::shared_ptr<HostInode> inode, std::shared_ptr<UniqueFd> fd)
        : File(flags, std::move(path)), m_inode(std::move(inode)), m_fd(std::move(fd)) {}

    std::shared_ptr<mm::Mappable> mappable() override;
    Result<size_t> PRead(IoDst& dst, uint64_t offset) override;
    Result<size_t> Write(IoSrc& src) override;
    Result<size_t> PWrite(IoSrc& src, uint64_t offset) override;
    Result<int64_t> Seek(int64_t offset, int whence) override;
    Result<int64_t> BytesReadable() override;
    Result<void> Fallocate(int mode, int64_t offset, int64_t len) override;
    Result<void> Sync(bool data_only) override;
    bool seekable() const override { return true; }

private:
    // Writes `src` at `offset` (or at end of file with O_APPEND); returns the bytes written
    // and where the write started. m_inode->write_lock() held.
    Result<size_t> WriteLocked(IoSrc& src, uint64_t& offset);

    const std::shared_ptr<HostInode> m_inode;
    const std::shared_ptr<UniqueFd> m_fd;  // O_RDWR when opened for writing
};

}  // namespace moat::fs
