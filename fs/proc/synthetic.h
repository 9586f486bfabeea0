#pragma once
// Building blocks of synthetic filesystems (procfs, sysfs): inodes whose content the sentry
// generates. Files are generated when opened (a snapshot, like Linux's seq_file, so reads at
// any offset see one consistent text); directories list a fixed table of children or compute
// their entries on every readdir; symlinks compute their target on every readlink and may be
// *magic* (/proc/[pid]/fd/N: following jumps to the open file itself).
//
// Inode numbers are a hash of the inode's path inside its filesystem (SyntheticIno), so
// getdents' d_ino and stat's st_ino agree without any table of live inodes.

#include "fs/file.h"
#include "fs/vfs/filesystem.h"
#include "fs/vfs/inode.h"

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace moat::fs::synthetic {

// A stable inode number for `key` (the inode's path inside its filesystem); never 0 or 1.
uint64_t SyntheticIno(std::string_view key);

// What every synthetic inode shares: fixed mode, owner and times.
struct Identity {
    std::string key;  // path inside the filesystem, e.g. "/1/status"; hashed into st_ino
    uint32_t mode = 0;
    uint32_t uid = 0, gid = 0;
};

class SyntheticInode : public Inode {
public:
    SyntheticInode(std::shared_ptr<FileSystem> fs, Identity id, struct timespec time);
    Result<InodeAttr> Stat() override { return CachedAttr(); }
    InodeAttr CachedAttr() override;
    const std::string& key() const { return m_id.key; }
    std::shared_ptr<FileSystem> fs() { return filesystem().shared_from_this(); }
    struct timespec time() const { return m_time; }
    // An identity for the child `name` of this directory.
    Identity Child(const std::string& name, uint32_t mode) const {
        return Identity{m_id.key == "/" ? "/" + name : m_id.key + "/" + name, mode, m_id.uid, m_id.gid};
    }

protected:
    virtual uint64_t nlink() const { return 1; }

private:
    const Identity m_id;
    const struct timespec m_time;
};

// ---- Regular files generated at open ----

using Generator = std::function<Result<std::string>(const FsCaller&)>;
using Writer = std::function<Result<void>(const FsCaller&, std::string_view data)>;
using OpenCheck = std::function<Result<void>(const FsCaller&)>;

struct FileOps {
    Generator generate;
    // Null: the file cannot be written; an open for writing that the mode allows (root)
    // succeeds and write(2) fails with EINVAL (Linux's seq files without a write operation).
    Writer write;
    // Extra checks at open after the mode's (Linux's ptrace_may_access for environ, mem…).
    OpenCheck may_open;
    // /proc/sys: opening for writing without a writer is EACCES even for root
    // (proc_sys_permission checks the mode bits for everyone).
    bool strict_mode = false;
};

class GeneratedFileInode final : public SyntheticInode {
public:
    GeneratedFileInode(std::shared_ptr<FileSystem> fs, Identity id, struct timespec time, FileOps ops);
    Result<std::shared_ptr<File>> Open(const FsCaller& caller, const VfsPath& path, int flags) override;
    // O_TRUNC on a writable file (`echo 5 > /proc/self/oom_score_adj`): the size and times
    // are ignored, as Linux's proc_setattr does; anything else EPERM.
    Result<void> SetAttr(const FsCaller& caller, const SetAttrRequest& req) override;

private:
    const FileOps m_ops;
};

// An open generated file: reads and seeks over the text generated at open.
class SnapshotFile final : public File {
public:
    SnapshotFile(int status_flags, VfsPath path, std::string text, Writer writer);
    Result<size_t> PRead(IoDst& dst, uint64_t offset) override;
    Result<size_t> Write(IoSrc& src) override;
    Result<size_t> PWrite(IoSrc& src, uint64_t offset) override;
    Result<int64_t> Seek(int64_t offset, int whence) override;
    bool seekable() const override { return true; }

private:
    const std::string m_text;
    const Writer m_writer;  // called with the writing task as the caller
};

// ---- Symlinks ----

using LinkTarget = std::function<Result<std::string>(const FsCaller&)>;
// Magic links: the location following the link jumps to (`link` is where the link itself is).
using MagicTarget = std::function<Result<VfsPath>(const FsCaller&, const VfsPath& link)>;

class GeneratedLinkInode final : public SyntheticInode {
public:
    GeneratedLinkInode(std::shared_ptr<FileSystem> fs, Identity id, struct timespec time, LinkTarget target,
                       MagicTarget magic = nullptr);
    Result<std::string> ReadLink(const FsCaller& caller) override { return m_target(caller); }
    bool is_magic_link() const override { return m_magic != nullptr; }
    Result<VfsPath> MagicLinkTarget(const FsCaller& caller, const VfsPath& link) override {
        return m_magic(caller, link);
    }

private:
    const LinkTarget m_target;
    const MagicTarget m_magic;
};

// ---- Directories ----

// A directory whose children are a fixed table of (name, type, how to make the inode).
struct ChildSpec {
    std::string name;
    uint32_t mode;  // S_IFMT | permission bits of the child
    // Makes the child inode given its identity (key, mode, owner filled in).
    std::function<Result<std::shared_ptr<Inode>>(const FsCaller&, Identity)> make;
};

// Helpers for the common children.
ChildSpec FileChild(std::string name, uint32_t perm, FileOps ops, std::shared_ptr<FileSystem> fs,
                    struct timespec time);
ChildSpec TextChild(std::string name, std::string text, std::shared_ptr<FileSystem> fs, struct timespec time);
ChildSpec LinkChild(std::string name, LinkTarget target, std::shared_ptr<FileSystem> fs, struct timespec time,
                    MagicTarget magic = nullptr);

class TableDir : public SyntheticInode {
public:
    TableDir(std::shared_ptr<FileSystem> fs, Identity id, struct timespec time, std::vector<ChildSpec> children);
    Result<std::shared_ptr<Inode>> Lookup(const FsCaller& caller, const std::string& name) override;
    Result<std::vector<DirEntry>> ReadDir(const FsCaller& caller) override;

protected:
    uint64_t nlink() const override;
    // Whether the directory still exists (a process directory after the process is gone).
    virtual bool Alive(const FsCaller&) { return true; }
    // Entries beyond the table (pids in /proc): listed after the table.
    virtual Result<std::vector<DirEntry>> DynamicEntries(const FsCaller&) { return std::vector<DirEntry>{}; }
    virtual Result<std::shared_ptr<Inode>> LookupDynamic(const FsCaller&, const std::string&) { return Error(ENOENT); }
    uint64_t ChildIno(const std::string& name) const { return SyntheticIno(Child(name, 0).key); }

private:
    const std::vector<ChildSpec> m_children;
};

ChildSpec DirChild(std::string name, uint32_t perm, std::function<std::vector<ChildSpec>()> children,
                   std::shared_ptr<FileSystem> fs, struct timespec time);

}  // namespace moat::fs::synthetic
