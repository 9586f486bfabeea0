#include "fs/proc/filesystem.h"

#include "fs/proc/pid_dir.h"
#include "fs/proc/process.h"
#include "fs/proc/synthetic.h"
#include "fs/proc/system_files.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"

#include <dirent.h>

#include <algorithm>
#include <charconv>
#include <string>

namespace moat::fs {

using namespace synthetic;

namespace {

class ProcRoot final : public TableDir {
public:
    ProcRoot(std::shared_ptr<FileSystem> fs, struct timespec time, std::vector<ChildSpec> children)
        : TableDir(std::move(fs), Identity{"/", S_IFDIR | 0555, 0, 0}, time, std::move(children)) {}

protected:
    Result<std::vector<DirEntry>> DynamicEntries(const FsCaller& caller) override {
        std::vector<pid_t> pids;
        if (caller.task)
            caller.task->kernel().ForEachThreadGroup([&](kernel::ThreadGroup& tg) { pids.push_back(tg.pid()); });
        std::sort(pids.begin(), pids.end());
        // A reaped group may linger in the kernel's table while its last thread winds down.
        std::erase_if(pids, [&](pid_t pid) { return !proc::ProcessExists(caller, pid); });
        std::vector<DirEntry> out;
        for (pid_t pid : pids)
            out.push_back({std::to_string(pid), ChildIno(std::to_string(pid)), DT_DIR});
        return out;
    }
    Result<std::shared_ptr<Inode>> LookupDynamic(const FsCaller& caller, const std::string& name) override {
        pid_t pid = 0;
        auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
        if (ec != std::errc() || end != name.data() + name.size() || pid <= 0 || name[0] == '0')
            return Error(ENOENT);
        return proc::MakePidDir(caller, fs(), time(), Child(name, 0).key, pid, 0);
    }
};

Result<std::string> SelfTarget(const FsCaller& caller) {
    if (!caller.task)
        return Error(ENOENT);
    return std::to_string(caller.task->pid());
}

Result<std::string> ThreadSelfTarget(const FsCaller& caller) {
    if (!caller.task)
        return Error(ENOENT);
    return std::to_string(caller.task->pid()) + "/task/" + std::to_string(caller.task->tid());
}

}  // namespace

std::shared_ptr<ProcFileSystem> ProcFileSystem::Create() {
    auto fs = std::shared_ptr<ProcFileSystem>(new ProcFileSystem());
    clock_gettime(CLOCK_REALTIME, &fs->m_created);
    fs->m_boot_id = proc::NewBootId();
    return fs;
}

std::shared_ptr<Inode> ProcFileSystem::MakeRootInode() {
    auto fs = shared_from_this();
    std::vector<ChildSpec> c = proc::SystemFiles(fs, m_created);
    c.push_back(LinkChild("mounts", [](const FsCaller&) { return Result<std::string>("self/mounts"); }, fs, m_created));
    c.push_back(LinkChild("self", SelfTarget, fs, m_created));
    c.push_back(LinkChild("net", [](const FsCaller&) -> Result<std::string> { return std::string("self/net"); }, fs,
                          m_created));
    c.push_back(proc::SysctlDir(fs, m_created, m_boot_id));
    c.push_back(LinkChild("thread-self", ThreadSelfTarget, fs, m_created));
    std::sort(c.begin(), c.end(), [](const ChildSpec& a, const ChildSpec& b) { return a.name < b.name; });
    return std::make_shared<ProcRoot>(fs, m_created, std::move(c));
}

}  // namespace moat::fs
