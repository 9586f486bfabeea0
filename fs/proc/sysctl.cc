// /proc/sys: the sysctls programs commonly read, with Linux's default values and modes.
// kernel/hostname and kernel/domainname are writable by root (they set the sandbox's names, like
// sethostname(2) and setdomainname(2));
// the other writable-mode (0644) sysctls cannot be changed in the sandbox: a write fails with
// EPERM. Read-only ones (0444) refuse an open for writing with EACCES even for root, as
// Linux's proc_sys_permission does.

#include "fs/proc/system_files.h"

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"

#include <fmt/format.h>

#include <sys/utsname.h>

#include <random>

namespace moat::fs::proc {

using namespace synthetic;

namespace {

using KernelText = std::function<std::string(kernel::Kernel&)>;

ChildSpec Sysctl(std::string name, uint32_t perm, KernelText text, std::shared_ptr<FileSystem> fs,
                 struct timespec time, Writer writer = nullptr) {
    FileOps ops;
    ops.generate = [text = std::move(text)](const FsCaller& caller) -> Result<std::string> {
        if (!caller.task)
            return Error(ENOENT);
        return text(caller.task->kernel()) + "\n";
    };
    ops.strict_mode = true;
    if (writer)
        ops.write = std::move(writer);
    else if (perm & 0200)
        ops.write = [](const FsCaller&, std::string_view) -> Result<void> { return Error(EPERM); };
    return FileChild(std::move(name), perm, std::move(ops), std::move(fs), time);
}

ChildSpec Value(std::string name, uint32_t perm, std::string value, std::shared_ptr<FileSystem> fs,
                struct timespec time) {
    return Sysctl(std::move(name), perm, [value = std::move(value)](kernel::Kernel&) { return value; }, std::move(fs),
                  time);
}

std::string RandomUuid() {
    std::random_device rd;
    uint32_t w[4] = {rd(), rd(), rd(), rd()};
    w[1] = (w[1] & 0xffff0fffu) | 0x00004000u;  // version 4
    w[2] = (w[2] & 0x3fffffffu) | 0x80000000u;  // variant 10
    return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:04x}{:08x}", w[0], w[1] >> 16, w[1] & 0xffff, w[2] >> 16,
                       w[2] & 0xffff, w[3]);
}

std::vector<ChildSpec> KernelSysctls(std::shared_ptr<FileSystem> fs, struct timespec time, const std::string& boot_id) {
    auto set_hostname = [](const FsCaller& caller, std::string_view data) -> Result<void> {
        if (!caller.task)
            return Error(EPERM);
        std::string name(data.substr(0, data.find('\n')));
        if (name.size() > 64)
            return Error(EINVAL);
        caller.task->kernel().set_hostname(name);
        return {};
    };
    std::vector<ChildSpec> c;
    c.push_back(Value("cap_last_cap", 0444, "40", fs, time));
    auto set_domainname = [](const FsCaller& caller, std::string_view data) -> Result<void> {
        if (!caller.task)
            return Error(EPERM);
        std::string name(data.substr(0, data.find('\n')));
        if (name.size() > 64)
            return Error(EINVAL);
        caller.task->kernel().set_domainname(name);
        return {};
    };
    c.push_back(Sysctl("domainname", 0644, [](kernel::Kernel& k) { return std::string(k.utsname().domainname); },
                       fs, time, set_domainname));
    c.push_back(Sysctl("hostname", 0644, [](kernel::Kernel& k) { return std::string(k.utsname().nodename); }, fs,
                       time, set_hostname));
    c.push_back(Value("ngroups_max", 0444, "65536", fs, time));
    c.push_back(Sysctl("osrelease", 0444, [](kernel::Kernel& k) { return std::string(k.utsname().release); }, fs,
                       time));
    c.push_back(Value("ostype", 0444, "Linux", fs, time));
    c.push_back(Value("overflowgid", 0644, "65534", fs, time));
    c.push_back(Value("overflowuid", 0644, "65534", fs, time));
    c.push_back(Value("pid_max", 0644, "4194304", fs, time));
    c.push_back(DirChild("random", 0555, [fs, time, boot_id] {
        std::vector<ChildSpec> r;
        r.push_back(Value("boot_id", 0444, boot_id, fs, time));
        r.push_back(Value("entropy_avail", 0444, "256", fs, time));
        r.push_back(Value("poolsize", 0444, "256", fs, time));
        r.push_back(Sysctl("uuid", 0444, [](kernel::Kernel&) { return RandomUuid(); }, fs, time));
        return r;
    }, fs, time));
    c.push_back(Value("randomize_va_space", 0644, "2", fs, time));
    c.push_back(Value("shmall", 0644, "18446744073692774399", fs, time));
    c.push_back(Value("shmmax", 0644, "18446744073692774399", fs, time));
    c.push_back(Value("shmmni", 0644, "4096", fs, time));
    c.push_back(Value("tainted", 0644, "0", fs, time));
    c.push_back(Value("threads-max", 0644, "4096", fs, time));
    c.push_back(Sysctl("version", 0444, [](kernel::Kernel& k) { return std::string(k.utsname().version); }, fs, time));
    return c;
}

}  // namespace

std::string NewBootId() { return RandomUuid(); }

ChildSpec SysctlDir(std::shared_ptr<FileSystem> fs, struct timespec time, std::string boot_id) {
    return DirChild("sys", 0555, [fs, time, boot_id] {
        std::vector<ChildSpec> sys;
        sys.push_back(DirChild("fs", 0555, [fs, time] {
            std::vector<ChildSpec> c;
            c.push_back(Value("file-max", 0644, "9223372036854775807", fs, time));
            c.push_back(DirChild("inotify", 0555, [fs, time] {
                return std::vector<ChildSpec>{Value("max_queued_events", 0644, "16384", fs, time),
                                              Value("max_user_instances", 0644, "128", fs, time),
                                              Value("max_user_watches", 0644, "65536", fs, time)};
            }, fs, time));
            c.push_back(Value("nr_open", 0644, "1048576", fs, time));
            c.push_back(Value("pipe-max-size", 0644, "1048576", fs, time));
            return c;
        }, fs, time));
        sys.push_back(DirChild("kernel", 0555, [fs, time, boot_id] { return KernelSysctls(fs, time, boot_id); }, fs, time));
        sys.push_back(DirChild("net", 0555, [fs, time] {
            return std::vector<ChildSpec>{DirChild("core", 0555, [fs, time] {
                return std::vector<ChildSpec>{Value("somaxconn", 0644, "4096", fs, time)};
            }, fs, time)};
        }, fs, time));
        sys.push_back(DirChild("vm", 0555, [fs, time] {
            return std::vector<ChildSpec>{Value("max_map_count", 0644, "65530", fs, time),
                                          Value("mmap_min_addr", 0644, "65536", fs, time),
                                          Value("overcommit_memory", 0644, "0", fs, time),
                                          Value("overcommit_ratio", 0644, "50", fs, time),
                                          Value("swappiness", 0644, "60", fs, time)};
        }, fs, time));
        return sys;
    }, fs, time);
}

}  // namespace moat::fs::proc
