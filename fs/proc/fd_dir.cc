// /proc/[pid]/fd (magic links to the open files) and /proc/[pid]/fdinfo.
//
// Following fd/N jumps to the file itself: a file in the mount tree is its VfsPath, so an
// open reopens that path with the new flags (and Linux's permission checks). A file outside
// the tree (a pipe, an eventfd, a socket) is presented as an AnonFileInode in the proc mount
// whose Open asks the file to Reopen itself (a pipe gives a new end of the same pipe; the
// rest ENXIO, as Linux's anon inodes and sockets).

#include "fs/fd_table.h"
#include "fs/fs_context.h"
#include "fs/proc/pid_dir.h"
#include "sentry/kernel/task.h"

#include <dirent.h>
#include <fmt/format.h>

#include <charconv>

namespace moat::fs::proc {

using namespace synthetic;

namespace {

Result<int> ParseFd(const std::string& name) {
    int fd = -1;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), fd);
    if (ec != std::errc() || end != name.data() + name.size() || fd < 0 || (name.size() > 1 && name[0] == '0'))
        return Error(ENOENT);
    return fd;
}

std::shared_ptr<FdTable> FdsOf(const ProcessRef& p) { return p.task ? p.task->fd_table_ptr() : nullptr; }

Result<std::pair<std::shared_ptr<File>, bool>> FileAt(const FsCaller& caller, pid_t pid, pid_t tid, int fd) {
    auto p = TRY(FindProcess(caller, pid, tid));
    auto fds = FdsOf(p);
    if (!fds)
        return Error(ENOENT);
    auto r = fds->GetWithFlags(fd);
    if (!r.ok())
        return Error(ENOENT);
    return r.release_value();
}

// A file outside the mount tree as the target of its fd link.
class AnonFileInode final : public Inode {
public:
    AnonFileInode(std::shared_ptr<FileSystem> fs, std::shared_ptr<File> file, uint32_t mode, Owner owner)
        : Inode(std::move(fs), mode), m_file(std::move(file)), m_mode(mode), m_owner(owner) {}
    Result<InodeAttr> Stat() override { return CachedAttr(); }
    InodeAttr CachedAttr() override {
        InodeAttr a;
        if (auto st = m_file->Stat(); st.ok())
            a = *st;
        a.mode = m_mode;
        // The files outside the tree do not record their creator; the fd's process stands in
        // (Linux's pipefs and anon inodes belong to the creator's fsuid).
        if (a.uid == 0 && a.gid == 0) {
            a.uid = m_owner.uid;
            a.gid = m_owner.gid;
        }
        return a;
    }
    Result<std::shared_ptr<File>> Open(const FsCaller& caller, const VfsPath&, int flags) override {
        return m_file->Reopen(caller, flags);
    }

private:
    const std::shared_ptr<File> m_file;
    const uint32_t m_mode;
    const Owner m_owner;
};

class FdLinkInode final : public SyntheticInode {
public:
    FdLinkInode(std::shared_ptr<FileSystem> fs, Identity id, struct timespec time, pid_t pid, pid_t tid, int fd)
        : SyntheticInode(std::move(fs), std::move(id), time), m_pid(pid), m_tid(tid), m_fd(fd) {}

    Result<std::string> ReadLink(const FsCaller& caller) override {
        auto file = TRY(Target(caller));
        if (const VfsPath* path = file->path()) {
            std::string out = PathFrom(*path, caller.task->fs_context().root());
            // d_path: a name that no longer leads here (unlinked, a memfd) says so.
            if (path->dentry->dead())
                out += " (deleted)";
            return out;
        }
        return file->anon_name();
    }
    bool is_magic_link() const override { return true; }
    Result<VfsPath> MagicLinkTarget(const FsCaller& caller, const VfsPath& link) override {
        auto file = TRY(Target(caller));
        if (const VfsPath* path = file->path())
            return *path;
        uint32_t mode = S_IFREG | 0600;
        if (auto st = file->Stat(); st.ok() && (st->mode & S_IFMT) != 0)
            mode = st->mode;
        auto p = TRY(FindProcess(caller, m_pid, m_tid));
        auto inode = std::make_shared<AnonFileInode>(fs(), file, mode, OwnerOf(p));
        return VfsPath{link.mount, Dentry::CreateChild(link.dentry->parent(), link.dentry->name(), std::move(inode))};
    }

private:
    Result<std::shared_ptr<File>> Target(const FsCaller& caller) {
        auto p = TRY(FindProcess(caller, m_pid, m_tid));
        TRY(MayAccess(caller, p));
        auto [file, cloexec] = TRY(FileAt(caller, m_pid, m_tid, m_fd));
        return file;
    }

