#include "platform/systrap/stub_process.h"

#include "platform/base/log.h"
#include "platform/systrap/handoff.h"
#include "platform/systrap/seccomp_filter.h"
#include "platform/systrap/stub_monitor.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace moat::platform::systrap {

namespace {

constexpr uint64_t kHelperSpinNs = 20000;
constexpr uint64_t kThreadCloneFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                                       CLONE_SYSVSEM | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;

// struct sock_fprog as the stub sees it: the filter pointer is a stub address.
struct StubFprog {
    uint16_t len;
    uint16_t pad[3];
    uint64_t filter;
};

// Writes `prog` at `offset` of the request page and its sock_fprog at `fprog_offset`.
size_t PlaceFilter(uint8_t* request, size_t offset, size_t fprog_offset, const std::vector<sock_filter>& prog) {
    std::memcpy(request + offset, prog.data(), prog.size() * sizeof(sock_filter));
    StubFprog fprog{static_cast<uint16_t>(prog.size()), {}, kSharedBase + offset};
    std::memcpy(request + fprog_offset, &fprog, sizeof(fprog));
    return offset + prog.size() * sizeof(sock_filter);
}

// The kernel's struct sigaction for rt_sigaction.
constexpr uint64_t kSaRestorer = 0x04000000;  // SA_RESTORER, not exported by glibc

struct KernelSigaction {
    uint64_t handler, flags, restorer, mask;
};

}  // namespace

Result<std::shared_ptr<SystrapStub>> SystrapStub::CreateZygote(StubMonitor& monitor,
                                                                std::shared_ptr<SharedRegionPool> pool,
                                                                int memory_fd) {
    std::shared_ptr<SystrapStub> stub(new SystrapStub(std::move(pool)));
    stub->m_memory_fd = memory_fd;
    TRY(stub->TakeWindow());
    if (stub->m_window.offset != 0)
        return Errno(EINVAL);  // the zygote maps its window at offset 0 (stub.S)
    TRY(monitor.Launch(stub));
    TRY(stub->WaitReady());
    return stub;
}

Result<std::shared_ptr<SystrapStub>> SystrapStub::Create(StubMonitor& monitor, SystrapStub& zygote) {
    std::shared_ptr<SystrapStub> stub(new SystrapStub(zygote.m_pool));
    TRY(stub->TakeWindow());
    // stub.S's .Lnew_stub: r8 = our pid (the new stub checks it is its parent's), r9 = its window.
    uint64_t pid = TRY(zygote.Syscall(SYS_clone, {CLONE_PARENT | SIGCHLD, 0, 0, 0,
                                                  static_cast<uint64_t>(::getpid()), stub->m_window.offset}));
    // A child of ours that nobody reaps yet: the pid cannot be reused under us.
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0)));
    if (!pidfd) {
        Error err = HostErrno();
        ::kill(static_cast<pid_t>(pid), SIGKILL);
        ::waitpid(static_cast<pid_t>(pid), nullptr, __WALL);
        return err;
    }
    stub->SetProcess(static_cast<pid_t>(pid), std::move(pidfd));
    TRY(monitor.Watch(stub));
    TRY(stub->WaitReady());
    return stub;
}

Result<void> SystrapStub::WaitReady() {
    // The stub's helper says ready (or MarkDead sets ready to 2).
    ReplyPage& reply = Reply();
    SpinThenWait(reply.ready, nullptr, 0, [](uint32_t v) { return v != 0; });
    if (dead() || reply.ready.load() != 1) {
        log::warn("systrap: stub {} died during start-up", m_pid);
        return Errno(ECHILD);
    }
    log::debug("systrap: stub {} ready", m_pid);
    return {};
}

SystrapStub::~SystrapStub() {
    if (m_has_window)
        m_pool->Release(m_window, static_cast<uint32_t>(m_slots.size()));
}

Result<void> SystrapStub::TakeWindow() {
    m_window = TRY(m_pool->Acquire());
    m_has_window = true;
    uint8_t* request = m_window.bytes + SYSTRAP_REQUEST_OFFSET;
    // A reused window still holds its last stub's words: the new helper starts at sequence 0.
    std::memset(request, 0, kPageSize);
    std::memset(m_window.bytes + SYSTRAP_REPLY_OFFSET, 0, sizeof(ReplyPage));
    size_t end = PlaceFilter(request, SYSTRAP_REQ_FILTERS, SYSTRAP_REQ_BASE_PROG, StubFilter());
    end = PlaceFilter(request, end, SYSTRAP_REQ_THREAD_PROG, ThreadFilter());
    if (end > kPageSize)
        return Errno(E2BIG);
    static_assert(SYSTRAP_REQ_FILTERS % 8 == 0);
    if (static_cast<uint64_t>(moat_systrap_end - moat_systrap_start) > kCodeSize)
        return Errno(E2BIG);
    return {};
}

void SystrapStub::SetProcess(pid_t pid, UniqueFd pidfd) {
    m_pid = pid;
    m_pidfd = std::move(pidfd);
}

