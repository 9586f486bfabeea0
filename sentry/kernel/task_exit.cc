// A task's end: clear_child_tid, the vfork parent's release, and handing the task to the
// process tree (zombie, reparenting, SIGCHLD). Also RequestExit, used to de-thread on exec.

#include "platform/base/log.h"
#include "sentry/kernel/futex.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/oom_killer.h"
#include "sentry/kernel/process_timers.h"
#include "sentry/kernel/process_tree.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/terminal.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"

#include <linux/futex.h>

namespace moat::kernel {

void Task::RequestExit() {
    m_exit_requested.store(true);
    Interrupt();
}

// On the task's own thread, while its memory is still there (Linux's mm_release).
void Task::ExitNotify() {
    if (m_mm) {
        // Robust futexes this thread still holds get FUTEX_OWNER_DIED; then pthread_join and
        // friends, which wait on clear_child_tid, are woken. Failures are ignored as in Linux.
        WalkRobustList(*this);
        WakeClearChildTid(*this);
    }
    if (vfork_done) {
        vfork_done->Complete();
        vfork_done.reset();
    }
}

void Task::AfterExit(bool last_in_group) {
    // Linux's exit_files/exit_fs/exit_mm: a dead task (a zombie's, until it is reaped) holds
    // none of them, so pipes see EOF and memory is freed at exit, not at wait.
    m_fd_table.reset();
    m_fs_context.reset();
    set_mm(nullptr);
    // An OOM kill's victim has freed its frames once its last task is here.
    m_kernel.oom_killer().TaskReleasedMemory();
    // Linux's exit_itimers: a process's timers end with it.
    if (last_in_group)
        m_tg->timers()->DeleteAll();
    if (last_in_group && m_tg->pid() == m_tg->sid())
        SessionLeaderExited(*m_tg);
    m_kernel.processes().TaskExited(*this, last_in_group);
}

}  // namespace moat::kernel
