#include "fs/proc/filesystem.h"

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"

#include <dirent.h>

#include <charconv>
#include <string>

namespace moat::fs {

namespace {

// Inode numbers: 1 root, 2 self, then per pid: (pid << 4) | kind.
enum : uint64_t { kRootIno = 1, kSelfIno = 2, kPidDirKind = 1, kExeKind = 2 };

class ProcInode : public Inode {
public:
    ProcInode(std::shared_ptr<ProcFileSystem> fs, uint32_t mode, uint64_t ino)
        : Inode(fs, mode), m_mode(mode), m_ino(ino), m_time(fs->created()) {}
    Result<InodeAttr> Stat() override { return CachedAttr(); }
    InodeAttr CachedAttr() override {
        InodeAttr a;
        a.dev = filesystem().anon_dev();
        a.ino = m_ino;
        a.mode = m_mode;
        a.nlink = S_ISDIR(m_mode) ? 2 : 1;
        a.blksize = 1024;
        a.atime = a.mtime = a.ctime = m_time;
        return a;
    }

protected:
    std::shared_ptr<ProcFileSystem> proc_fs() {
        return std::static_pointer_cast<ProcFileSystem>(filesystem().shared_from_this());
    }

private:
    const uint32_t m_mode;
    const uint64_t m_ino;
    const struct timespec m_time;
};

// Whether `pid` names a live process, as seen by `caller`.
bool ProcessExists(const FsCaller& caller, pid_t pid) {
    if (!caller.task)
        return false;
    if (caller.task->pid() == pid)
        return true;
    return caller.task->kernel().FindThreadGroup(pid) != nullptr;
}

Result<std::string> ExePathOf(const FsCaller& caller, pid_t pid) {
    if (!caller.task)
        return Error(ENOENT);
    if (caller.task->pid() == pid)
        return caller.task->mm().layout().exe_path;
    auto tg = caller.task->kernel().FindThreadGroup(pid);
    if (!tg)
        return Error(ENOENT);
    // FIXME(#fs-procfs): tasks() hands out raw pointers; a task exiting meanwhile is a race.
    auto tasks = tg->tasks();
    if (tasks.empty())
        return Error(ENOENT);
    return tasks.front()->mm().layout().exe_path;
}

class ExeLink final : public ProcInode {
public:
    ExeLink(std::shared_ptr<ProcFileSystem> fs, pid_t pid)
        : ProcInode(std::move(fs), S_IFLNK | 0777, (static_cast<uint64_t>(pid) << 4) | kExeKind), m_pid(pid) {}
    Result<std::string> ReadLink(const FsCaller& caller) override {
        std::string exe = TRY(ExePathOf(caller, m_pid));
        if (exe.empty())
            return Error(ENOENT);
        return exe;
    }

private:
    const pid_t m_pid;
};

class PidDir final : public ProcInode {
public:
    PidDir(std::shared_ptr<ProcFileSystem> fs, pid_t pid)
        : ProcInode(std::move(fs), S_IFDIR | 0555, (static_cast<uint64_t>(pid) << 4) | kPidDirKind), m_pid(pid) {}
    Result<std::shared_ptr<Inode>> Lookup(const FsCaller& caller, const std::string& name) override {
        if (!ProcessExists(caller, m_pid))
            return Error(ENOENT);
        if (name == "exe")
            return std::shared_ptr<Inode>(std::make_shared<ExeLink>(proc_fs(), m_pid));
        return Error(ENOENT);
    }
    Result<std::vector<DirEntry>> ReadDir(const FsCaller& caller) override {
        if (!ProcessExists(caller, m_pid))
            return Error(ENOENT);
        return std::vector<DirEntry>{{"exe", (static_cast<uint64_t>(m_pid) << 4) | kExeKind, DT_LNK}};
    }

private:
    const pid_t m_pid;
};

class SelfLink final : public ProcInode {
public:
    explicit SelfLink(std::shared_ptr<ProcFileSystem> fs) : ProcInode(std::move(fs), S_IFLNK | 0777, kSelfIno) {}
    Result<std::string> ReadLink(const FsCaller& caller) override {
        if (!caller.task)
            return Error(ENOENT);
        return std::to_string(caller.task->pid());
    }
};

class ProcRoot final : public ProcInode {
public:
    explicit ProcRoot(std::shared_ptr<ProcFileSystem> fs) : ProcInode(std::move(fs), S_IFDIR | 0555, kRootIno) {}
    Result<std::shared_ptr<Inode>> Lookup(const FsCaller& caller, const std::string& name) override {
        if (name == "self")
            return std::shared_ptr<Inode>(std::make_shared<SelfLink>(proc_fs()));
        pid_t pid = 0;
        auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
        if (ec != std::errc() || end != name.data() + name.size() || pid <= 0 || name[0] == '0' ||
            !ProcessExists(caller, pid))
            return Error(ENOENT);
        return std::shared_ptr<Inode>(std::make_shared<PidDir>(proc_fs(), pid));
    }
    Result<std::vector<DirEntry>> ReadDir(const FsCaller& caller) override {
        std::vector<DirEntry> out;
        out.push_back({"self", kSelfIno, DT_LNK});
        // FIXME(#fs-procfs): list every process, not just the caller.
        if (caller.task) {
            pid_t pid = caller.task->pid();
            out.push_back({std::to_string(pid), (static_cast<uint64_t>(pid) << 4) | kPidDirKind, DT_DIR});
        }
        return out;
    }
};

}  // namespace

std::shared_ptr<ProcFileSystem> ProcFileSystem::Create() {
    auto fs = std::shared_ptr<ProcFileSystem>(new ProcFileSystem());
    clock_gettime(CLOCK_REALTIME, &fs->m_created);
    return fs;
}

std::shared_ptr<Inode> ProcFileSystem::MakeRootInode() {
    return std::make_shared<ProcRoot>(std::static_pointer_cast<ProcFileSystem>(shared_from_this()));
}

}  // namespace moat::fs
