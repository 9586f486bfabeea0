#include "sentry/kernel/thread_group.h"

#include "sentry/kernel/real_timer.h"

#include <algorithm>

namespace moat::kernel {

ThreadGroup::ThreadGroup(Kernel& kernel, pid_t pid, pid_t parent_pid)
    : m_kernel(kernel), m_pid(pid), m_parent_pid(parent_pid), m_pgid(pid), m_sid(pid) {
    // The sandbox's initial limits: the host's own, as a process started from a shell sees.
    for (int r = 0; r < RLIM_NLIMITS; ++r)
        getrlimit(static_cast<__rlimit_resource>(r), &m_rlimits[r]);
}

KernelSigaction ThreadGroup::sigaction(int signo) {
    std::lock_guard lock(m_lock);
    return m_actions.at(static_cast<size_t>(signo));
}

void ThreadGroup::set_sigaction(int signo, const KernelSigaction& act) {
    std::lock_guard lock(m_lock);
    m_actions.at(static_cast<size_t>(signo)) = act;
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

std::shared_ptr<RealTimer> ThreadGroup::real_timer() {
    std::lock_guard lock(m_lock);
    if (!m_real_timer)
        m_real_timer = std::make_shared<RealTimer>();
    return m_real_timer;
}

}  // namespace moat::kernel
