#pragma once
// Kernel: the one object that owns all sandbox-wide state — the platform, the memory file,
// the VFS, the PID namespace, the clock page, the syscall statistics. There is no other
// global mutable state in the sentry.
//
// Lock order: Kernel::m_lock → ThreadGroup::m_lock → MemoryManager → MemoryFile.

#include "platform/platform.h"
#include "platform/base/result.h"
#include "sentry/kernel/credentials.h"
#include "sentry/kernel/forward.h"
#include "sentry/kernel/futex.h"

#include <sys/types.h>
#include <sys/utsname.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace moat::kernel {

class Timekeeper;
class TimerQueue;
class ProcessTree;
class OomKiller;
}  // namespace moat::kernel
namespace moat::loader {
class Vdso;
}
namespace moat::net {
class InetSpace;
class UnixSpace;
class Network;
}
namespace moat::kernel {

struct KernelOptions {
    bool strace = false;
    int strace_fd = 2;
    std::string hostname = "moat";
    // The sandbox's network (--network); null: loopback only.
    std::shared_ptr<net::Network> network;
};

// A resource limit a process starts with (OCI process.rlimits); resource < RLIM_NLIMITS.
struct ResourceLimit {
    int resource = 0;
    uint64_t soft = 0, hard = 0;
};

// What the front end asks the kernel to run as PID 1 or, with Spawn, as another process
// entering the sandbox from outside (`moat exec`).
struct InitProcess {
    std::string path;                 // resolved path of the executable (inside the sandbox)
    std::vector<std::string> argv;
    std::vector<std::string> envp;
    std::string cwd = "/";
    // Its credentials before the exec (which transforms the capability sets as Linux's does);
    // unset: root with every capability.
    std::optional<Credentials> credentials;
    std::optional<uint32_t> umask;  // unset: 022
    // Set over the sandbox's initial limits (ThreadGroup::SetInitialRlimit).
    std::vector<ResourceLimit> rlimits;
};

// The syscall dispatcher is installed by the front end (syscalls/ depends on the kernel,
// not the other way round).
using SyscallDispatcher = void (*)(Task& task);

class Kernel {
public:
    static Result<std::unique_ptr<Kernel>> Create(std::unique_ptr<platform::Platform> platform,
                                                  std::unique_ptr<mm::MemoryFile> memory_file,
                                                  std::unique_ptr<fs::Vfs> vfs, KernelOptions options);
    ~Kernel();

    platform::Platform& platform() { return *m_platform; }
    mm::MemoryFile& memory_file() { return *m_memory_file; }
    fs::Vfs& vfs() { return *m_vfs; }
    Timekeeper& timekeeper() { return *m_timekeeper; }
    TimerQueue& timer_queue() { return *m_timer_queue; }
    loader::Vdso& vdso() { return *m_vdso; }
    FutexTable& futexes() { return m_futexes; }
    ProcessTree& processes() { return *m_processes; }
    // Who dies when the memory file is full (oom_killer.h).
    OomKiller& oom_killer() { return *m_oom_killer; }
    // The sandbox's AF_UNIX sockets (abstract names, bound paths).
    const std::shared_ptr<net::UnixSpace>& unix_space() { return m_unix_space; }
    // The sandbox's network namespace: its interfaces, netlink ports.
    const std::shared_ptr<net::Network>& network() { return m_options.network; }
    // The sandbox's TCP/UDP ports and sockets (loopback).
    const std::shared_ptr<net::InetSpace>& inet_space() { return m_inet_space; }
    const KernelOptions& options() const { return m_options; }

    void set_syscall_dispatcher(SyscallDispatcher d) { m_dispatcher = d; }
    SyscallDispatcher syscall_dispatcher() const { return m_dispatcher; }

    // uname(2): the sandbox's own identity.
    struct utsname utsname() const;
    void set_hostname(const std::string& name);
    void set_domainname(const std::string& name);

    // Starts PID 1 and runs until it and every task have exited. Returns PID 1's wait status.
    // `started` runs once PID 1 has started (and has pid 1): where `moat exec`'s control
    // socket begins to Spawn, so that an early exec can neither take pid 1 nor be taken for
    // PID 1 (whose death ends the sandbox).
    Result<int> Run(const InitProcess& init, std::shared_ptr<fs::FdTable> fds,
                    const std::function<void()>& started = nullptr);
    // Starts another process in the running sandbox (`moat exec`): no parent inside (its
    // ppid is 0, as for a process entering a container from outside); EAGAIN once PID 1 is
    // gone. WaitSpawned blocks the calling host thread until it has exited.
    Result<std::shared_ptr<ThreadGroup>> Spawn(const InitProcess& proc, std::shared_ptr<fs::FdTable> fds);
    int WaitSpawned(const std::shared_ptr<ThreadGroup>& tg);

    // Counts a call to a syscall number the table does not serve.
    void CountUnimplemented(uint64_t nr);
    std::map<uint64_t, uint64_t> unimplemented_counts() const;

    // Task bookkeeping.
    pid_t AllocatePid();
    // Inode numbers for anonymous files (pipes, later eventfd/epoll…).
    uint64_t NextAnonInode() { return m_next_anon_ino.fetch_add(1); }
    std::shared_ptr<ThreadGroup> FindThreadGroup(pid_t pid);
    void RegisterThreadGroup(const std::shared_ptr<ThreadGroup>& tg);
    // Calls `fn` for every live thread group (kill(-1), kill(-pgrp)); no kernel lock is held
    // during the calls.
    void ForEachThreadGroup(const std::function<void(ThreadGroup&)>& fn);
    size_t task_count() const;

private:
    Kernel() = default;
    void TraceInitialExec(const InitProcess& init);
    // A new process's task for `proc`, its image loaded (Run, Spawn).
    Result<std::shared_ptr<Task>> CreateProcess(const InitProcess& proc, std::shared_ptr<fs::FdTable> fds,
                                                std::shared_ptr<ThreadGroup>& tg);
    std::unique_ptr<platform::Platform> m_platform;
    std::unique_ptr<mm::MemoryFile> m_memory_file;
    std::unique_ptr<fs::Vfs> m_vfs;
    std::unique_ptr<Timekeeper> m_timekeeper;
    std::unique_ptr<loader::Vdso> m_vdso;
    KernelOptions m_options;
    SyscallDispatcher m_dispatcher = nullptr;
    FutexTable m_futexes;
    std::atomic<uint64_t> m_next_anon_ino{4096};
    std::shared_ptr<net::UnixSpace> m_unix_space;
    std::shared_ptr<net::InetSpace> m_inet_space;
    // After the timekeeper: its thread (which reads the clocks) ends first.
    std::unique_ptr<TimerQueue> m_timer_queue;

    mutable std::mutex m_lock;
    pid_t m_next_pid = 1;                                        // guarded by m_lock
    std::map<pid_t, std::weak_ptr<ThreadGroup>> m_thread_groups;  // guarded by m_lock
    std::string m_hostname;                                      // guarded by m_lock
    std::string m_domainname = "(none)";                         // guarded by m_lock
    std::map<uint64_t, uint64_t> m_unimplemented;                // guarded by m_lock
    // Outlives the tasks (they notify it as they exit).
    std::unique_ptr<OomKiller> m_oom_killer;
    // Last: destroyed first, while the memory file and the platform still exist.
    std::unique_ptr<ProcessTree> m_processes;
};

}  // namespace moat::kernel
