#include "fs/exec.h"
#include "fs/fd_table.h"
#include "sentry/kernel/process_timers.h"
#include "sentry/kernel/process_tree.h"
#include "sentry/kernel/wait_queue.h"
#include "platform/base/log.h"
#include "sentry/kernel/futex.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/loader/loader.h"
#include "sentry/loader/vdso.h"
#include "sentry/mm/memory_manager.h"

#include <sys/random.h>

#include <chrono>
#include <utility>
#include <thread>

namespace moat::kernel {

// x86-64 user segment selectors (__USER_CS, __USER_DS).
inline constexpr uint64_t kUserCs = 0x33;
inline constexpr uint64_t kUserDs = 0x2b;

Result<void> Task::Exec(const std::string& filename, std::vector<std::string> argv, std::vector<std::string> envp,
                        std::shared_ptr<loader::ExecFile> file) {
    auto new_mm = TRY(mm::MemoryManager::Create(m_kernel.memory_file(), m_kernel.platform()));

    loader::LoadRequest req;
    req.filename = filename;
    req.argv = std::move(argv);
    req.envp = std::move(envp);
    req.open = fs::MakeExecOpener(*this);
    if (file) {
        // The loader opens `filename` first, then interpreters: the first is the file given.
        req.open = [file = std::move(file), open = std::move(req.open)](
                       const std::string& path) mutable -> Result<std::shared_ptr<loader::ExecFile>> {
            if (file)
                return std::exchange(file, nullptr);
            return open(path);
        };
    }
    req.vdso = &m_kernel.vdso();
    struct rlimit stack = m_tg->rlimit(RLIMIT_STACK);
    req.stack_size_limit = stack.rlim_cur == RLIM_INFINITY ? (8ull << 20) : stack.rlim_cur;
    new_mm->set_stack_limit(req.stack_size_limit);
    req.uid = m_creds.ruid;
    req.euid = m_creds.euid;
    req.gid = m_creds.rgid;
    req.egid = m_creds.egid;
    auto loaded = TRY(loader::LoadProgram(*new_mm, req));

    // Point of no return: the new image replaces the old one.
    new_mm->layout().exe_path = loaded.exe_path;
    ApplyExecToCapabilities(m_creds);
    // Linux releases the old image's robust futexes on exec (futex_exec_release).
    WalkRobustList(*this);
    m_tg->membarrier.registered = 0;
    set_mm(std::move(new_mm));
    m_regs = platform::Registers{};
    m_regs.rip = loaded.entry;
    m_regs.rsp = loaded.stack_pointer;
    m_regs.cs = kUserCs;
    m_regs.ss = kUserDs;
    m_regs.eflags = 0x202;  // IF, and the always-one bit
    m_regs.orig_rax = static_cast<uint64_t>(-1);
    regs_replaced = true;

    // Linux resets handled signals to SIG_DFL on exec; ignored ones stay ignored. A table
    // shared with another process (CLONE_SIGHAND) is copied first (unshare_sighand).
    auto handlers = m_tg->signal_handlers()->Copy();
    for (int sig = 1; sig <= kNumSignals; ++sig)
        if (handlers->get(sig).handler > 1)
            handlers->set(sig, KernelSigaction{});
    m_tg->set_signal_handlers(std::move(handlers));
    // Linux names the task after the path execve was given (kbasename(bprm->filename)): a
    // symlink's name (busybox applets), a script's own name, not the binary finally loaded.
    size_t slash = filename.rfind('/');
    comm = filename.substr(slash == std::string::npos ? 0 : slash + 1, 15);
    clear_child_tid = 0;
    robust_list_head = 0;
    robust_list_len = 0;
    log::debug("[{}] exec {} entry {:#x} sp {:#x}", m_tid, loaded.exe_path, loaded.entry, loaded.stack_pointer);
    return {};
}

}  // namespace moat::kernel

namespace moat::kernel {

Result<void> Task::ExecProcess(const std::string& filename, std::vector<std::string> argv,
                               std::vector<std::string> envp, std::shared_ptr<loader::ExecFile> file) {
    TRY(Exec(filename, std::move(argv), std::move(envp), std::move(file)));
    // Past the point of no return. The other threads end (Linux's de_thread); they were
    // running in the old image, which goes with them.
    for (;;) {
        std::vector<Task*> others;
        for (Task* t : m_tg->tasks())
            if (t != this)
                others.push_back(t);
        if (others.empty())
            break;
        for (Task* t : others)
            t->RequestExit();
        auto r = Block(m_tg->thread_exit_wait, [&] { return m_tg->tasks().size() == 1; });
        if (!r.ok() && (m_exiting || m_tg->exiting()))
            break;  // we are being killed ourselves
        if (!r.ok()) {
            // A signal interrupted the wait; keep waiting without spinning on the flag.
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }
    ProcessTree& tree = m_kernel.processes();
    if (m_tid != m_tg->pid())
        tree.Retid(*this, m_tg->pid());  // the exec'ing thread becomes the leader
    tree.MarkExec(*m_tg);
    altstack = AltStack{};
    // POSIX timers do not survive exec; setitimer's timers do (Linux's begin_new_exec).
    m_tg->timers()->DeletePosixTimers();

    // Linux unshares the fd table on exec (another process may share it through CLONE_FILES).
    if (m_fd_table.use_count() > 1) {
        if (auto copy = m_fd_table->Fork(); copy.ok())
            m_fd_table = copy.release_value();
    }
    m_fd_table->CloseOnExec();
    if (vfork_done) {
        vfork_done->Complete();
        vfork_done.reset();
    }
    return {};
}

}  // namespace moat::kernel
