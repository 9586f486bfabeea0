#pragma once
// StubProcess: one stub process (one application address space) and the host thread that
// traces it.
//
// The address-space thread forks the stub, is the tracer of its main thread and of one more
// stub thread, the *injector*, and is the only host thread that ever touches either. Every
// change to the stub's mappings, and every new application thread, is a system call it
// injects at the injector's stub site on behalf of whichever sentry thread asked; the asker
// waits for the result. Application threads are traced by their contexts' host threads.
//
// Lifetime: the PtraceAddressSpace and every Context with a thread in the stub hold a
// reference. The stub is killed when its AddressSpace goes; it is reaped (and the thread
// joined) when the last reference goes, because a thread-group leader cannot be reaped
// before every tracer has collected its other threads.
//
// Lock order: m_lock is a leaf.

#include "platform/base/result.h"
#include "platform/platform.h"

#include <sys/types.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace moat::platform {

class StubProcess {
public:
    // Starts the address-space thread, which forks and attaches to the stub; `memory_fd` is
    // given to the stub as stub::kMemoryFd.
    [[nodiscard]] static Result<std::shared_ptr<StubProcess>> Create(int memory_fd);
    ~StubProcess();
    StubProcess(const StubProcess&) = delete;
    StubProcess& operator=(const StubProcess&) = delete;

    pid_t pid() const { return m_pid; }

    // Runs system call `nr` inside the stub; a negative result comes back as its errno.
    [[nodiscard]] Result<uint64_t> Syscall(long nr, const std::array<uint64_t, 6>& args);
    // Adds a stub thread parked in poll(NULL, 0, -1), traced by nobody; returns its tid.
    [[nodiscard]] Result<pid_t> CloneThread();
    // A context has collected the exit of a thread CloneThread made.
    void ForgetThread(pid_t tid);
    // SIGKILLs the stub now (its address space is gone). Any thread.
    void Kill();

private:
    struct Request {
        std::function<Result<uint64_t>()> work;
        std::optional<Result<uint64_t>> result;
    };

    StubProcess() = default;
    void ThreadMain(int memory_fd);
    // Below: address-space thread only.
    [[nodiscard]] Result<void> Spawn(int memory_fd);
    [[nodiscard]] Result<uint64_t> Inject(pid_t tid, const Registers& base, uint64_t site, long nr,
                                          const std::array<uint64_t, 6>& args);
    void KillAndReap();
    [[nodiscard]] Result<uint64_t> RunOnThread(std::function<Result<uint64_t>()> work);

    std::thread m_thread;
    pid_t m_pid = 0;             // written by the AS thread before setup completes, then const
    pid_t m_injector = 0;        // AS thread only
    Registers m_injector_regs{};  // AS thread only: valid selectors for injected register sets
    std::atomic<bool> m_dead{false};
    std::atomic<bool> m_killed{false};

    std::mutex m_lock;
    std::condition_variable m_wake;   // the AS thread waits for requests / quit
    std::condition_variable m_done;   // requesters wait for results / setup
    std::deque<Request*> m_queue;     // guarded by m_lock
    bool m_quit = false;              // guarded by m_lock
    std::optional<Result<void>> m_setup;  // guarded by m_lock
    // Application threads not yet collected by their contexts. Normally empty by the time the
    // stub is reaped; a context abandoned on the wrong host thread (or one that failed half
    // way into Enter) leaves its thread here, and any thread of the sentry may reap it.
    std::set<pid_t> m_app_threads;  // guarded by m_lock
};

}  // namespace moat::platform
