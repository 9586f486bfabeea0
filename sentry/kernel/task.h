#pragma once
// Task: one application thread. Each task runs on its own sentry host thread, which owns the
// task's platform Context: switch → handle the event → (deliver signals) → switch again.
//
// Fields without a lock note are touched only by the task's own host thread.

#include "platform/platform.h"
#include "platform/base/result.h"
#include "sentry/kernel/credentials.h"
#include "sentry/kernel/forward.h"
#include "sentry/kernel/sched.h"
#include "sentry/kernel/usage.h"
#include "sentry/kernel/signals.h"

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace moat::kernel {

struct CloneArgs;
struct VforkDone;
}  // namespace moat::kernel
namespace moat::loader {
class ExecFile;
}  // namespace moat::loader
namespace moat::kernel {

class Task {
public:
    Task(Kernel& kernel, std::shared_ptr<ThreadGroup> tg, pid_t tid);
    ~Task();

    Kernel& kernel() { return m_kernel; }
    ThreadGroup& thread_group() { return *m_tg; }
    pid_t tid() const { return m_tid; }
    pid_t pid() const;

    mm::MemoryManager& mm() { return *m_mm; }
    const std::shared_ptr<mm::MemoryManager>& mm_ptr() { return m_mm; }
    void set_mm(std::shared_ptr<mm::MemoryManager> mm);
    // The address space as another thread may read it (the OOM killer): null once the task
    // has exited. The task's own thread uses mm()/mm_ptr().
    std::shared_ptr<mm::MemoryManager> mm_snapshot();
    fs::FdTable& fd_table() { return *m_fd_table; }
    const std::shared_ptr<fs::FdTable>& fd_table_ptr() { return m_fd_table; }
    void set_fd_table(std::shared_ptr<fs::FdTable> t) { m_fd_table = std::move(t); }
    fs::FsContext& fs_context() { return *m_fs_context; }
    const std::shared_ptr<fs::FsContext>& fs_context_ptr() { return m_fs_context; }
    void set_fs_context(std::shared_ptr<fs::FsContext> c) { m_fs_context = std::move(c); }

    platform::Registers& regs() { return m_regs; }
    Credentials& creds() { return m_creds; }
    platform::Context* context() { return m_context.get(); }

    // ---- Signals (signals.h, task_signals.cc) ----
    // The blocked mask: written by this task's thread only, read by senders.
    uint64_t signal_mask() const { return m_signal_mask.load(); }
    void set_signal_mask(uint64_t mask);
    // This task's own pending set; guarded by thread_group().signal_lock().
    PendingSignals& pending_signals() { return m_pending; }
    // rt_sigtimedwait: the signals this task waits for; a sender wakes it for them even
    // though they are blocked.
    AtomicSigset sigwait_set;
    // sigsuspend/ppoll/pselect: the mask to restore once a signal was delivered (a handler
    // frame saves it in uc_sigmask instead).
    std::optional<uint64_t> saved_signal_mask;
    // restart_syscall(2): what an ERESTART_RESTARTBLOCK call resumes with (nanosleep's
    // remaining time). Set by the interrupted handler.
    std::function<Result<uint64_t>(Task&)> restart_block;
    // Delivers pending signals before returning to app code (task loop). `after_syscall`: the
    // last event was a syscall, so rax may hold an -ERESTART* code to resolve.
    void DeliverSignals(bool after_syscall);
    // True when a signal this task does not block is pending on it or its group.
    bool HasDeliverableSignal();

    // ---- Scheduling and accounting (sched.h, usage.h, task_usage.cc) ----
    SchedState sched;                  // sched_setaffinity/setscheduler, setpriority
    std::atomic<uint64_t> minflt{0};   // page faults the sentry resolved for this task
    // CPU time of this task's app thread(s) so far, as the host accounts it. Any thread.
    platform::Context::CpuTimes CpuTime();

    // set_tid_address / set_robust_list state.
    uint64_t clear_child_tid = 0;
    uint64_t robust_list_head = 0;
    uint64_t robust_list_len = 0;
    std::string comm;  // PR_SET_NAME / /proc/[pid]/comm, at most 15 bytes
    // When the task was created (/proc/[pid]/stat's starttime); kept across execve.
    const std::chrono::steady_clock::time_point start_time = std::chrono::steady_clock::now();
    struct AltStack {
        uint64_t sp = 0;
        uint64_t size = 0;
        int flags = 0;
    } altstack;  // sigaltstack(2)

    // A handler that replaced the registers wholesale (execve, rt_sigreturn) sets this so the
    // dispatcher does not overwrite rax with a return value.
    bool regs_replaced = false;

