#include "fs/proc/pid_dir.h"

#include "fs/fs_context.h"
#include "fs/proc/pid_text.h"
#include "fs/proc/system_files.h"
#include "fs/vfs.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"

#include <dirent.h>

#include <charconv>

namespace moat::fs::proc {

using namespace synthetic;

namespace {

using PidTextFn = std::function<Result<std::string>(const FsCaller&, const ProcessRef&)>;
using PidWriteFn = std::function<Result<void>(const FsCaller&, const ProcessRef&, std::string_view)>;

class PidDir final : public TableDir {
public:
    PidDir(std::shared_ptr<FileSystem> fs, Identity id, struct timespec time, std::vector<ChildSpec> children,
           pid_t pid, pid_t tid)
        : TableDir(std::move(fs), std::move(id), time, std::move(children)), m_pid(pid), m_tid(tid) {}

protected:
    bool Alive(const FsCaller& caller) override { return ProcessExists(caller, m_pid, m_tid); }

private:
    const pid_t m_pid, m_tid;
};

// /proc/[pid]/task: one directory per live thread.
class TaskDir final : public TableDir {
public:
    TaskDir(std::shared_ptr<FileSystem> fs, Identity id, struct timespec time, pid_t pid)
        : TableDir(std::move(fs), std::move(id), time, {}), m_pid(pid) {}

protected:
    bool Alive(const FsCaller& caller) override { return ProcessExists(caller, m_pid); }
    Result<std::vector<DirEntry>> DynamicEntries(const FsCaller& caller) override {
        auto p = TRY(FindProcess(caller, m_pid));
        std::vector<DirEntry> out;
        for (kernel::Task* t : p.group->tasks())
            out.push_back({std::to_string(t->tid()), ChildIno(std::to_string(t->tid())), DT_DIR});
        return out;
    }
    Result<std::shared_ptr<Inode>> LookupDynamic(const FsCaller& caller, const std::string& name) override {
        pid_t tid = 0;
        auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), tid);
        if (ec != std::errc() || end != name.data() + name.size() || tid <= 0 || name[0] == '0')
            return Error(ENOENT);
        return MakePidDir(caller, fs(), time(), Child(name, 0).key, m_pid, tid);
    }

private:
    const pid_t m_pid;
};

ChildSpec PidFile(std::string name, uint32_t perm, std::shared_ptr<FileSystem> fs, struct timespec time, pid_t pid,
                  pid_t tid, PidTextFn text, bool need_access = false, PidWriteFn write = nullptr) {
    FileOps ops;
    if (write) {
        ops.write = [pid, tid, write = std::move(write)](const FsCaller& caller, std::string_view data) -> Result<void> {
            auto p = TRY(FindProcess(caller, pid, tid));
            return write(caller, p, data);
        };
    }
    ops.generate = [pid, tid, text = std::move(text)](const FsCaller& caller) -> Result<std::string> {
        auto p = TRY(FindProcess(caller, pid, tid));
        return text(caller, p);
    };
    if (need_access) {
        ops.may_open = [pid, tid](const FsCaller& caller) -> Result<void> {
            auto p = TRY(FindProcess(caller, pid, tid));
            return MayAccess(caller, p);
        };
    }
    return FileChild(std::move(name), perm, std::move(ops), std::move(fs), time);
}

// A magic link to a location of the process (cwd, root, exe), shown as a path from the
// reader's root.
ChildSpec PidLink(std::string name, std::shared_ptr<FileSystem> fs, struct timespec time, pid_t pid, pid_t tid,
                  std::function<Result<VfsPath>(const ProcessRef&)> where,
                  std::function<Result<std::string>(const ProcessRef&)> shown = nullptr) {
    auto target = [pid, tid, where](const FsCaller& caller) -> Result<VfsPath> {
        auto p = TRY(FindProcess(caller, pid, tid));
        TRY(MayAccess(caller, p));
        if (!p.task)
            return Error(ENOENT);
        return where(p);
    };
    auto text = [target, pid, tid, shown](const FsCaller& caller) -> Result<std::string> {
        if (shown) {
            auto p = TRY(FindProcess(caller, pid, tid));
            TRY(MayAccess(caller, p));
            if (!p.task)
                return Error(ENOENT);
            return shown(p);
        }
        VfsPath at = TRY(target(caller));
        return PathFrom(at, caller.task->fs_context().root());
    };
    auto magic = [target](const FsCaller& caller, const VfsPath&) { return target(caller); };
    return LinkChild(std::move(name), std::move(text), std::move(fs), time, std::move(magic));
}

Result<VfsPath> ExeOf(const ProcessRef& p) {
    auto mm = p.task->mm_ptr();
    auto ctx = p.task->fs_context_ptr();
    if (!mm || !ctx || mm->layout().exe_path.empty())
        return Error(ENOENT);
    // The loader keeps the executable's path; resolve it as the sentry (no permission checks).
    VfsPath root = ctx->root();
    return ctx->vfs().Resolve(FsCaller{}, root, root, mm->layout().exe_path, kWalkFollow);
}

