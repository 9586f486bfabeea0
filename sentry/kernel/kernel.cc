#include "sentry/kernel/kernel.h"
#include "sentry/kernel/oom_killer.h"

#include "fs/fd_table.h"
#include "fs/fs_context.h"
#include "fs/vfs.h"
#include "net/network.h"
#include "net/inet/inet_space.h"
#include "net/unix/unix_space.h"
#include "platform/base/log.h"
#include "sentry/kernel/process_tree.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/kernel/timekeeper.h"
#include "sentry/kernel/timer_queue.h"
#include "sentry/loader/vdso.h"
#include "sentry/mm/memory_file.h"
#include "sentry/mm/memory_manager.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>

namespace moat::kernel {

// The release Moat reports: a Linux-like version (so glibc and tools that parse it are happy)
// that says what it is.
inline constexpr const char* kRelease = "6.1.0-moat";
inline constexpr const char* kVersion = "#1 SMP PREEMPT_DYNAMIC Moat";

Result<std::unique_ptr<Kernel>> Kernel::Create(std::unique_ptr<platform::Platform> platform,
                                               std::unique_ptr<mm::MemoryFile> memory_file,
                                               std::unique_ptr<fs::Vfs> vfs, KernelOptions options) {
    std::unique_ptr<Kernel> k(new Kernel());
    k->m_platform = std::move(platform);
    k->m_memory_file = std::move(memory_file);
    k->m_vfs = std::move(vfs);
    k->m_options = std::move(options);
    k->m_hostname = k->m_options.hostname;
    if (!k->m_options.network)
        k->m_options.network =
            std::make_shared<net::Network>(net::NetworkMode::kNone, net::NetworkConfig::LoopbackOnly());
    k->m_timekeeper = TRY(Timekeeper::Create(*k->m_memory_file));
    k->m_vdso = TRY(loader::Vdso::Create(*k->m_memory_file, *k->m_timekeeper));
    k->m_timer_queue = std::make_unique<TimerQueue>();
    Kernel* raw = k.get();
    k->m_unix_space = std::make_shared<net::UnixSpace>([raw] { return raw->NextAnonInode(); });
    k->m_inet_space = std::make_shared<net::InetSpace>([raw] { return raw->NextAnonInode(); });
    k->m_oom_killer = std::make_unique<OomKiller>(*k);
    k->m_processes = std::make_unique<ProcessTree>(*k);
    return k;
}

Kernel::~Kernel() = default;

struct utsname Kernel::utsname() const {
    struct utsname u{};
    auto put = [](char* dst, const std::string& s) { strncpy(dst, s.c_str(), sizeof(u.sysname) - 1); };
    put(u.sysname, "Linux");
    {
        std::lock_guard lock(m_lock);
        put(u.nodename, m_hostname);
        put(u.domainname, m_domainname);
    }
    put(u.release, kRelease);
    put(u.version, kVersion);
    put(u.machine, "x86_64");
    return u;
}

void Kernel::set_hostname(const std::string& name) {
    std::lock_guard lock(m_lock);
    m_hostname = name;
}

void Kernel::set_domainname(const std::string& name) {
    std::lock_guard lock(m_lock);
    m_domainname = name;
}

pid_t Kernel::AllocatePid() {
    std::lock_guard lock(m_lock);
    return m_next_pid++;
}

void Kernel::RegisterThreadGroup(const std::shared_ptr<ThreadGroup>& tg) {
    std::lock_guard lock(m_lock);
    // Drop entries of reaped groups as pids are handed out, so the map stays small.
    std::erase_if(m_thread_groups, [](const auto& e) { return e.second.expired(); });
    m_thread_groups[tg->pid()] = tg;
}

std::shared_ptr<ThreadGroup> Kernel::FindThreadGroup(pid_t pid) {
    std::lock_guard lock(m_lock);
    auto it = m_thread_groups.find(pid);
    return it == m_thread_groups.end() ? nullptr : it->second.lock();
}

void Kernel::ForEachThreadGroup(const std::function<void(ThreadGroup&)>& fn) {
    std::vector<std::shared_ptr<ThreadGroup>> groups;
    {
        std::lock_guard lock(m_lock);
        for (const auto& [pid, weak] : m_thread_groups)
            if (auto tg = weak.lock())
                groups.push_back(std::move(tg));
    }
    for (const auto& tg : groups)
        fn(*tg);
}

size_t Kernel::task_count() const {
    std::lock_guard lock(m_lock);
    size_t n = 0;
    for (const auto& [pid, weak] : m_thread_groups)
        if (auto tg = weak.lock())
            n += tg->tasks().size();
    return n;
}

void Kernel::CountUnimplemented(uint64_t nr) {
    std::lock_guard lock(m_lock);
    ++m_unimplemented[nr];
}

std::map<uint64_t, uint64_t> Kernel::unimplemented_counts() const {
    std::lock_guard lock(m_lock);
    return m_unimplemented;
}

// strace shows the exec that started the program first; the sentry performs that one itself.
void Kernel::TraceInitialExec(const InitProcess& init) {
    std::string line = "execve(\"" + init.path + "\", [";
    for (size_t i = 0; i < init.argv.size(); ++i)
        line += (i ? ", \"" : "\"") + init.argv[i] + "\"";
    line += "], /* " + std::to_string(init.envp.size()) + " vars */) = 0\n";
    [[maybe_unused]] ssize_t n = ::write(m_options.strace_fd, line.data(), line.size());
}

Result<std::shared_ptr<Task>> Kernel::CreateProcess(const InitProcess& proc, std::shared_ptr<fs::FdTable> fds,
                                                    std::shared_ptr<ThreadGroup>& tg) {
    pid_t pid = TRY(m_processes->AllocateTid());
    tg = std::make_shared<ThreadGroup>(*this, pid, 0);
    RegisterThreadGroup(tg);
    auto task = std::make_shared<Task>(*this, tg, pid);
    task->set_fd_table(std::move(fds));
    task->set_fs_context(TRY(fs::FsContext::Create(*m_vfs, proc.cwd)));
    if (proc.credentials)
        task->creds() = *proc.credentials;
    if (proc.umask)
        task->fs_context().SwapUmask(*proc.umask);
    for (const auto& r : proc.rlimits)
        if (r.resource >= 0 && r.resource < RLIM_NLIMITS)
            tg->set_rlimit(r.resource, {r.soft, r.hard});
    TRY(task->Exec(proc.path, proc.argv, proc.envp));
    task->regs_replaced = false;
    return task;
}

Result<std::shared_ptr<ThreadGroup>> Kernel::Spawn(const InitProcess& proc, std::shared_ptr<fs::FdTable> fds) {
    std::shared_ptr<ThreadGroup> tg;
    auto task = TRY(CreateProcess(proc, std::move(fds), tg));
    m_processes->Start(std::move(task), nullptr, /*new_group=*/true);
    return tg;
}

int Kernel::WaitSpawned(const std::shared_ptr<ThreadGroup>& tg) { return m_processes->WaitGroupExit(tg); }

Result<int> Kernel::Run(const InitProcess& init, std::shared_ptr<fs::FdTable> fds,
                        const std::function<void()>& started) {
    std::shared_ptr<ThreadGroup> tg;
    auto task = TRY(CreateProcess(init, std::move(fds), tg));
    if (m_options.strace)
        TraceInitialExec(init);

    // PID 1 and everything it starts run on their own host threads; PID 1's death kills the
    // rest (process_tree.cc), and the sandbox ends when the last thread is gone.
    m_processes->Start(std::move(task), nullptr, /*new_group=*/true);
    if (started)
        started();
    m_processes->WaitAllGone();
    int status = tg->wait_status();
    if (m_options.strace) {
        std::string line = WIFSIGNALED(status)
                               ? std::string("+++ killed by SIG") + sigabbrev_np(WTERMSIG(status)) + " +++\n"
                               : "+++ exited with " + std::to_string(WEXITSTATUS(status)) + " +++\n";
        [[maybe_unused]] ssize_t n = ::write(m_options.strace_fd, line.data(), line.size());
    }
    return status;
}

}  // namespace moat::kernel
