#include "sentry/kernel/thread_group.h"
#include "sentry/kernel/terminal.h"

#include <utility>

#include "sentry/kernel/process_timers.h"

#include <algorithm>
#include <atomic>

namespace moat::kernel {

KernelSigaction SignalHandlers::get(int signo) const {
    std::lock_guard lock(m_lock);
    return m_actions.at(static_cast<size_t>(signo));
}

void SignalHandlers::set(int signo, const KernelSigaction& act) {
    std::lock_guard lock(m_lock);
    m_actions.at(static_cast<size_t>(signo)) = act;
}

namespace {
// Set once by CaptureHostRlimits at start-up, before any thread group exists.
std::array<struct rlimit, RLIM_NLIMITS> g_host_rlimits{};
std::atomic<bool> g_host_rlimits_captured{false};
}  // namespace

std::shared_ptr<SignalHandlers> SignalHandlers::Copy() const {
    auto copy = std::make_shared<SignalHandlers>();
    std::lock_guard lock(m_lock);
    copy->m_actions = m_actions;
    return copy;
}

ThreadGroup::ThreadGroup(Kernel& kernel, pid_t pid, pid_t parent_pid)
    : m_kernel(kernel), m_pid(pid), m_parent_pid(parent_pid), m_pgid(pid), m_sid(pid),
      m_handlers(std::make_shared<SignalHandlers>()) {
    // The sandbox's initial limits: the host's own, as a process started from a shell sees.
    if (g_host_rlimits_captured.load()) {
        m_rlimits = g_host_rlimits;
        return;
    }
    for (int r = 0; r < RLIM_NLIMITS; ++r)
        getrlimit(static_cast<__rlimit_resource>(r), &m_rlimits[r]);
}

void ThreadGroup::CaptureHostRlimits() {
    for (int r = 0; r < RLIM_NLIMITS; ++r)
        getrlimit(static_cast<__rlimit_resource>(r), &g_host_rlimits[r]);
    g_host_rlimits_captured.store(true);
}

void ThreadGroup::SetInitialRlimit(int resource, const struct rlimit& lim) {
    if (resource >= 0 && resource < RLIM_NLIMITS)
        g_host_rlimits[resource] = lim;
}

std::shared_ptr<Terminal> ThreadGroup::controlling_tty() {
    std::lock_guard lock(m_signal_lock);
    return m_controlling_tty;
}

void ThreadGroup::set_controlling_tty(std::shared_ptr<Terminal> tty) {
    std::shared_ptr<Terminal> old;  // released outside the lock
    std::lock_guard lock(m_signal_lock);
    old = std::exchange(m_controlling_tty, std::move(tty));
}

KernelSigaction ThreadGroup::sigaction(int signo) { return signal_handlers()->get(signo); }

void ThreadGroup::set_sigaction(int signo, const KernelSigaction& act) { signal_handlers()->set(signo, act); }

std::shared_ptr<SignalHandlers> ThreadGroup::signal_handlers() {
    std::lock_guard lock(m_lock);
    return m_handlers;
}

void ThreadGroup::set_signal_handlers(std::shared_ptr<SignalHandlers> handlers) {
    std::lock_guard lock(m_lock);
    m_handlers = std::move(handlers);
}

struct rlimit ThreadGroup::rlimit(int resource) {
    std::lock_guard lock(m_lock);
    return m_rlimits.at(static_cast<size_t>(resource));
}

void ThreadGroup::set_rlimit(int resource, const struct rlimit& lim) {
    std::lock_guard lock(m_lock);
    m_rlimits.at(static_cast<size_t>(resource)) = lim;
}

bool ThreadGroup::exiting() const {
    std::lock_guard lock(m_lock);
    return m_exiting;
}

void ThreadGroup::BeginGroupExit(int wait_status) {
    std::lock_guard lock(m_lock);
    if (m_exiting)
        return;
    m_exiting = true;
    m_wait_status = wait_status;
}

int ThreadGroup::wait_status() const {
    std::lock_guard lock(m_lock);
    return m_wait_status;
}

void ThreadGroup::AddTask(Task* task) {
    std::lock_guard lock(m_lock);
    m_tasks.push_back(task);
}

bool ThreadGroup::RemoveTask(Task* task) {
    std::lock_guard lock(m_lock);
    std::erase(m_tasks, task);
    if (m_tasks.empty())
        m_empty_cv.notify_all();
    return m_tasks.empty();
}

std::vector<Task*> ThreadGroup::tasks() {
    std::lock_guard lock(m_lock);
    return m_tasks;
}

void ThreadGroup::WaitUntilEmpty() {
    std::unique_lock lock(m_lock);
    m_empty_cv.wait(lock, [&] { return m_tasks.empty(); });
}

std::shared_ptr<ProcessTimers> ThreadGroup::timers() {
    std::lock_guard lock(m_lock);
    if (!m_timers)
        m_timers = std::make_shared<ProcessTimers>();
    return m_timers;
}

}  // namespace moat::kernel
