#include "fs/proc/synthetic.h"

#include "fs/task_fs.h"
#include "sentry/kernel/task.h"

#include <dirent.h>

#include <algorithm>
#include <cstring>

namespace moat::fs::synthetic {

uint64_t SyntheticIno(std::string_view key) {
    // FNV-1a, folded to 32 bits like Linux's proc inode numbers; 0 and 1 are avoided (1 is
    // the root's).
    uint64_t h = 1469598103934665603ull;
    for (char c : key) {
        h ^= static_cast<uint8_t>(c);
        h *= 1099511628211ull;
    }
    uint64_t ino = (h ^ (h >> 32)) & 0xffffffffu;
    return key == "/" ? 1 : (ino < 2 ? ino + 2 : ino);
}

SyntheticInode::SyntheticInode(std::shared_ptr<FileSystem> fs, Identity id, struct timespec time)
    : Inode(std::move(fs), id.mode), m_id(std::move(id)), m_time(time) {}

InodeAttr SyntheticInode::CachedAttr() {
    InodeAttr a;
    a.dev = filesystem().anon_dev();
    a.ino = SyntheticIno(m_id.key);
    a.mode = m_id.mode;
    a.nlink = nlink();
    a.uid = m_id.uid;
    a.gid = m_id.gid;
    a.blksize = 1024;
    a.atime = a.mtime = a.ctime = m_time;
    return a;
}

// ---- Generated files ----

GeneratedFileInode::GeneratedFileInode(std::shared_ptr<FileSystem> fs, Identity id, struct timespec time,
                                       FileOps ops)
    : SyntheticInode(std::move(fs), std::move(id), time), m_ops(std::move(ops)) {}

Result<std::shared_ptr<File>> GeneratedFileInode::Open(const FsCaller& caller, const VfsPath& path, int flags) {
    const bool writing = (flags & O_ACCMODE) != O_RDONLY;
    if (writing && m_ops.strict_mode && !m_ops.write)
        return Error(EACCES);
    if (m_ops.may_open)
        TRY(m_ops.may_open(caller));
    std::string text;
    if ((flags & O_ACCMODE) != O_WRONLY && m_ops.generate)
        text = TRY(m_ops.generate(caller));
    return std::shared_ptr<File>(std::make_shared<SnapshotFile>(flags, path, std::move(text), m_ops.write));
}

Result<void> GeneratedFileInode::SetAttr(const FsCaller& caller, const SetAttrRequest& req) {
    constexpr unsigned kIgnored = SetAttrRequest::kSize | SetAttrRequest::kAtime | SetAttrRequest::kMtime;
    if (m_ops.write && (req.mask & ~kIgnored) == 0)
        return {};
    return SyntheticInode::SetAttr(caller, req);
}

SnapshotFile::SnapshotFile(int status_flags, VfsPath path, std::string text, Writer writer)
    : File(status_flags, std::move(path)), m_text(std::move(text)), m_writer(std::move(writer)) {}

Result<size_t> SnapshotFile::PRead(IoDst& dst, uint64_t offset) {
    if (offset >= m_text.size())
        return size_t{0};
    size_t n = std::min(dst.remaining(), m_text.size() - offset);
    if (n == 0)
        return size_t{0};
    return dst.Put({reinterpret_cast<const uint8_t*>(m_text.data()) + offset, n});
}

Result<size_t> SnapshotFile::Write(IoSrc& src) { return PWrite(src, 0); }

Result<size_t> SnapshotFile::PWrite(IoSrc& src, uint64_t) {
    if (!m_writer)
        return Error(EINVAL);  // Linux's vfs_write on a file without a write operation
    // Linux's sysctl writes take at most a page; the value is the text up to the first newline.
    std::string data(std::min<size_t>(src.remaining(), 4096), '\0');
    size_t n = TRY(src.Take({reinterpret_cast<uint8_t*>(data.data()), data.size()}));
    data.resize(n);
    kernel::Task* task = kernel::Task::Current();
    if (!task)
        return Error(EIO);
    TRY(m_writer(CallerOf(*task), data));
    return n;
}

Result<int64_t> SnapshotFile::Seek(int64_t offset, int whence) {
    if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END)
        return Error(EINVAL);
    return SeekRegular(offset, whence, static_cast<int64_t>(m_text.size()));
}

