#pragma once
// HostRegularFile: an open regular file of the host filesystem. Reads go to the host with
// pread in bounded chunks; mmap gets the inode's page cache. Never writable (the host layer
// is read-only; writes arrive with the overlay).

#include "fs/file.h"
#include "fs/host/filesystem.h"

namespace moat::fs {

class HostRegularFile final : public File {
public:
    HostRegularFile(int flags, VfsPath path, std::shared_ptr<HostInode> inode, std::shared_ptr<UniqueFd> fd)
        : File(flags, std::move(path)), m_inode(std::move(inode)), m_fd(std::move(fd)) {}

    std::shared_ptr<mm::Mappable> mappable() override;
    Result<size_t> PRead(IoDst& dst, uint64_t offset) override;
    Result<size_t> Write(IoSrc&) override { return Error(EBADF); }
    Result<size_t> PWrite(IoSrc&, uint64_t) override { return Error(EBADF); }
    Result<int64_t> Seek(int64_t offset, int whence) override;
    Result<int64_t> BytesReadable() override;
    bool seekable() const override { return true; }

private:
    const std::shared_ptr<HostInode> m_inode;
    const std::shared_ptr<UniqueFd> m_fd;
};

}  // namespace moat::fs