// /proc/[pid]/ns: the sandbox has one namespace of each kind, so every process shows the
// same links, named as Linux names its initial namespaces. Plain links (their text only):
// opening one is ENOENT, setns(2) has nothing to enter. Readers compare them (ps, psgo's
// PID-namespace check, lsns).
ChildSpec NsDirChild(std::shared_ptr<FileSystem> fs, struct timespec time) {
    return DirChild("ns", 0511, [fs, time] {
        static constexpr std::pair<const char*, uint64_t> kNamespaces[] = {
            {"cgroup", 4026531835}, {"ipc", 4026531839}, {"mnt", 4026531841}, {"net", 4026531840},
            {"pid", 4026531836},    {"time", 4026531834}, {"user", 4026531837}, {"uts", 4026531838},
        };
        std::vector<ChildSpec> links;
        for (const auto& [name, ino] : kNamespaces) {
            std::string target = std::string(name) + ":[" + std::to_string(ino) + "]";
            links.push_back(LinkChild(name, [target](const FsCaller&) { return Result<std::string>(target); }, fs, time));
        }
        return links;
    }, fs, time);
}

std::vector<ChildSpec> PidChildren(std::shared_ptr<FileSystem> fs, struct timespec time, pid_t pid, pid_t tid) {
    const bool thread = tid != 0;
    auto text = [](const char* s) { return [s](const FsCaller&, const ProcessRef&) { return Result<std::string>(s); }; };
    std::vector<ChildSpec> c;
    c.push_back(PidFile("auxv", 0400, fs, time, pid, tid, AuxvText, true));
    c.push_back(PidFile("cgroup", 0444, fs, time, pid, tid, text("0::/\n")));
    c.push_back(PidFile("cmdline", 0444, fs, time, pid, tid, CmdlineText));
    c.push_back(PidFile("comm", 0644, fs, time, pid, tid, [](const FsCaller&, const ProcessRef& p) {
        return Result<std::string>(CommOf(p) + "\n");
    }));
    c.push_back(PidLink("cwd", fs, time, pid, tid, [](const ProcessRef& p) -> Result<VfsPath> {
        auto ctx = p.task->fs_context_ptr();
        if (!ctx)
            return Error(ENOENT);
        return ctx->cwd();
    }));
    c.push_back(PidFile("environ", 0400, fs, time, pid, tid, EnvironText, true));
    c.push_back(PidLink("exe", fs, time, pid, tid, ExeOf, [](const ProcessRef& p) -> Result<std::string> {
        // The path the loader recorded (Linux shows the executable's path the same way).
        auto mm = p.task->mm_ptr();
        if (!mm || mm->layout().exe_path.empty())
            return Error(ENOENT);
        return mm->layout().exe_path;
    }));
    c.push_back(FdDirChild(fs, time, pid, tid));
    c.push_back(FdInfoDirChild(fs, time, pid, tid));
    c.push_back(PidFile("limits", 0444, fs, time, pid, tid, LimitsText));
    c.push_back(PidFile("maps", 0444, fs, time, pid, tid, MapsText, true));
    c.push_back(PidFile("mountinfo", 0444, fs, time, pid, tid, MountInfoText));
    c.push_back(PidFile("mounts", 0444, fs, time, pid, tid, MountsText));
    c.push_back(NetDirChild(fs, time));
    c.push_back(NsDirChild(fs, time));
    c.push_back(PidFile("oom_score", 0444, fs, time, pid, tid, OomScoreText));
    c.push_back(PidFile("oom_score_adj", 0644, fs, time, pid, tid, OomScoreAdjText, false, WriteOomScoreAdj));
    c.push_back(PidLink("root", fs, time, pid, tid, [](const ProcessRef& p) -> Result<VfsPath> {
        auto ctx = p.task->fs_context_ptr();
        if (!ctx)
            return Error(ENOENT);
        return ctx->root();
    }));
    c.push_back(PidFile("smaps", 0444, fs, time, pid, tid, SmapsText, true));
    c.push_back(PidFile("stat", 0444, fs, time, pid, tid, [thread](const FsCaller& caller, const ProcessRef& p) {
        return StatText(caller, p, thread);
    }));
    c.push_back(PidFile("statm", 0444, fs, time, pid, tid, StatmText));
    c.push_back(PidFile("status", 0444, fs, time, pid, tid, [thread](const FsCaller& caller, const ProcessRef& p) {
        return StatusText(caller, p, thread);
    }));
    if (!thread) {
        c.push_back(ChildSpec{"task", S_IFDIR | 0555, [fs, time, pid](const FsCaller&, Identity id) {
                                  return Result<std::shared_ptr<Inode>>(
                                      std::make_shared<TaskDir>(fs, std::move(id), time, pid));
                              }});
    }
    c.push_back(PidFile("wchan", 0444, fs, time, pid, tid, text("0")));
    return c;
}

}  // namespace

Result<std::shared_ptr<Inode>> MakePidDir(const FsCaller& caller, std::shared_ptr<FileSystem> fs,
                                          struct timespec time, std::string key, pid_t pid, pid_t tid) {
    auto p = TRY(FindProcess(caller, pid, tid));
    if (tid == 0)
        pid = p.group->pid();  // /proc/<tid of a non-leader> shows its process
    Owner owner = OwnerOf(p);
    Identity id{std::move(key), S_IFDIR | 0555, owner.uid, owner.gid};
    auto children = PidChildren(fs, time, pid, tid);
    return std::shared_ptr<Inode>(std::make_shared<PidDir>(std::move(fs), std::move(id), time, std::move(children),
                                                           pid, tid));
}

}  // namespace moat::fs::proc
