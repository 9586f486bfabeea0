#include "fs/sys/filesystem.h"

#include "fs/proc/synthetic.h"
#include "sentry/kernel/sched.h"

#include <string>
#include <vector>

namespace moat::fs {

using namespace synthetic;

namespace {

std::string CpuRange(int ncpus) { return ncpus <= 1 ? "0\n" : "0-" + std::to_string(ncpus - 1) + "\n"; }

ChildSpec EmptyDir(std::string name, std::shared_ptr<FileSystem> fs, struct timespec time) {
    return DirChild(std::move(name), 0755, [] { return std::vector<ChildSpec>{}; }, std::move(fs), time);
}

std::vector<ChildSpec> CpuDir(std::shared_ptr<FileSystem> fs, struct timespec time) {
    int ncpus = kernel::SandboxCpuCount();
    std::vector<ChildSpec> c;
    for (int cpu = 0; cpu < ncpus; ++cpu) {
        c.push_back(DirChild("cpu" + std::to_string(cpu), 0755, [fs, time, cpu] {
            std::vector<ChildSpec> d;
            if (cpu != 0)  // Linux has no online file for the boot CPU
                d.push_back(TextChild("online", "1\n", fs, time));
            d.push_back(DirChild("topology", 0755, [fs, time, cpu] {
                return std::vector<ChildSpec>{TextChild("core_id", std::to_string(cpu) + "\n", fs, time),
                                              TextChild("physical_package_id", "0\n", fs, time)};
            }, fs, time));
            return d;
        }, fs, time));
    }
    c.push_back(TextChild("kernel_max", "8191\n", fs, time));
    c.push_back(TextChild("offline", "\n", fs, time));
    c.push_back(TextChild("online", CpuRange(ncpus), fs, time));
    c.push_back(TextChild("possible", CpuRange(ncpus), fs, time));
    c.push_back(TextChild("present", CpuRange(ncpus), fs, time));
    return c;
}

std::vector<ChildSpec> RootChildren(std::shared_ptr<FileSystem> fs, struct timespec time) {
    auto dir = [fs, time](std::string name, std::function<std::vector<ChildSpec>()> children) {
        return DirChild(std::move(name), 0755, std::move(children), fs, time);
    };
    std::vector<ChildSpec> c;
    c.push_back(EmptyDir("block", fs, time));
    c.push_back(EmptyDir("bus", fs, time));
    c.push_back(EmptyDir("class", fs, time));
    c.push_back(dir("devices", [=] {
        return std::vector<ChildSpec>{dir("system", [=] {
            return std::vector<ChildSpec>{dir("cpu", [=] { return CpuDir(fs, time); })};
        })};
    }));
    c.push_back(dir("fs", [=] { return std::vector<ChildSpec>{EmptyDir("cgroup", fs, time)}; }));
    c.push_back(dir("kernel", [=] {
        return std::vector<ChildSpec>{dir("mm", [=] {
            return std::vector<ChildSpec>{dir("transparent_hugepage", [=] {
                return std::vector<ChildSpec>{
                    TextChild("defrag", "always defer defer+madvise [madvise] never\n", fs, time),
                    TextChild("enabled", "always [madvise] never\n", fs, time),
                    TextChild("hpage_pmd_size", "2097152\n", fs, time),
                    TextChild("shmem_enabled", "always within_size advise [never] deny force\n", fs, time)};
            })};
        })};
    }));
    return c;
}

}  // namespace

std::shared_ptr<SysFileSystem> SysFileSystem::Create() {
    auto fs = std::shared_ptr<SysFileSystem>(new SysFileSystem());
    clock_gettime(CLOCK_REALTIME, &fs->m_created);
    return fs;
}

std::shared_ptr<Inode> SysFileSystem::MakeRootInode() {
    auto fs = shared_from_this();
    return std::make_shared<TableDir>(fs, Identity{"/", S_IFDIR | 0555, 0, 0}, m_created, RootChildren(fs, m_created));
}

}  // namespace moat::fs
