#pragma once
// Inode: a file's identity and attributes, and the operations its filesystem offers on it.
// One Inode per file while anything references it (dentries, open files, mappings); a
// filesystem may keep a table of live inodes (host: keyed by (st_dev, st_ino)).
//
// The file type (S_IFMT bits) never changes for the life of an Inode.

#include "fs/forward.h"
#include "fs/vfs/caller.h"
#include "platform/base/result.h"

#include <sys/stat.h>
#include <time.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace moat::fs {

struct InodeAttr {
    uint64_t dev = 0;
    uint64_t ino = 0;
    uint32_t mode = 0;  // st_mode: S_IFMT type bits and permission bits
    uint64_t nlink = 1;
    uint32_t uid = 0;
    uint32_t gid = 0;
    uint64_t rdev = 0;
    int64_t size = 0;
    int64_t blocks = 0;  // 512-byte units
    int64_t blksize = 4096;
    struct timespec atime {};
    struct timespec mtime {};
    struct timespec ctime {};
    bool has_btime = false;
    struct timespec btime {};
};

// One directory entry as getdents reports it.
struct DirEntry {
    std::string name;
    uint64_t ino = 0;
    uint8_t type = 0;  // DT_*
};

uint8_t DirentTypeOf(uint32_t mode);

class Inode : public std::enable_shared_from_this<Inode> {
public:
    Inode(std::shared_ptr<FileSystem> fs, uint32_t type) : m_fs(std::move(fs)), m_type(type & S_IFMT) {}
    virtual ~Inode() = default;
    Inode(const Inode&) = delete;
    Inode& operator=(const Inode&) = delete;

    FileSystem& filesystem() const { return *m_fs; }
    uint32_t type() const { return m_type; }
    bool is_dir() const { return m_type == S_IFDIR; }
    bool is_symlink() const { return m_type == S_IFLNK; }
    bool is_regular() const { return m_type == S_IFREG; }

    // Fresh attributes (a host inode asks the host).
    virtual Result<InodeAttr> Stat() = 0;
    // The attributes permission checks use: may be cached (no host call).
    virtual InodeAttr CachedAttr() = 0;

    // Directories: the child called `name` (one component, never "." or ".."); ENOENT.
    virtual Result<std::shared_ptr<Inode>> Lookup(const FsCaller&, const std::string& name);
    // Directories: every entry except "." and "..".
    virtual Result<std::vector<DirEntry>> ReadDir(const FsCaller&);
    // Symlinks: the target; EINVAL for anything else.
    virtual Result<std::string> ReadLink(const FsCaller&);
    // Opens a file description for a non-O_PATH open of a non-directory, non-symlink
    // (directories get the VFS's DirectoryFile). `path` names the inode.
    virtual Result<std::shared_ptr<File>> Open(const FsCaller&, const VfsPath& path, int flags);

private:
    const std::shared_ptr<FileSystem> m_fs;  // an inode keeps its filesystem alive
    const uint32_t m_type;
};

}  // namespace moat::fs
