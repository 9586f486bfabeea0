#include "platform/systrap/stub_monitor.h"

#include "platform/base/log.h"
#include "platform/systrap/stub_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace moat::platform::systrap {

Result<std::unique_ptr<StubMonitor>> StubMonitor::Create() {
    std::unique_ptr<StubMonitor> monitor(new StubMonitor());
    monitor->m_wake_fd = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!monitor->m_wake_fd)
        return HostErrno();
    monitor->m_thread = std::thread([raw = monitor.get()] { raw->Loop(); });
    return monitor;
}

StubMonitor::~StubMonitor() {
    {
        std::lock_guard lock(m_lock);
        m_quit = true;
    }
    Wake();
    if (m_thread.joinable())
        m_thread.join();
}

void StubMonitor::Wake() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(m_wake_fd.get(), &one, sizeof(one));
}

Result<void> StubMonitor::Launch(std::shared_ptr<SystrapStub> stub) {
    LaunchRequest request{std::move(stub)};
    std::unique_lock lock(m_lock);
    if (m_quit)
        return Errno(ESRCH);
    m_requests.push_back(&request);
    Wake();
    m_done.wait(lock, [&] { return request.done; });
    return request.result;
}

Result<void> StubMonitor::Watch(std::shared_ptr<SystrapStub> stub) {
    {
        std::lock_guard lock(m_lock);
        if (m_quit)
            return Errno(ESRCH);
        m_to_watch.push_back(std::move(stub));
    }
    Wake();
    return {};
}

Result<void> StubMonitor::Fork(SystrapStub& stub) {
    long pid = ::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (pid < 0)
        return HostErrno();
    if (pid == 0)
        stub.ChildMain();
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd) {
        Error err = HostErrno();
        ::kill(static_cast<pid_t>(pid), SIGKILL);
        ::waitpid(static_cast<pid_t>(pid), nullptr, __WALL);
        return err;
    }
    stub.SetProcess(static_cast<pid_t>(pid), std::move(pidfd));
    return {};
}

void StubMonitor::Reap(SystrapStub& stub) {
    for (;;) {
        siginfo_t info{};
        int r = ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(stub.pidfd()), &info, WEXITED | __WALL);
        if (r == 0 || errno != EINTR)
            break;
    }
    stub.MarkDead();
}

void StubMonitor::Loop() {
    std::vector<pollfd> fds;
    for (;;) {
        fds.clear();
        fds.push_back({m_wake_fd.get(), POLLIN, 0});
        for (auto& stub : m_watched)
            fds.push_back({stub->pidfd(), POLLIN, 0});
        if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR)
            log::warn("systrap: monitor poll: errno {}", errno);
        // Exited stubs: reap and wake their waiters.
        for (size_t i = fds.size(); i-- > 1;) {
            if (fds[i].revents == 0)
                continue;
            Reap(*m_watched[i - 1]);
            m_watched.erase(m_watched.begin() + static_cast<long>(i - 1));
        }
        uint64_t count;
        [[maybe_unused]] ssize_t n = ::read(m_wake_fd.get(), &count, sizeof(count));
        std::unique_lock lock(m_lock);
        for (auto& stub : m_to_watch)
            m_watched.push_back(std::move(stub));
        m_to_watch.clear();
        while (!m_requests.empty()) {
            LaunchRequest* request = m_requests.front();
            m_requests.pop_front();
            lock.unlock();
            Result<void> forked = Fork(*request->stub);
            if (forked.ok())
                m_watched.push_back(request->stub);
            lock.lock();
            request->result = forked;
            request->done = true;
            m_done.notify_all();
        }
        if (m_quit)
            break;
    }
    for (auto& stub : m_watched) {
        stub->Kill();
        Reap(*stub);
    }
    m_watched.clear();
}

}  // namespace moat::platform::systrap
