#include "sentry/kernel/wait_queue.h"

#include "sentry/kernel/task.h"

#include <algorithm>

namespace moat::kernel {

void WaitQueue::Add(Task* task) {
    std::lock_guard lock(m_lock);
    m_tasks.push_back(task);
}

void WaitQueue::Remove(Task* task) {
    std::lock_guard lock(m_lock);
    auto it = std::find(m_tasks.begin(), m_tasks.end(), task);
    if (it != m_tasks.end())
        m_tasks.erase(it);
}

void WaitQueue::Notify() {
    std::lock_guard lock(m_lock);
    for (Task* t : m_tasks)
        t->Wake();
}

}  // namespace moat::kernel
