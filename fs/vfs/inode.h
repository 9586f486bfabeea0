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

#include <atomic>
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

// What a new inode starts with. The VFS computes it (umask applied, owner from the caller's
// fsuid/fsgid or a set-group-ID directory's group) before asking the filesystem.
struct NewInode {
    uint32_t mode = 0;  // S_IFMT type bits | permission bits
    uint32_t uid = 0;
    uint32_t gid = 0;
    uint64_t rdev = 0;  // character and block devices
};

// chmod/chown/truncate/utimensat: the fields to change. The VFS has validated the values and
// checked permission; the filesystem applies them and sets ctime to now (Linux's notify_change).
struct SetAttrRequest {
    enum Field : unsigned {
        kMode = 1,   // permission bits (and S_ISUID/S_ISGID/S_ISVTX); never the type
        kUid = 2,
        kGid = 4,
        kSize = 8,   // regular files: truncate or extend with zeros
        kAtime = 16,
        kMtime = 32,
    };
    unsigned mask = 0;
    uint32_t mode = 0;
    uint32_t uid = 0;
    uint32_t gid = 0;
    int64_t size = 0;
    struct timespec atime {};
    struct timespec mtime {};
};

// rename(2) flags as renameat2 takes them.
inline constexpr unsigned kRenameNoReplace = 1;  // RENAME_NOREPLACE
inline constexpr unsigned kRenameExchange = 2;   // RENAME_EXCHANGE
inline constexpr unsigned kRenameWhiteout = 4;   // RENAME_WHITEOUT

// setxattr(2) flags.
inline constexpr int kXattrCreate = 1;   // XATTR_CREATE
inline constexpr int kXattrReplace = 2;  // XATTR_REPLACE

// The current wall-clock time, for the timestamps filesystems keep.
struct timespec FsNow();

class Inode : public std::enable_shared_from_this<Inode> {
public:
    Inode(std::shared_ptr<FileSystem> fs, uint32_t type) : m_fs(std::move(fs)), m_type(type & S_IFMT) {}
    virtual ~Inode();
    Inode(const Inode&) = delete;
    Inode& operator=(const Inode&) = delete;

    FileSystem& filesystem() const { return *m_fs; }
    uint32_t type() const { return m_type; }
    // Linux's deny_write_access: while a process runs this file, opening it for writing
    // gives ETXTBSY (Vfs::OpenAt). Counted: one per address space executing it.
    void DenyWrite() { m_write_denied.fetch_add(1, std::memory_order_relaxed); }
    void AllowWrite() { m_write_denied.fetch_sub(1, std::memory_order_relaxed); }
    bool write_denied() const { return m_write_denied.load(std::memory_order_relaxed) > 0; }
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
    // Magic links (/proc/[pid]/fd/N, cwd, root, exe): following one jumps straight to a
    // location (Linux's nd_jump_link) instead of walking the text ReadLink returns. `link` is
    // where the link itself was found.
    virtual bool is_magic_link() const { return false; }
    virtual Result<VfsPath> MagicLinkTarget(const FsCaller&, const VfsPath& link);
    // Opens a file description for a non-O_PATH open of a non-directory, non-symlink
    // (directories get the VFS's DirectoryFile). `path` names the inode.
    virtual Result<std::shared_ptr<File>> Open(const FsCaller&, const VfsPath& path, int flags);

    // ---- Directory operations (this inode is the directory). The VFS has already checked, in
    // Linux's order: the mount is writable (EROFS), the caller may write and search this
    // directory (EACCES), the sticky bit, `name` is a valid component (not "." or "..", not
    // too long), and for creations that `name` does not exist (EEXIST) — so a filesystem
    // re-checks existence only to close races. Type checks between the source and target of a
    // rename (EISDIR/ENOTDIR), renaming a directory under itself (EINVAL) and cross-filesystem
    // links/renames (EXDEV) are the VFS's too; emptiness (ENOTEMPTY) is the filesystem's.
    // Defaults: EPERM (Linux's answer when a filesystem lacks the operation).

    // A regular file, FIFO, socket, or character/block device (mode's type says which).
    virtual Result<std::shared_ptr<Inode>> Create(const FsCaller&, const std::string& name, const NewInode& attr);
    virtual Result<std::shared_ptr<Inode>> Mkdir(const FsCaller&, const std::string& name, const NewInode& attr);
    virtual Result<std::shared_ptr<Inode>> Symlink(const FsCaller&, const std::string& name, const std::string& target,
                                                   const NewInode& attr);
    // A new name for `target` (same filesystem, not a directory).
    virtual Result<void> Link(const FsCaller&, const std::string& name, Inode& target);
    // Removes a non-directory name.
    virtual Result<void> Unlink(const FsCaller&, const std::string& name);
    // Removes an empty directory (ENOTEMPTY).
    virtual Result<void> Rmdir(const FsCaller&, const std::string& name);
    // Moves `old_name` here to `new_name` in `new_dir` (same filesystem), replacing what is
    // there (an empty directory only, ENOTEMPTY) unless kRenameNoReplace; kRenameExchange
    // swaps the two (both exist).
    virtual Result<void> Rename(const FsCaller&, const std::string& old_name, Inode& new_dir,
                                const std::string& new_name, unsigned flags);
    // O_TMPFILE: a regular file with no name (nlink 0) in this directory's filesystem. Default
    // EOPNOTSUPP.
    virtual Result<std::shared_ptr<Inode>> CreateTmpFile(const FsCaller&, const NewInode& attr);

    // ---- Any inode ----
    // chmod/chown/truncate/utimensat (see SetAttrRequest). Default EPERM.
    virtual Result<void> SetAttr(const FsCaller&, const SetAttrRequest& req);
    // Extended attributes by full name ("user.x", "trusted.y"…); the VFS checks namespaces and
    // permission. Defaults: EOPNOTSUPP.
    virtual Result<std::string> GetXattr(const FsCaller&, const std::string& name);
    virtual Result<void> SetXattr(const FsCaller&, const std::string& name, const std::string& value, int flags);
    virtual Result<std::vector<std::string>> ListXattr(const FsCaller&);
    virtual Result<void> RemoveXattr(const FsCaller&, const std::string& name);

    // ---- Advisory locks (fs/lock/): created on first use, so a file nobody locks pays one
    // atomic load on close. ----
    FileLocks* file_locks_if_any() const { return m_file_locks.load(std::memory_order_acquire); }
    FileLocks& file_locks();
    // ---- inotify watchers (fs/inotify/): likewise created by the first watch. ----
    InodeWatchers* watchers_if_any() const { return m_watchers.load(std::memory_order_acquire); }
    InodeWatchers& watchers();

private:
    const std::shared_ptr<FileSystem> m_fs;  // an inode keeps its filesystem alive
    std::atomic<int> m_write_denied{0};      // running executables (DenyWrite)
    const uint32_t m_type;
    std::atomic<FileLocks*> m_file_locks{nullptr};   // owned; deleted by ~Inode
    std::atomic<InodeWatchers*> m_watchers{nullptr};  // owned; deleted by ~Inode
};

}  // namespace moat::fs
