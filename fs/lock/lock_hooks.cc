#include "fs/lock/lock_hooks.h"

#include "fs/file.h"
#include "fs/lock/file_locks.h"

namespace moat::fs {

void ReleaseDescriptionLocks(const File& file) {
    Inode* inode = file.inode();
    if (FileLocks* locks = inode ? inode->file_locks_if_any() : nullptr)
        locks->ReleaseDescription(&file);
}

void ReleaseProcessLocks(const File& file, const FdTable* fd_table) {
    Inode* inode = file.inode();
    if (FileLocks* locks = inode ? inode->file_locks_if_any() : nullptr)
        locks->ReleaseRecords(fd_table);
}

}  // namespace moat::fs
