#include "fs/vfs/inode.h"

#include <dirent.h>

namespace moat::fs {

uint8_t DirentTypeOf(uint32_t mode) {
    switch (mode & S_IFMT) {
    case S_IFREG: return DT_REG;
    case S_IFDIR: return DT_DIR;
    case S_IFLNK: return DT_LNK;
    case S_IFCHR: return DT_CHR;
    case S_IFBLK: return DT_BLK;
    case S_IFIFO: return DT_FIFO;
    case S_IFSOCK: return DT_SOCK;
    default: return DT_UNKNOWN;
    }
}

Result<std::shared_ptr<Inode>> Inode::Lookup(const FsCaller&, const std::string&) { return Error(ENOTDIR); }

Result<std::vector<DirEntry>> Inode::ReadDir(const FsCaller&) { return Error(ENOTDIR); }

Result<std::string> Inode::ReadLink(const FsCaller&) { return Error(EINVAL); }

Result<std::shared_ptr<File>> Inode::Open(const FsCaller&, const VfsPath&, int) { return Error(ENXIO); }

}  // namespace moat::fs