// ---- Symlinks ----

GeneratedLinkInode::GeneratedLinkInode(std::shared_ptr<FileSystem> fs, Identity id, struct timespec time,
                                       LinkTarget target, MagicTarget magic)
    : SyntheticInode(std::move(fs), std::move(id), time), m_target(std::move(target)), m_magic(std::move(magic)) {}

// ---- Directories ----

ChildSpec FileChild(std::string name, uint32_t perm, FileOps ops, std::shared_ptr<FileSystem> fs,
                    struct timespec time) {
    return ChildSpec{std::move(name), S_IFREG | perm,
                     [ops = std::move(ops), fs = std::move(fs), time](const FsCaller&, Identity id) {
                         return Result<std::shared_ptr<Inode>>(
                             std::make_shared<GeneratedFileInode>(fs, std::move(id), time, ops));
                     }};
}

ChildSpec TextChild(std::string name, std::string text, std::shared_ptr<FileSystem> fs, struct timespec time) {
    FileOps ops;
    ops.generate = [text = std::move(text)](const FsCaller&) { return Result<std::string>(text); };
    return FileChild(std::move(name), 0444, std::move(ops), std::move(fs), time);
}

ChildSpec LinkChild(std::string name, LinkTarget target, std::shared_ptr<FileSystem> fs, struct timespec time,
                    MagicTarget magic) {
    return ChildSpec{std::move(name), S_IFLNK | 0777,
                     [target = std::move(target), magic = std::move(magic), fs = std::move(fs), time](
                         const FsCaller&, Identity id) {
                         return Result<std::shared_ptr<Inode>>(
                             std::make_shared<GeneratedLinkInode>(fs, std::move(id), time, target, magic));
                     }};
}

ChildSpec DirChild(std::string name, uint32_t perm, std::function<std::vector<ChildSpec>()> children,
                   std::shared_ptr<FileSystem> fs, struct timespec time) {
    return ChildSpec{std::move(name), S_IFDIR | perm,
                     [children = std::move(children), fs = std::move(fs), time](const FsCaller&, Identity id) {
                         return Result<std::shared_ptr<Inode>>(
                             std::make_shared<TableDir>(fs, std::move(id), time, children()));
                     }};
}

TableDir::TableDir(std::shared_ptr<FileSystem> fs, Identity id, struct timespec time, std::vector<ChildSpec> children)
    : SyntheticInode(std::move(fs), std::move(id), time), m_children(std::move(children)) {}

uint64_t TableDir::nlink() const {
    // "." and the parent's entry, plus each subdirectory's "..".
    return 2 + static_cast<uint64_t>(std::count_if(m_children.begin(), m_children.end(),
                                                   [](const ChildSpec& c) { return S_ISDIR(c.mode); }));
}

Result<std::shared_ptr<Inode>> TableDir::Lookup(const FsCaller& caller, const std::string& name) {
    if (!Alive(caller))
        return Error(ENOENT);
    for (const auto& c : m_children)
        if (c.name == name)
            return c.make(caller, Child(name, c.mode));
    return LookupDynamic(caller, name);
}

Result<std::vector<DirEntry>> TableDir::ReadDir(const FsCaller& caller) {
    if (!Alive(caller))
        return Error(ENOENT);
    std::vector<DirEntry> out;
    out.reserve(m_children.size());
    for (const auto& c : m_children)
        out.push_back({c.name, ChildIno(c.name), DirentTypeOf(c.mode)});
    auto more = TRY(DynamicEntries(caller));
    out.insert(out.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    return out;
}

}  // namespace moat::fs::synthetic
