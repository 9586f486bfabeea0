// Readiness of many fds at once: poll, ppoll, select, pselect6 (Linux's fs/select.c). The
// waiting itself is fs::PollFiles; this file decodes pollfd arrays and fd_sets, the timeouts
// and their write-back, and ppoll/pselect6's temporary signal mask.

#include "fs/events/poll.h"
#include "fs/fd_table.h"
#include "fs/task_fs.h"
#include "fs/user_io.h"
#include "sentry/kernel/signals.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <poll.h>
#include <sys/time.h>
#include <time.h>

#include <bit>
#include <vector>

namespace moat::syscalls {

namespace {

constexpr uint64_t kSigsetSize = 8;
constexpr uint32_t kPollInSet = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR;
constexpr uint32_t kPollOutSet = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR;
constexpr uint32_t kPollExSet = POLLPRI;

using Clock = std::chrono::steady_clock;

// Linux's poll_select_set_timeout: EINVAL unless sec >= 0 and 0 <= nsec < 1e9. A zero timeout
// means "do not wait" and is never written back.
struct Timeout {
    fs::Deadline deadline;  // none: wait for ever
    bool zero = false;
};

Result<Timeout> MakeTimeout(int64_t sec, int64_t nsec) {
    if (sec < 0 || nsec < 0 || nsec >= 1000000000)
        return Error(EINVAL);
    if (sec == 0 && nsec == 0)
        return Timeout{Clock::now(), true};
    return Timeout{fs::DeadlineAfter(sec, nsec), false};
}

Result<Timeout> CopyInTimespecTimeout(kernel::Task& t, mm::UserAddr addr) {
    if (addr.is_null())
        return Timeout{};
    auto ts = TRY(t.mm().CopyInObject<struct timespec>(addr));
    return MakeTimeout(ts.tv_sec, ts.tv_nsec);
}

// poll_select_finish: writes the time left back to the app's timespec/timeval when a non-zero
// timeout was given. A write that faults leaves the call unrestartable (EINTR).
SyscallResult FinishTimeout(kernel::Task& t, const Timeout& to, mm::UserAddr addr, bool timeval,
                            SyscallResult ret) {
    if (addr.is_null() || !to.deadline || to.zero)
        return ret;
    int64_t ns = fs::TimeLeft(*to.deadline).count();
    Result<void> copied;
    if (timeval) {
        struct timeval tv = {ns / 1000000000, (ns % 1000000000) / 1000};
        copied = t.mm().CopyOutObject(addr, tv);
    } else {
        struct timespec ts = {ns / 1000000000, ns % 1000000000};
        copied = t.mm().CopyOutObject(addr, ts);
    }
    if (!copied.ok() && !ret.ok() && ret.error() == ERESTARTNOHAND)
        return Error(EINTR);
    return ret;
}

// Linux's set_user_sigmask: the mask in force while waiting; the old one is restored when the
// call returns, or — if a signal interrupted it — after that signal's delivery.
Result<void> SwapSigmask(kernel::Task& t, mm::UserAddr set, uint64_t size) {
    if (set.is_null())
        return {};
    if (size != kSigsetSize)
        return Error(EINVAL);
    uint64_t mask = TRY(t.mm().CopyInObject<uint64_t>(set));
    t.saved_signal_mask = t.signal_mask();
    t.set_signal_mask(mask & ~kernel::kUnblockableSignals);
    return {};
}

SyscallResult RestoreSigmaskUnlessInterrupted(kernel::Task& t, SyscallResult ret) {
    bool interrupted = !ret.ok() && ret.error() == ERESTARTNOHAND;
    if (!interrupted && t.saved_signal_mask) {
        t.set_signal_mask(*t.saved_signal_mask);
        t.saved_signal_mask.reset();
    }
    return ret;
}

// ---- poll ----

// do_sys_poll: ERESTARTNOHAND when a signal interrupted it.
SyscallResult DoPoll(kernel::Task& t, mm::UserAddr ufds, uint64_t nfds, const fs::Deadline& deadline) {
    if (nfds > static_cast<uint64_t>(t.thread_group().rlimit(RLIMIT_NOFILE).rlim_cur))
        return Error(EINVAL);
    std::vector<struct pollfd> fds(nfds);
    if (nfds)
        TRY(t.mm().CopyIn(ufds, fds.data(), nfds * sizeof(struct pollfd)));
    std::vector<fs::PollEntry> entries(nfds);
    for (size_t i = 0; i < nfds; ++i) {
        if (fds[i].fd < 0)
            continue;
        auto file = fs::GetFile(t, fds[i].fd);
        if (!file.ok()) {
            entries[i].revents = POLLNVAL;
            continue;
        }
        entries[i].file = file.release_value();
        entries[i].filter = static_cast<uint16_t>(fds[i].events) | POLLERR | POLLHUP;
    }
    auto ready = fs::PollFiles(t, entries, deadline);
    // revents go back even when interrupted, as Linux writes them: under
    // user_write_access_begin, whose access_ok refuses an array outside user space even when
    // there is nothing to write (nfds == 0).
    if (!fs::UserRangeOk(ufds, nfds * sizeof(struct pollfd)))
        return Error(EFAULT);
    for (size_t i = 0; i < nfds; ++i) {
        auto revents = static_cast<short>(entries[i].revents);
        auto at = TRY(ufds.offset(i * sizeof(struct pollfd) + offsetof(struct pollfd, revents)));
        TRY(t.mm().CopyOutObject(at, revents));
    }
    if (!ready.ok())
        return Error(ERESTARTNOHAND);
    return static_cast<uint64_t>(*ready);
}

SyscallResult PollWithRestart(kernel::Task& t, mm::UserAddr ufds, uint64_t nfds, fs::Deadline deadline) {
    auto ret = DoPoll(t, ufds, nfds, deadline);
    if (!ret.ok() && ret.error() == ERESTARTNOHAND) {
        // restart_syscall resumes with the time that was left; a handler makes it EINTR.
        t.restart_block = [ufds, nfds, deadline](kernel::Task& task) -> Result<uint64_t> {
            return PollWithRestart(task, ufds, nfds, deadline);
        };
        return Error(ERESTART_RESTARTBLOCK);
    }
    return ret;
}

// ---- select ----

// Linux truncates select's nfds to the size of the fd table's array, which starts at 64 and
// grows in steps of 128·2^k; fds past it are ignored, not EBADF.
int FdArraySize(kernel::Task& t) {
    auto open = t.fd_table().fds();
    int highest = open.empty() ? 0 : open.back();
    if (highest < 64)
        return 64;
    return static_cast<int>(std::bit_ceil(static_cast<unsigned>(highest / 128 + 1)) * 128);
}

struct FdSets {
    std::vector<uint64_t> in, out, ex;  // empty: the app passed no set
};

Result<std::vector<uint64_t>> CopyInFdSet(kernel::Task& t, mm::UserAddr addr, size_t words) {
    if (addr.is_null())
        return std::vector<uint64_t>{};
    std::vector<uint64_t> set(words);
    TRY(t.mm().CopyIn(addr, set.data(), words * 8));
    return set;
}

bool Bit(const std::vector<uint64_t>& set, int fd) { return !set.empty() && (set[fd / 64] >> (fd % 64)) & 1; }

// core_sys_select, without the timeout write-back.
SyscallResult DoSelect(kernel::Task& t, int n, mm::UserAddr in_addr, mm::UserAddr out_addr, mm::UserAddr ex_addr,
                       const fs::Deadline& deadline) {
    if (n < 0)
        return Error(EINVAL);
    n = std::min(n, FdArraySize(t));
    size_t words = (static_cast<size_t>(n) + 63) / 64;
    FdSets sets;
    sets.in = TRY(CopyInFdSet(t, in_addr, words));
    sets.out = TRY(CopyInFdSet(t, out_addr, words));
    sets.ex = TRY(CopyInFdSet(t, ex_addr, words));
    std::vector<int> fds;
    std::vector<fs::PollEntry> entries;
    for (int fd = 0; fd < n; ++fd) {
        uint32_t filter = (Bit(sets.in, fd) ? kPollInSet : 0) | (Bit(sets.out, fd) ? kPollOutSet : 0) |
                          (Bit(sets.ex, fd) ? kPollExSet : 0);
        if (!filter)
            continue;
        auto file = t.fd_table().Get(fd);
        if (!file.ok())
            return Error(EBADF);
        fds.push_back(fd);
        fs::PollEntry e;
        if (!(*file)->is_path_only())  // an O_PATH fd is never ready
            e.file = file.release_value();
        e.filter = filter;
        entries.push_back(std::move(e));
    }
    auto ready = fs::PollFiles(t, entries, deadline);
    if (!ready.ok())
        return Error(ERESTARTNOHAND);
    // Each set bit counts once: an fd readable and writable counts twice.
    FdSets result{std::vector<uint64_t>(words), std::vector<uint64_t>(words), std::vector<uint64_t>(words)};
    uint64_t count = 0;
    for (size_t i = 0; i < entries.size(); ++i) {
        int fd = fds[i];
        uint64_t bit = 1ull << (fd % 64);
        uint32_t r = entries[i].revents;
        if ((r & kPollInSet) && Bit(sets.in, fd)) {
            result.in[fd / 64] |= bit;
            ++count;
        }
        if ((r & kPollOutSet) && Bit(sets.out, fd)) {
            result.out[fd / 64] |= bit;
            ++count;
        }
        if ((r & kPollExSet) && Bit(sets.ex, fd)) {
            result.ex[fd / 64] |= bit;
            ++count;
        }
    }
    if (words) {
        if (!in_addr.is_null())
            TRY(t.mm().CopyOut(in_addr, result.in.data(), words * 8));
        if (!out_addr.is_null())
            TRY(t.mm().CopyOut(out_addr, result.out.data(), words * 8));
        if (!ex_addr.is_null())
            TRY(t.mm().CopyOut(ex_addr, result.ex.data(), words * 8));
    }
    return count;
}

}  // namespace

// Implements Linux poll(2): a negative timeout waits for ever.
SyscallResult sys_poll(kernel::Task& t, const SyscallArgs& a) {
    int timeout_ms = arg_int(a, 2);
    fs::Deadline deadline = timeout_ms == 0 ? fs::Deadline(Clock::now()) : fs::DeadlineAfterMs(timeout_ms);
    return PollWithRestart(t, arg_addr(a, 0), arg_uint(a, 1), deadline);
}

// Implements Linux ppoll(2).
SyscallResult sys_ppoll(kernel::Task& t, const SyscallArgs& a) {
    mm::UserAddr tsp = arg_addr(a, 2);
    Timeout to = TRY(CopyInTimespecTimeout(t, tsp));
    TRY(SwapSigmask(t, arg_addr(a, 3), a[4]));
    auto ret = RestoreSigmaskUnlessInterrupted(t, DoPoll(t, arg_addr(a, 0), arg_uint(a, 1), to.deadline));
    return FinishTimeout(t, to, tsp, false, ret);
}

// Implements Linux select(2). A timeval's microseconds past a second carry into the seconds.
SyscallResult sys_select(kernel::Task& t, const SyscallArgs& a) {
    mm::UserAddr tvp = arg_addr(a, 4);
    Timeout to;
    if (!tvp.is_null()) {
        auto tv = TRY(t.mm().CopyInObject<struct timeval>(tvp));
        if (tv.tv_sec < 0 || tv.tv_usec < 0)
            return Error(EINVAL);
        to = TRY(MakeTimeout(tv.tv_sec + tv.tv_usec / 1000000, (tv.tv_usec % 1000000) * 1000));
    }
    auto ret = DoSelect(t, arg_int(a, 0), arg_addr(a, 1), arg_addr(a, 2), arg_addr(a, 3), to.deadline);
    return FinishTimeout(t, to, tvp, true, ret);
}

// Implements Linux pselect6(2): the sixth argument points to {const sigset_t*, size_t}.
SyscallResult sys_pselect6(kernel::Task& t, const SyscallArgs& a) {
    mm::UserAddr tsp = arg_addr(a, 4);
    Timeout to = TRY(CopyInTimespecTimeout(t, tsp));
    if (a[5]) {
        struct {
            uint64_t set;
            uint64_t size;
        } pack = TRY(t.mm().CopyInObject<decltype(pack)>(arg_addr(a, 5)));
        TRY(SwapSigmask(t, mm::UserAddr(pack.set), pack.size));
    }
    auto ret = DoSelect(t, arg_int(a, 0), arg_addr(a, 1), arg_addr(a, 2), arg_addr(a, 3), to.deadline);
    ret = RestoreSigmaskUnlessInterrupted(t, ret);
    return FinishTimeout(t, to, tsp, false, ret);
}

}  // namespace moat::syscalls
