#pragma once
// A tmpfs regular file: TmpfsRegularInode (attributes + its TmpfsPages) and
// TmpfsRegularFile, its open file description (read/write/seek/fallocate/mmap).

#include "fs/file.h"
#include "fs/memfd/seals.h"
#include "fs/tmpfs/inode.h"
#include "fs/tmpfs/pages.h"

#include <memory>

namespace moat::fs {

class TmpfsRegularInode final : public TmpfsInode {
public:
    TmpfsRegularInode(std::shared_ptr<TmpfsFileSystem> fs, const NewInode& attr, uint64_t ino);

    Result<std::shared_ptr<File>> Open(const FsCaller&, const VfsPath& path, int flags) override;

    const std::shared_ptr<TmpfsPages>& pages() const { return m_pages; }
    // memfd seals (every tmpfs file has them; fs/memfd/seals.h).
    Seals& seals() { return m_seals; }

    // Data access for the file and for the overlay's copy-up; both update the times as
    // Linux does (a write sets mtime and ctime).
    Result<size_t> ReadAt(IoDst& dst, uint64_t offset) { return m_pages->Read(dst, offset); }
    Result<size_t> WriteAt(IoSrc& src, uint64_t offset, bool append, uint64_t* end);
    // fallocate(2) modes 0, KEEP_SIZE, PUNCH_HOLE|KEEP_SIZE; EOPNOTSUPP otherwise (tmpfs has
    // no ZERO_RANGE, COLLAPSE_RANGE or INSERT_RANGE).
    Result<void> Fallocate(int mode, int64_t offset, int64_t len);

protected:
    void FillDataAttr(InodeAttr& attr) override;
    Result<void> Resize(int64_t size) override;

private:
    const std::shared_ptr<TmpfsPages> m_pages;
    Seals m_seals;
};

class TmpfsRegularFile final : public File {
public:
    TmpfsRegularFile(int flags, VfsPath path, std::shared_ptr<TmpfsRegularInode> inode)
        : File(flags, std::move(path)), m_inode(std::move(inode)) {}

    // A Mappable over the file's own pages, named by the path this file was opened with.
    std::shared_ptr<mm::Mappable> mappable() override;
    const std::shared_ptr<TmpfsRegularInode>& tmpfs_inode() const { return m_inode; }
    Result<size_t> PRead(IoDst& dst, uint64_t offset) override;
    Result<size_t> Write(IoSrc& src) override;
    // Like Linux, a pwrite on an O_APPEND file appends.
    Result<size_t> PWrite(IoSrc& src, uint64_t offset) override;
    Result<int64_t> Seek(int64_t offset, int whence) override;
    Result<int64_t> BytesReadable() override;
    Result<void> Fallocate(int mode, int64_t offset, int64_t len) override;
    bool seekable() const override { return true; }

private:
    bool append() const { return (status_flags() & O_APPEND) != 0; }

    const std::shared_ptr<TmpfsRegularInode> m_inode;
};

}  // namespace moat::fs