// The forked child. The sentry is multi-threaded, so only raw system calls from here on:
// another thread may have held any libc lock at the moment of the fork.
void SystrapStub::ChildMain() {
    auto die = [](int code) {
        ::syscall(SYS_exit_group, code);
        __builtin_unreachable();
    };
    if (::syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
        die(120);
    // glibc's rseq area is in the TLS the stub is about to unmap (see platform/ptrace).
    if (__rseq_size > 0) {
        void* area = static_cast<char*>(__builtin_thread_pointer()) + __rseq_offset;
        if (::syscall(SYS_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0 &&
            ::syscall(SYS_rseq, area, __rseq_size, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0)
            die(123);
    }
    // The helper blocks every signal (process-directed ones go to application threads);
    // every catchable signal runs the stub's handler on the thread's altstack.
    uint64_t all = ~uint64_t{0};
    ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, nullptr, sizeof(all));
    KernelSigaction action{CodeAddress(moat_systrap_handler), SA_SIGINFO | SA_ONSTACK | kSaRestorer,
                           CodeAddress(moat_systrap_restorer), all};
    for (int sig = 1; sig <= 64; ++sig) {
        if (sig != SIGKILL && sig != SIGSTOP &&
            ::syscall(SYS_rt_sigaction, sig, &action, nullptr, sizeof(uint64_t)) != 0)
            die(121);
    }
    if (::syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        die(122);
    // The memory file becomes fd 3, the shared file fds 4 (closed once our window is mapped)
    // and 5 (kept, for the stubs we fork), nothing else stays open.
    long memory = ::syscall(SYS_fcntl, m_memory_fd, F_DUPFD, 16);
    long shared = ::syscall(SYS_fcntl, m_pool->fd(), F_DUPFD, 16);
    if (memory < 0 || shared < 0 || ::syscall(SYS_dup2, memory, kMemoryFd) < 0 ||
        ::syscall(SYS_dup2, shared, kSharedFd) < 0 || ::syscall(SYS_dup2, shared, kZygoteFd) < 0)
        die(124);
    ::syscall(SYS_close_range, 0, kMemoryFd - 1, 0);
    ::syscall(SYS_close_range, kZygoteFd + 1, ~0U, 0);
    moat_systrap_enter(kCodeBase, kSharedBase, kSharedSize);
}

Result<uint64_t> SystrapStub::Syscall(long nr, const std::array<uint64_t, 6>& args) {
    std::lock_guard lock(m_request_lock);
    if (dead() || m_killed.load())
        return Errno(ESRCH);
    RequestPage& request = Request();
    ReplyPage& reply = Reply();
    request.nr = static_cast<uint64_t>(nr);
    for (size_t i = 0; i < args.size(); ++i)
        request.args[i] = args[i];
    if (++m_seq == kDeadSeq || m_seq == 0)
        m_seq = 1;
    uint32_t seq = m_seq;
    request.seq.store(seq, std::memory_order_seq_cst);
    FutexWake(request.seq);
    SpinThenWait(reply.done, nullptr, kHelperSpinNs, [seq](uint32_t v) { return v == seq || v == kDeadSeq; });
    if (reply.done.load(std::memory_order_acquire) != seq)
        return Errno(ESRCH);
    int64_t rax = reply.result;
    if (rax < 0 && rax >= -4095)
        return Errno(static_cast<int>(-rax));
    return static_cast<uint64_t>(rax);
}

Result<uint32_t> SystrapStub::AllocSlot() {
    std::lock_guard lock(m_slot_lock);
    if (dead())
        return Errno(ESRCH);
    uint32_t index = 0;
    for (; index < m_slots.size(); ++index) {
        if (m_slots[index] == SlotUse::Free)
            break;
        if (m_slots[index] == SlotUse::Exiting && Slot(index).tid.load(std::memory_order_acquire) == 0)
            break;  // its thread is gone: the kernel cleared the tid word at exit
    }
    if (index >= kMaxSlots)
        return Errno(EAGAIN);
    if (index == m_slots.size())
        m_slots.push_back(SlotUse::Used);
    else
        m_slots[index] = SlotUse::Used;
    std::memset(SlotBytes(index), 0, sizeof(SlotHeader));
    SlotHeader& slot = Slot(index);
    slot.altstack_sp = SlotAddress(index) + SYSTRAP_SLOT_ALTSTACK;
    slot.altstack_flags = 0;
    slot.altstack_size = kSlotSize - SYSTRAP_SLOT_ALTSTACK;
    slot.self = SlotAddress(index);
    return index;
}

void SystrapStub::FreeSlot(uint32_t index) {
    std::lock_guard lock(m_slot_lock);
    if (index < m_slots.size())
        m_slots[index] = SlotUse::Free;
}

void SystrapStub::RetireSlot(uint32_t index) {
    std::lock_guard lock(m_slot_lock);
    if (index < m_slots.size())
        m_slots[index] = SlotUse::Exiting;
}

Result<pid_t> SystrapStub::CloneThread(uint32_t slot) {
    uint64_t base = SlotAddress(slot);
    uint64_t tid = TRY(Syscall(SYS_clone, {kThreadCloneFlags, base + SYSTRAP_SLOT_START_STACK, 0,
                                           base + SYSTRAP_SLOT_TID, 0, 0}));
    if (tid == 0)
        return Errno(EIO);
    return static_cast<pid_t>(tid);
}

void SystrapStub::Kill() {
    if (!m_killed.exchange(true) && m_pidfd)
        ::syscall(SYS_pidfd_send_signal, m_pidfd.get(), SIGKILL, nullptr, 0);
}

void SystrapStub::MarkDead() {
    std::lock_guard lock(m_slot_lock);
    m_dead.store(true, std::memory_order_release);
    ReplyPage& reply = Reply();
    reply.ready.store(2);
    FutexWake(reply.ready);
    reply.done.store(kDeadSeq);
    FutexWake(reply.done);
    for (uint32_t i = 0; i < m_slots.size(); ++i) {
        if (m_slots[i] == SlotUse::Free)
            continue;
        Slot(i).state.store(kStateDead);
        FutexWake(Slot(i).state);
        Slot(i).tid.store(0);
        FutexWake(Slot(i).tid);
    }
}

}  // namespace moat::platform::systrap
