// /proc/[pid]/{cmdline,environ,auxv,limits,mounts,mountinfo}.

#include "fs/proc/pid_text.h"

#include "fs/fs_context.h"
#include "fs/vfs.h"
#include "fs/vfs/filesystem.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"

#include <fmt/format.h>

#include <sys/resource.h>
#include <sys/sysmacros.h>

#include <algorithm>

namespace moat::fs::proc {

namespace {

// Reading another process's arguments is bounded like everything the app controls.
constexpr uint64_t kMaxArea = 2u << 20;

std::string ReadArea(const ProcessRef& p, uint64_t start, uint64_t end) {
    std::shared_ptr<mm::MemoryManager> mm = p.task ? p.task->mm_ptr() : nullptr;
    if (!mm || end <= start)
        return {};
    std::string out(std::min(end - start, kMaxArea), '\0');
    out.resize(mm->ReadForPlatform(start, out.data(), out.size()));
    return out;
}

struct LimitName {
    const char* name;
    const char* unit;
};
constexpr LimitName kLimits[RLIM_NLIMITS] = {
    {"Max cpu time", "seconds"},     {"Max file size", "bytes"},       {"Max data size", "bytes"},
    {"Max stack size", "bytes"},     {"Max core file size", "bytes"},  {"Max resident set", "bytes"},
    {"Max processes", "processes"},  {"Max open files", "files"},      {"Max locked memory", "bytes"},
    {"Max address space", "bytes"},  {"Max file locks", "locks"},      {"Max pending signals", "signals"},
    {"Max msgqueue size", "bytes"},  {"Max nice priority", nullptr},   {"Max realtime priority", nullptr},
    {"Max realtime timeout", "us"},
};

std::string LimitValue(rlim_t v) { return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v); }

struct MountView {
    std::shared_ptr<Mount> mount;
    std::string mountpoint;
};

// The mounts visible from the process's root, in mount order, with their paths from it.
Result<std::vector<MountView>> VisibleMounts(const FsCaller& caller, const ProcessRef& p) {
    if (!p.task)
        return std::vector<MountView>{};
    auto ctx = p.task->fs_context_ptr();
    if (!ctx)
        return std::vector<MountView>{};
    VfsPath root = ctx->root();
    std::vector<MountView> out;
    for (auto& m : caller.task->kernel().vfs().mount_table().mounts()) {
        VfsPath at = m->parent() ? VfsPath{m->parent(), m->mountpoint()} : VfsPath{m, m->root()};
        bool reachable = true;
        std::string path = PathFrom(at, root, &reachable);
        if (!reachable)
            continue;
        out.push_back({m, std::move(path)});
    }
    return out;
}

std::string MountOptions(const Mount& m) {
    std::string o = m.read_only() ? "ro" : "rw";
    if (m.flags() & kMountNoSuid)
        o += ",nosuid";
    if (m.flags() & kMountNoDev)
        o += ",nodev";
    if (m.flags() & kMountNoExec)
        o += ",noexec";
    return o + ",relatime";
}

// The mount source and type as /proc/mounts names them.
std::string FsType(const Mount& m) {
    std::string name = m.filesystem().name();
    return name == "sys" ? "sysfs" : name;
}

}  // namespace

Result<std::string> CmdlineText(const FsCaller&, const ProcessRef& p) {
    std::shared_ptr<mm::MemoryManager> mm = p.task ? p.task->mm_ptr() : nullptr;
    if (!mm)
        return std::string();
    const mm::MmLayout& l = mm->layout();
    return ReadArea(p, l.arg_start, l.arg_end);
}

Result<std::string> EnvironText(const FsCaller&, const ProcessRef& p) {
    std::shared_ptr<mm::MemoryManager> mm = p.task ? p.task->mm_ptr() : nullptr;
    if (!mm)
        return std::string();
    const mm::MmLayout& l = mm->layout();
    return ReadArea(p, l.env_start, l.env_end);
}

Result<std::string> AuxvText(const FsCaller&, const ProcessRef& p) {
    std::shared_ptr<mm::MemoryManager> mm = p.task ? p.task->mm_ptr() : nullptr;
    if (!mm)
        return std::string();
    const auto& auxv = mm->layout().auxv;
    return std::string(reinterpret_cast<const char*>(auxv.data()), auxv.size() * sizeof(uint64_t));
}

Result<std::string> LimitsText(const FsCaller&, const ProcessRef& p) {
    std::string out = fmt::format("{:<25} {:<20} {:<20} {:<10}\n", "Limit", "Soft Limit", "Hard Limit", "Units");
    for (int i = 0; i < RLIM_NLIMITS; ++i) {
        struct rlimit lim = p.group->rlimit(i);
        out += fmt::format("{:<25} {:<20} {:<20} ", kLimits[i].name, LimitValue(lim.rlim_cur), LimitValue(lim.rlim_max));
        if (kLimits[i].unit)
            out += fmt::format("{:<10}", kLimits[i].unit);
        out += '\n';
    }
    return out;
}

Result<std::string> MountsText(const FsCaller& caller, const ProcessRef& p) {
    std::string out;
    for (const auto& v : TRY(VisibleMounts(caller, p)))
        out += fmt::format("{} {} {} {} 0 0\n", FsType(*v.mount), v.mountpoint, FsType(*v.mount),
                           MountOptions(*v.mount));
    return out;
}

Result<std::string> MountInfoText(const FsCaller& caller, const ProcessRef& p) {
    std::string out;
    for (const auto& v : TRY(VisibleMounts(caller, p))) {
        const Mount& m = *v.mount;
        int parent = m.parent() ? m.parent()->id() : m.id();
        dev_t dev = m.filesystem().anon_dev();
        out += fmt::format("{} {} {}:{} / {} {} - {} {} {}\n", m.id(), parent, major(dev), minor(dev), v.mountpoint,
                           MountOptions(m), FsType(m), FsType(m), m.read_only() ? "ro" : "rw");
    }
    return out;
}

}  // namespace moat::fs::proc
