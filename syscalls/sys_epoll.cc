// epoll(7): epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait, epoll_pwait2.
// The interest and ready lists are fs::EpollFile's; this file checks arguments in Linux's
// order and moves struct epoll_event (packed, 12 bytes on x86-64) in and out.

#include "fs/events/epoll.h"
#include "fs/fd_table.h"
#include "fs/task_fs.h"
#include "sentry/kernel/signals.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <sys/epoll.h>
#include <time.h>

#include <climits>

namespace moat::syscalls {

namespace {

struct __attribute__((packed)) UserEpollEvent {
    uint32_t events;
    uint64_t data;
};
static_assert(sizeof(UserEpollEvent) == 12);

constexpr uint64_t kSigsetSize = 8;
constexpr int kMaxEvents = INT_MAX / static_cast<int>(sizeof(UserEpollEvent));
// The top of the user address space: access_ok's limit.
constexpr uint64_t kUserTop = 0x7ffffffff000ull;
// Flags EPOLLEXCLUSIVE may be combined with (Linux's EPOLLEXCLUSIVE_OK_BITS).
constexpr uint32_t kExclusiveOkBits = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;

SyscallResult CreateEpoll(kernel::Task& t, int flags) {
    if (flags & ~EPOLL_CLOEXEC)
        return Error(EINVAL);
    auto file = std::make_shared<fs::EpollFile>();
    return TRY(t.fd_table().Install(std::move(file), flags & EPOLL_CLOEXEC, 0, fs::NofileLimit(t)));
}

Result<std::shared_ptr<fs::EpollFile>> GetEpoll(kernel::Task& t, int epfd) {
    auto file = TRY(fs::GetFile(t, epfd));
    auto ep = std::dynamic_pointer_cast<fs::EpollFile>(file);
    if (!ep)
        return Error(EINVAL);
    return ep;
}

// do_epoll_wait: ERESTARTSYS from the wait becomes EINTR (epoll_wait is never restarted).
SyscallResult DoWait(kernel::Task& t, int epfd, mm::UserAddr events, int maxevents, fs::Deadline deadline) {
    if (maxevents <= 0 || maxevents > kMaxEvents)
        return Error(EINVAL);
    uint64_t bytes = static_cast<uint64_t>(maxevents) * sizeof(UserEpollEvent);
    if (events.get() > kUserTop || bytes > kUserTop - events.get())
        return Error(EFAULT);
    auto ep = TRY(GetEpoll(t, epfd));
    auto ready = ep->Wait(t, static_cast<size_t>(maxevents), deadline);
    if (!ready.ok())
        return Error(ready.error() == ERESTARTSYS ? EINTR : ready.error());
    uint64_t n = 0;
    for (const auto& ev : *ready) {
        UserEpollEvent out{ev.events, ev.data};
        auto at = TRY(events.offset(n * sizeof(UserEpollEvent)));
        if (!t.mm().CopyOutObject(at, out).ok())
            return n ? Result<uint64_t>(n) : Error(EFAULT);
        ++n;
    }
    return n;
}

// epoll_pwait/epoll_pwait2: the temporary mask stays in force for the handler of the signal
// that interrupted the wait (restored after its delivery), else it is restored now.
SyscallResult WaitWithSigmask(kernel::Task& t, const SyscallArgs& a, fs::Deadline deadline) {
    mm::UserAddr set = arg_addr(a, 4);
    if (!set.is_null()) {
        if (a[5] != kSigsetSize)
            return Error(EINVAL);
        uint64_t mask = TRY(t.mm().CopyInObject<uint64_t>(set));
        t.saved_signal_mask = t.signal_mask();
        t.set_signal_mask(mask & ~kernel::kUnblockableSignals);
    }
    auto ret = DoWait(t, arg_int(a, 0), arg_addr(a, 1), arg_int(a, 2), deadline);
    bool interrupted = !ret.ok() && ret.error() == EINTR;
    if (!interrupted && t.saved_signal_mask) {
        t.set_signal_mask(*t.saved_signal_mask);
        t.saved_signal_mask.reset();
    }
    return ret;
}

fs::Deadline DeadlineFromMs(int timeout_ms) {
    return timeout_ms == 0 ? fs::Deadline(std::chrono::steady_clock::now()) : fs::DeadlineAfterMs(timeout_ms);
}

}  // namespace

// Implements Linux epoll_create(2): `size` only has to be positive.
SyscallResult sys_epoll_create(kernel::Task& t, const SyscallArgs& a) {
    if (arg_int(a, 0) <= 0)
        return Error(EINVAL);
    return CreateEpoll(t, 0);
}

// Implements Linux epoll_create1(2).
SyscallResult sys_epoll_create1(kernel::Task& t, const SyscallArgs& a) { return CreateEpoll(t, arg_int(a, 0)); }

// Implements Linux epoll_ctl(2), checking in do_epoll_ctl's order. EPOLLWAKEUP is dropped
// (it needs CAP_BLOCK_SUSPEND, and there is no suspend to block).
SyscallResult sys_epoll_ctl(kernel::Task& t, const SyscallArgs& a) {
    int epfd = arg_int(a, 0);
    int op = arg_int(a, 1);
    int fd = arg_int(a, 2);
    fs::EpollFile::Event ev;
    if (op != EPOLL_CTL_DEL) {
        auto in = TRY(t.mm().CopyInObject<UserEpollEvent>(arg_addr(a, 3)));
        ev = {in.events & ~static_cast<uint32_t>(EPOLLWAKEUP), in.data};
    }
    auto epfile = TRY(fs::GetFile(t, epfd));
    auto target = TRY(fs::GetFile(t, fd));
    // Files that cannot tell readiness changes (regular files, directories): EPERM.
    if (!target->event_queue())
        return Error(EPERM);
    auto ep = std::dynamic_pointer_cast<fs::EpollFile>(epfile);
    if (!ep || epfile == target)
        return Error(EINVAL);
    auto target_ep = std::dynamic_pointer_cast<fs::EpollFile>(target);
    if (op != EPOLL_CTL_DEL && (ev.events & EPOLLEXCLUSIVE)) {
        if (op == EPOLL_CTL_MOD)
            return Error(EINVAL);
        if (op == EPOLL_CTL_ADD && (target_ep || (ev.events & ~kExclusiveOkBits)))
            return Error(EINVAL);
    }
    switch (op) {
    case EPOLL_CTL_ADD:
        if (target_ep && target_ep->WouldLoop(ep.get(), fs::EpollFile::kMaxNests))
            return Error(ELOOP);
        TRY(ep->Add(target, fd, ev));
        return 0;
    case EPOLL_CTL_MOD:
        TRY(ep->Modify(target, fd, ev));
        return 0;
    case EPOLL_CTL_DEL:
        TRY(ep->Remove(target, fd));
        return 0;
    default:
        return Error(EINVAL);
    }
}

// Implements Linux epoll_wait(2): a negative timeout waits for ever.
SyscallResult sys_epoll_wait(kernel::Task& t, const SyscallArgs& a) {
    return DoWait(t, arg_int(a, 0), arg_addr(a, 1), arg_int(a, 2), DeadlineFromMs(arg_int(a, 3)));
}

// Implements Linux epoll_pwait(2).
SyscallResult sys_epoll_pwait(kernel::Task& t, const SyscallArgs& a) {
    return WaitWithSigmask(t, a, DeadlineFromMs(arg_int(a, 3)));
}

// Implements Linux epoll_pwait2(2): a timespec timeout (NULL waits for ever).
SyscallResult sys_epoll_pwait2(kernel::Task& t, const SyscallArgs& a) {
    fs::Deadline deadline;
    if (a[3]) {
        auto ts = TRY(t.mm().CopyInObject<struct timespec>(arg_addr(a, 3)));
        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
            return Error(EINVAL);
        deadline = ts.tv_sec == 0 && ts.tv_nsec == 0 ? fs::Deadline(std::chrono::steady_clock::now())
                                                     : fs::DeadlineAfter(ts.tv_sec, ts.tv_nsec);
    }
    return WaitWithSigmask(t, a, deadline);
}

}  // namespace moat::syscalls
