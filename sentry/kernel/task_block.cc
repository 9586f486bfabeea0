#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/kernel/wait_queue.h"

namespace moat::kernel {

namespace {
// The task the calling host thread runs (one host thread per task). Lets code that has no
// Task in its signature (a pipe's Read) block interruptibly.
thread_local Task* t_current_task = nullptr;
}  // namespace

Task* Task::Current() { return t_current_task; }
void Task::SetCurrent(Task* task) { t_current_task = task; }

bool Task::ShouldInterruptBlock() const {
    return m_exiting || m_tg->exiting() || m_exit_requested.load() ||
           m_wake_for_signal.load(std::memory_order_acquire);
}

void Task::Wake() {
    std::lock_guard lock(m_block_lock);
    m_woken = true;
    m_block_cv.notify_all();
}

void Task::WakeForSignal() {
    m_wake_for_signal.store(true, std::memory_order_release);
    Wake();
}

Result<void> Task::Block(WaitQueue& queue, const std::function<bool()>& ready,
                         std::optional<std::chrono::steady_clock::time_point> deadline) {
    queue.Add(this);
    Result<void> result;
    for (;;) {
        {
            std::lock_guard lock(m_block_lock);
            m_woken = false;
        }
        if (ready())
            break;
        if (ShouldInterruptBlock()) {
            result = Error(ERESTARTSYS);
            break;
        }
        std::unique_lock lock(m_block_lock);
        if (deadline) {
            if (!m_block_cv.wait_until(lock, *deadline, [&] { return m_woken; })) {
                lock.unlock();
                if (!ready())
                    result = Error(ETIMEDOUT);
                break;
            }
        } else {
            m_block_cv.wait(lock, [&] { return m_woken; });
        }
    }
    queue.Remove(this);
    return result;
}

}  // namespace moat::kernel
