#pragma once
// TmpfsDirectory: a tmpfs directory — its entries by name, each holding its inode (a named
// inode lives as long as its name). nlink = 2 + subdirectories; st_size counts 20 bytes per
// entry plus 40, as Linux's shmem does; mtime/ctime change with every entry change.
//
// Every operation that changes entries holds the filesystem's namespace lock, then this
// directory's m_lock (two directories in a rename), then the children's locks.

#include "fs/tmpfs/inode.h"

#include <map>
#include <memory>
#include <string>

namespace moat::fs {

class TmpfsDirectory final : public TmpfsInode {
public:
    TmpfsDirectory(std::shared_ptr<TmpfsFileSystem> fs, const NewInode& attr, uint64_t ino);

    Result<std::shared_ptr<Inode>> Lookup(const FsCaller&, const std::string& name) override;
    Result<std::vector<DirEntry>> ReadDir(const FsCaller&) override;

    Result<std::shared_ptr<Inode>> Create(const FsCaller&, const std::string& name, const NewInode& attr) override;
    Result<std::shared_ptr<Inode>> Mkdir(const FsCaller&, const std::string& name, const NewInode& attr) override;
    Result<std::shared_ptr<Inode>> Symlink(const FsCaller&, const std::string& name, const std::string& target,
                                           const NewInode& attr) override;
    Result<void> Link(const FsCaller&, const std::string& name, Inode& target) override;
    Result<void> Unlink(const FsCaller&, const std::string& name) override;
    Result<void> Rmdir(const FsCaller&, const std::string& name) override;
    Result<void> Rename(const FsCaller&, const std::string& old_name, Inode& new_dir, const std::string& new_name,
                        unsigned flags) override;
    Result<std::shared_ptr<Inode>> CreateTmpFile(const FsCaller&, const NewInode& attr) override;

    bool empty();

private:
    // Adds a new inode under `name` (EEXIST if taken, ENOENT if this directory was removed).
    Result<std::shared_ptr<Inode>> AddNew(const std::string& name, const NewInode& attr, const std::string& target);
    // Entry bookkeeping; m_lock held.
    void InsertLocked(const std::string& name, std::shared_ptr<TmpfsInode> inode);
    std::shared_ptr<TmpfsInode> EraseLocked(const std::string& name);
    std::shared_ptr<TmpfsInode> FindLocked(const std::string& name) const;
    Result<void> RenameLocked(const std::string& old_name, TmpfsDirectory& to, const std::string& new_name,
                              unsigned flags, std::shared_ptr<TmpfsInode> whiteout);
    Result<void> ExchangeLocked(const std::string& old_name, TmpfsDirectory& to, const std::string& new_name);

    std::map<std::string, std::shared_ptr<TmpfsInode>, std::less<>> m_entries;  // guarded by m_lock
};

}  // namespace moat::fs