    const pid_t m_pid, m_tid;
    const int m_fd;
};

// fd/ or fdinfo/: one entry per open fd.
class FdListDir final : public TableDir {
public:
    FdListDir(std::shared_ptr<FileSystem> fs, Identity id, struct timespec time, pid_t pid, pid_t tid, bool info)
        : TableDir(std::move(fs), std::move(id), time, {}), m_pid(pid), m_tid(tid), m_info(info) {}

protected:
    bool Alive(const FsCaller& caller) override { return ProcessExists(caller, m_pid, m_tid); }
    Result<std::vector<DirEntry>> DynamicEntries(const FsCaller& caller) override {
        auto p = TRY(FindProcess(caller, m_pid, m_tid));
        TRY(MayAccess(caller, p));
        std::vector<DirEntry> out;
        if (auto fds = FdsOf(p))
            for (int fd : fds->fds())
                out.push_back({std::to_string(fd), ChildIno(std::to_string(fd)), m_info ? DT_REG : DT_LNK});
        return out;
    }
    Result<std::shared_ptr<Inode>> LookupDynamic(const FsCaller& caller, const std::string& name) override {
        int fd = TRY(ParseFd(name));
        auto p = TRY(FindProcess(caller, m_pid, m_tid));
        TRY(MayAccess(caller, p));
        auto [file, cloexec] = TRY(FileAt(caller, m_pid, m_tid, fd));
        if (m_info)
            return InfoFile(name, fd);
        // Linux's proc_fd_instantiate: r-x for a readable file, -wx for a writable one.
        uint32_t mode = S_IFLNK;
        if (file->readable())
            mode |= S_IRUSR | S_IXUSR;
        if (file->writable())
            mode |= S_IWUSR | S_IXUSR;
        return std::shared_ptr<Inode>(
            std::make_shared<FdLinkInode>(fs(), Child(name, mode), time(), m_pid, m_tid, fd));
    }

private:
    Result<std::shared_ptr<Inode>> InfoFile(const std::string& name, int fd) {
        FileOps ops;
        ops.generate = [pid = m_pid, tid = m_tid, fd](const FsCaller& caller) -> Result<std::string> {
            auto [file, cloexec] = TRY(FileAt(caller, pid, tid, fd));
            int flags = file->status_flags() | (cloexec ? O_CLOEXEC : 0);
            int mnt_id = file->path() ? file->path()->mount->id() : 0;
            uint64_t ino = 0;
            if (auto st = file->Stat(); st.ok())
                ino = st->ino;
            return fmt::format("pos:\t{}\nflags:\t0{:o}\nmnt_id:\t{}\nino:\t{}\n", file->offset_for_proc(), flags,
                               mnt_id, ino);
        };
        return std::shared_ptr<Inode>(
            std::make_shared<GeneratedFileInode>(fs(), Child(name, S_IFREG | 0444), time(), std::move(ops)));
    }

    const pid_t m_pid, m_tid;
    const bool m_info;
};

ChildSpec ListDirChild(const char* name, std::shared_ptr<FileSystem> fs, struct timespec time, pid_t pid, pid_t tid,
                       bool info) {
    return ChildSpec{name, S_IFDIR | 0500, [fs, time, pid, tid, info](const FsCaller&, Identity id) {
                         return Result<std::shared_ptr<Inode>>(
                             std::make_shared<FdListDir>(fs, std::move(id), time, pid, tid, info));
                     }};
}

}  // namespace

ChildSpec FdDirChild(std::shared_ptr<FileSystem> fs, struct timespec time, pid_t pid, pid_t tid) {
    return ListDirChild("fd", std::move(fs), time, pid, tid, false);
}

ChildSpec FdInfoDirChild(std::shared_ptr<FileSystem> fs, struct timespec time, pid_t pid, pid_t tid) {
    return ListDirChild("fdinfo", std::move(fs), time, pid, tid, true);
}

}  // namespace moat::fs::proc
