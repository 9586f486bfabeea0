#include "platform/ptrace/stub_process.h"

#include "platform/base/log.h"
#include "platform/ptrace/ptrace_util.h"
#include "platform/ptrace/stub_layout.h"

#include <sched.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/rseq.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace moat::platform {

namespace {

// Collects the exit of a stub thread that has been SIGKILLed (ours, or a tracee of another
// sentry thread: a wait covers the tracees of every thread in the process).
void ReapExit(pid_t tid) {
    for (;;) {
        auto status = ptrace_util::Wait(tid);
        if (!status.ok() || ptrace_util::IsExitStatus(*status))
            return;
    }
}

constexpr long kTraceOptions = PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD;
constexpr uint64_t kThreadCloneFlags =
    CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;

// The forked child. The sentry is multi-threaded, so only raw system calls from here on:
// another thread may have held any libc lock at the moment of the fork.
[[noreturn]] void StubChild(int memory_fd) {
    auto die = [](int code) {
        ::syscall(SYS_exit_group, code);
        __builtin_unreachable();
    };
    // The address-space thread is our parent thread; if it goes, so do we.
    if (::syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
        die(120);
    if (::syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0) != 0)
        die(121);
    // glibc registered an rseq area for the forking thread and fork keeps it; once the stub
    // unmaps it, the kernel's next cpu-id update would SIGSEGV the stub. The registration
    // length is glibc's area size (32), or what newer glibc reports in __rseq_size.
    if (__rseq_size > 0) {
        void* area = static_cast<char*>(__builtin_thread_pointer()) + __rseq_offset;
        if (::syscall(SYS_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0 &&
            ::syscall(SYS_rseq, area, __rseq_size, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0)
            die(123);
    }
    // Nothing blocked (Interrupt's SIGCHLD must reach the tracer) and every action default
    // (the sentry's handlers point into memory the stub is about to unmap).
    uint64_t empty_mask = 0;
    ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty_mask, nullptr, sizeof(empty_mask));
    struct {
        uint64_t handler, flags, restorer, mask;
    } default_action{};
    for (int sig = 1; sig <= 64; ++sig) {
        if (sig != SIGKILL && sig != SIGSTOP)
            ::syscall(SYS_rt_sigaction, sig, &default_action, nullptr, sizeof(uint64_t));
    }
    // The memory file to fd 3: with 3 closed, F_DUPFD's lowest free fd >= 3 is 3 (fcntl
    // rather than dup2: the sentry's host filter, which a ptrace stub inherits, has fcntl).
    if (memory_fd != stub::kMemoryFd) {
        ::syscall(SYS_close, stub::kMemoryFd);
        if (::syscall(SYS_fcntl, memory_fd, F_DUPFD, stub::kMemoryFd) != stub::kMemoryFd)
            die(122);
    }
    ::syscall(SYS_close_range, 0, stub::kMemoryFd - 1, 0);
    ::syscall(SYS_close_range, stub::kMemoryFd + 1, ~0U, 0);
    moat_stub_enter(stub::kBase, stub::kUserTop);
}

}  // namespace

Result<std::shared_ptr<StubProcess>> StubProcess::Create(int memory_fd) {
    std::shared_ptr<StubProcess> stub(new StubProcess());
    stub->m_thread = std::thread([raw = stub.get(), memory_fd] { raw->ThreadMain(memory_fd); });
    std::unique_lock lock(stub->m_lock);
    stub->m_done.wait(lock, [&] { return stub->m_setup.has_value(); });
    Result<void> setup = *stub->m_setup;
    lock.unlock();
    if (!setup.ok())
        return Error(setup.error());  // the destructor joins the thread, which has exited
    return stub;
}

StubProcess::~StubProcess() {
    {
        std::lock_guard lock(m_lock);
        m_quit = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable())
        m_thread.join();
}

void StubProcess::ThreadMain(int memory_fd) {
    Result<void> setup = Spawn(memory_fd);
    {
        std::lock_guard lock(m_lock);
        m_setup = setup;
    }
    m_done.notify_all();
    if (!setup.ok()) {
        KillAndReap();
        return;
    }
    std::unique_lock lock(m_lock);
    for (;;) {
        m_wake.wait(lock, [&] { return m_quit || !m_queue.empty(); });
        if (m_queue.empty())
            break;  // quitting, and nobody is waiting on us
        Request* request = m_queue.front();
        m_queue.pop_front();
        lock.unlock();
        Result<uint64_t> result = request->work();
        lock.lock();
        request->result = result;
        m_done.notify_all();
    }
    lock.unlock();
    KillAndReap();
}

Result<void> StubProcess::Spawn(int memory_fd) {
    long pid = ::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (pid < 0)
        return HostErrno();
    if (pid == 0)
        StubChild(memory_fd);
    m_pid = static_cast<pid_t>(pid);

    // Wait for the stub's own SIGSTOP; anything else before it is suppressed.
    for (;;) {
        int status = TRY(ptrace_util::Wait(m_pid));
        if (ptrace_util::IsExitStatus(status)) {
            log::warn("ptrace: stub {} died during start-up (status {:#x})", m_pid, status);
            m_dead = true;
            return Errno(ECHILD);
        }
        if (WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP)
            break;
        TRY(ptrace_util::Resume(PTRACE_CONT, m_pid, 0));
    }
    if (::ptrace(PTRACE_SETOPTIONS, m_pid, nullptr, kTraceOptions) < 0)
        return HostErrno();
    Registers leader_regs{};
    TRY(ptrace_util::GetRegs(m_pid, leader_regs));

    // The main thread only makes the injector and then stays stopped for good: its exit could
    // not be collected while other stub threads are unreaped, and injections must never wait
    // on that (see README.md).
    uint64_t tid = TRY(Inject(m_pid, leader_regs, stub::CloneSite(), SYS_clone,
                              {kThreadCloneFlags, 0, 0, 0, 0, 0}));
    m_injector = static_cast<pid_t>(tid);
    if (::ptrace(PTRACE_SEIZE, m_injector, nullptr, kTraceOptions) < 0 ||
        ::ptrace(PTRACE_INTERRUPT, m_injector, nullptr, nullptr) < 0)
        return HostErrno();
    for (;;) {
        int status = TRY(ptrace_util::Wait(m_injector));
        if (ptrace_util::IsExitStatus(status)) {
            m_dead = true;
            return Errno(ECHILD);
        }
        if (WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_STOP)
            break;
        TRY(ptrace_util::Resume(PTRACE_CONT, m_injector, 0));
    }
    TRY(ptrace_util::GetRegs(m_injector, m_injector_regs));
    log::debug("ptrace: stub {} ready, injector thread {}", m_pid, m_injector);
    return {};
}

Result<uint64_t> StubProcess::Inject(pid_t tid, const Registers& base, uint64_t site, long nr,
                                     const std::array<uint64_t, 6>& args) {
    Registers regs = base;
    regs.rip = site;
    regs.rax = static_cast<uint64_t>(nr);
    regs.rdi = args[0];
    regs.rsi = args[1];
    regs.rdx = args[2];
    regs.r10 = args[3];
    regs.r8 = args[4];
    regs.r9 = args[5];
    regs.orig_rax = static_cast<uint64_t>(-1);  // no syscall-restart processing on resume
    auto lost = [&](int err) -> Error {
        m_dead = true;
        return Errno(err == ESRCH || err == ECHILD ? ESRCH : err);
    };
    if (auto r = ptrace_util::SetRegs(tid, regs); !r.ok())
        return lost(r.error());
    if (auto r = ptrace_util::Resume(PTRACE_CONT, tid, 0); !r.ok())
        return lost(r.error());
    for (;;) {
        auto status = ptrace_util::Wait(tid);
        if (!status.ok())
            return lost(status.error());
        if (ptrace_util::IsExitStatus(*status))
            return lost(ESRCH);
        if (WIFSTOPPED(*status) && WSTOPSIG(*status) == SIGTRAP && (*status >> 16) == 0) {
            Registers out{};
            if (auto r = ptrace_util::GetRegs(tid, out); !r.ok())
                return lost(r.error());
            return out.rax;
        }
        // The stub's own code faulted: it is broken beyond repair (and would fault again).
        if (siginfo_t info{}; (*status >> 16) == 0 && ptrace_util::GetSiginfo(tid, info).ok() &&
            info.si_code > 0 && WSTOPSIG(*status) != SIGCHLD) {
            log::warn("ptrace: stub {} faulted (signal {}, code {}, addr {})", m_pid, info.si_signo,
                      info.si_code, info.si_addr);
            ::kill(m_pid, SIGKILL);
            return lost(EFAULT);
        }
        // A signal or group stop before the syscall ran: suppress it and go on.
        if (auto r = ptrace_util::Resume(PTRACE_CONT, tid, 0); !r.ok())
            return lost(r.error());
    }
}

void StubProcess::KillAndReap() {
    if (m_pid <= 0)
        return;
    ::kill(m_pid, SIGKILL);
    // The leader's exit can be collected only after every other thread's: the injector's,
    // and those of application threads their contexts left behind (normally none).
    std::set<pid_t> leftovers;
    {
        std::lock_guard lock(m_lock);
        leftovers.swap(m_app_threads);
    }
    if (m_injector > 0)
        leftovers.insert(m_injector);
    for (pid_t tid : leftovers)
        ReapExit(tid);
    ReapExit(m_pid);
    m_dead = true;
}

void StubProcess::ForgetThread(pid_t tid) {
    std::lock_guard lock(m_lock);
    m_app_threads.erase(tid);
}

void StubProcess::Kill() {
    if (!m_killed.exchange(true) && m_pid > 0)
        ::kill(m_pid, SIGKILL);  // not reaped before ~StubProcess, so the pid cannot be reused
}

Result<uint64_t> StubProcess::RunOnThread(std::function<Result<uint64_t>()> work) {
    Request request{std::move(work), std::nullopt};
    std::unique_lock lock(m_lock);
    if (m_quit)
        return Errno(ESRCH);
    m_queue.push_back(&request);
    m_wake.notify_one();
    m_done.wait(lock, [&] { return request.result.has_value(); });
    return *request.result;
}

Result<uint64_t> StubProcess::Syscall(long nr, const std::array<uint64_t, 6>& args) {
    if (m_dead || m_killed)
        return Errno(ESRCH);
    uint64_t rax = TRY(RunOnThread([this, nr, args] {
        return Inject(m_injector, m_injector_regs, stub::SyscallSite(), nr, args);
    }));
    if (static_cast<int64_t>(rax) < 0 && static_cast<int64_t>(rax) >= -4095)
        return Errno(static_cast<int>(-static_cast<int64_t>(rax)));
    return rax;
}

Result<pid_t> StubProcess::CloneThread() {
    if (m_dead || m_killed)
        return Errno(ESRCH);
    uint64_t rax = TRY(RunOnThread([this] {
        return Inject(m_injector, m_injector_regs, stub::CloneSite(), SYS_clone,
                      {kThreadCloneFlags, 0, 0, 0, 0, 0});
    }));
    if (static_cast<int64_t>(rax) <= 0)
        return Errno(static_cast<int64_t>(rax) < 0 ? static_cast<int>(-static_cast<int64_t>(rax)) : EIO);
    std::lock_guard lock(m_lock);
    m_app_threads.insert(static_cast<pid_t>(rax));
    return static_cast<pid_t>(rax);
}

}  // namespace moat::platform
