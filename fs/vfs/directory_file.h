#pragma once
// DirectoryFile: an open directory of any filesystem. getdents reads a snapshot of the
// directory's entries (".", "..", then Inode::ReadDir) taken when the position is 0, so a
// listing in progress is stable; the position is the index of the next entry and each
// entry's d_off is the index after it. lseek takes SEEK_SET/SEEK_CUR (tmpfs's rules).

#include "fs/file.h"

#include <vector>

namespace moat::fs {

class DirectoryFile final : public File {
public:
    DirectoryFile(int status_flags, VfsPath path) : File(status_flags, std::move(path)) {}

    Result<size_t> PRead(IoDst&, uint64_t) override { return Error(EISDIR); }
    Result<size_t> Write(IoSrc&) override { return Error(EISDIR); }
    Result<size_t> PWrite(IoSrc&, uint64_t) override { return Error(EISDIR); }
    Result<int64_t> Seek(int64_t offset, int whence) override;
    Result<void> GetDents(const FsCaller& caller, DirentSink& sink) override;
    bool seekable() const override { return true; }

private:
    std::vector<DirEntry> m_snapshot;  // guarded by m_pos_lock
    bool m_have_snapshot = false;      // guarded by m_pos_lock
};

}  // namespace moat::fs