    // Replaces the process image (execve(2)): a fresh MemoryManager loaded by the loader, the
    // registers set to the new entry point. On failure the old image is untouched. `file`:
    // the executable already opened (execveat), else `filename` is opened.
    Result<void> Exec(const std::string& filename, std::vector<std::string> argv, std::vector<std::string> envp,
                      std::shared_ptr<loader::ExecFile> file = nullptr);

    // ---- Processes (task_clone.cc, task_exit.cc, process_tree.h) ----
    // clone(2): a new task sharing what `args` says, already running on its own host thread.
    Result<std::shared_ptr<Task>> Clone(const CloneArgs& args);
    // execve(2) on top of Exec: ends the other threads, takes the leader's tid, unshares and
    // closes close-on-exec fds, releases a vfork parent.
    Result<void> ExecProcess(const std::string& filename, std::vector<std::string> argv,
                             std::vector<std::string> envp, std::shared_ptr<loader::ExecFile> file = nullptr);
    // Asks this task (from any thread) to exit as if it called exit(2) (de-threading on exec).
    void RequestExit();
    bool exit_requested() const { return m_exit_requested.load(); }
    void set_tid(pid_t tid) { m_tid = tid; }
    int exit_code = 0;                            // exit(2)'s code, for the group's last thread
    int pdeathsig = 0;                            // PR_SET_PDEATHSIG
    std::shared_ptr<VforkDone> vfork_done;        // a vfork child: released on exec or exit
    std::optional<std::vector<uint8_t>> initial_fpu;  // a clone child's FPU, set before its first Switch

    // Ends this task (exit(2)) or its whole thread group (exit_group(2), fatal signal).
    void Exit(int code);
    void ExitGroup(int wait_status);
    bool exiting() const { return m_exiting; }

    // Runs the task loop on the calling host thread until the task exits.
    void Run();
    // Asks the task's host thread to stop running app code soon (another task's exit_group).
    void Interrupt();

    // ---- Blocking in the sentry (see wait_queue.h for the protocol) ----
    // Waits until `ready()` is true ({}), the deadline passes (ETIMEDOUT), or the task must
    // stop blocking — a signal to handle or an exit (ERESTARTSYS; the dispatcher turns it
    // into EINTR or a restart).
    Result<void> Block(WaitQueue& queue, const std::function<bool()>& ready,
                       std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);
    // Wakes the task if it is blocked (a WaitQueue it waits on was notified).
    void Wake();
    // Wakes the task and makes its current or next Block return ERESTARTSYS (a signal became
    // deliverable). Signal delivery clears the flag with clear_wake_for_signal().
    void WakeForSignal();
    void clear_wake_for_signal() { m_wake_for_signal.store(false); }
    bool ShouldInterruptBlock() const;
    // The task the calling host thread runs, or null on a thread that runs none.
    static Task* Current();
    static void SetCurrent(Task* task);

private:
    // m_context is set and dropped under m_context_lock, so CpuTime() from another thread
    // never sees a dying context (task_usage.cc).
    void SetContext(std::unique_ptr<platform::Context> ctx);
    void ReleaseContext();
    friend ResourceUsage GroupUsage(ThreadGroup& tg, bool including_children);
    void ExitNotify();
    void AfterExit(bool last_in_group);
    bool HandleFault(const platform::Event& ev);
    void KillBySignal(int signo);
    // task_signals.cc
    bool HandleSignal(const siginfo_t& info, int& restart_code);
    void WaitWhileStopped();

    Kernel& m_kernel;
    std::shared_ptr<ThreadGroup> m_tg;
    pid_t m_tid;
    // Written by the task's own thread (exec, exit) or before it starts (clone), always under
    // m_mm_lock (a leaf), so mm_snapshot() from other threads never sees it half-replaced.
    std::shared_ptr<mm::MemoryManager> m_mm;
    std::mutex m_mm_lock;
    std::shared_ptr<fs::FdTable> m_fd_table;
    std::shared_ptr<fs::FsContext> m_fs_context;
    platform::Registers m_regs{};
    Credentials m_creds;
    AtomicSigset m_signal_mask;
    PendingSignals m_pending;
    std::unique_ptr<platform::Context> m_context;
    std::mutex m_context_lock;                 // guards m_context's creation and release
    platform::Context::CpuTimes m_cpu_final;  // guarded by m_context_lock: after release
    bool m_context_released = false;          // guarded by m_context_lock
    bool m_exiting = false;
    std::atomic<platform::Context*> m_running_context{nullptr};

    std::mutex m_block_lock;
    std::condition_variable m_block_cv;
    bool m_woken = false;  // guarded by m_block_lock
    std::atomic<bool> m_wake_for_signal{false};
    std::atomic<bool> m_exit_requested{false};
};

}  // namespace moat::kernel
