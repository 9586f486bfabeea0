#pragma once
// StubMonitor: the platform's one host thread for stub processes. It forks the zygote (a
// stub's PR_SET_PDEATHSIG names its parent thread, and every stub is this thread's child:
// the zygote forks the others with CLONE_PARENT, so stubs die with the platform), and it
// watches their pidfds: when a stub exits, it reaps it and marks it dead, which wakes every
// sentry thread waiting on it. Without it a context waiting for an event from a killed stub
// would wait forever: a futex in shared memory does not notice the other process dying.
//
// Lock order: m_lock is a leaf.

#include "platform/base/result.h"
#include "platform/base/unique_fd.h"

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace moat::platform::systrap {

class SystrapStub;

class StubMonitor {
public:
    [[nodiscard]] static Result<std::unique_ptr<StubMonitor>> Create();
    // Kills and reaps every stub still alive.
    ~StubMonitor();
    StubMonitor(const StubMonitor&) = delete;
    StubMonitor& operator=(const StubMonitor&) = delete;

    // Forks `stub` on the monitor thread (stub->ChildMain in the child) and watches it.
    [[nodiscard]] Result<void> Launch(std::shared_ptr<SystrapStub> stub);
    // Watches a stub forked elsewhere (a child of this thread through CLONE_PARENT). Does not
    // wait for the monitor thread.
    [[nodiscard]] Result<void> Watch(std::shared_ptr<SystrapStub> stub);

private:
    struct LaunchRequest {
        std::shared_ptr<SystrapStub> stub;
        bool done = false;
        Result<void> result = {};
    };
    StubMonitor() = default;
    void Loop();
    void Wake();
    [[nodiscard]] Result<void> Fork(SystrapStub& stub);
    void Reap(SystrapStub& stub);

    std::thread m_thread;
    UniqueFd m_wake_fd;  // eventfd: requests are queued
    std::mutex m_lock;
    std::condition_variable m_done;
    std::deque<LaunchRequest*> m_requests;  // guarded by m_lock
    std::vector<std::shared_ptr<SystrapStub>> m_to_watch;  // guarded by m_lock
    bool m_quit = false;                    // guarded by m_lock
    std::vector<std::shared_ptr<SystrapStub>> m_watched;  // monitor thread only
};

}  // namespace moat::platform::systrap
