#include "fs/events/signalfd.h"

#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"

#include <poll.h>
#include <sys/signalfd.h>

#include <cstring>
#include <optional>

namespace moat::fs {

namespace {

static_assert(sizeof(struct signalfd_siginfo) == 128);

bool IsFaultSignal(int signo) {
    return signo == SIGSEGV || signo == SIGBUS || signo == SIGILL || signo == SIGFPE || signo == SIGTRAP;
}

// Linux's signalfd_copyinfo: the fields of the siginfo layout the signal and code select.
struct signalfd_siginfo ToSignalfdInfo(const siginfo_t& info) {
    struct signalfd_siginfo out;
    std::memset(&out, 0, sizeof(out));
    out.ssi_signo = static_cast<uint32_t>(info.si_signo);
    out.ssi_errno = info.si_errno;
    out.ssi_code = info.si_code;
    if (info.si_code > 0 && IsFaultSignal(info.si_signo)) {
        out.ssi_addr = reinterpret_cast<uint64_t>(info.si_addr);
    } else if (info.si_code > 0 && info.si_signo == SIGCHLD) {
        out.ssi_pid = static_cast<uint32_t>(info.si_pid);
        out.ssi_uid = info.si_uid;
        out.ssi_status = info.si_status;
        out.ssi_utime = static_cast<uint64_t>(info.si_utime);
        out.ssi_stime = static_cast<uint64_t>(info.si_stime);
    } else if (info.si_code > 0 && info.si_signo == SIGPOLL) {
        out.ssi_band = static_cast<uint32_t>(info.si_band);
        out.ssi_fd = info.si_fd;
    } else if (info.si_code == SI_TIMER) {
        out.ssi_tid = static_cast<uint32_t>(info.si_timerid);
        out.ssi_overrun = static_cast<uint32_t>(info.si_overrun);
        out.ssi_int = info.si_value.sival_int;
        out.ssi_ptr = reinterpret_cast<uint64_t>(info.si_value.sival_ptr);
    } else {
        // kill, sigqueue, tgkill and the kernel's own: sender and value.
        out.ssi_pid = static_cast<uint32_t>(info.si_pid);
        out.ssi_uid = info.si_uid;
        out.ssi_int = info.si_value.sival_int;
        out.ssi_ptr = reinterpret_cast<uint64_t>(info.si_value.sival_ptr);
    }
    return out;
}

std::optional<siginfo_t> Dequeue(kernel::Task& task, uint64_t mask) {
    kernel::ThreadGroup& tg = task.thread_group();
    std::lock_guard lock(tg.signal_lock());
    auto info = task.pending_signals().Dequeue(mask);
    return info ? info : tg.shared_pending().Dequeue(mask);
}

}  // namespace

std::shared_ptr<kernel::EventQueue> SignalFdFile::event_queue() {
    kernel::Task* task = kernel::Task::Current();
    return task ? task->thread_group().signalfd_events() : m_events;
}

uint32_t SignalFdFile::Readiness(uint32_t) {
    kernel::Task* task = kernel::Task::Current();
    if (!task)
        return 0;
    kernel::ThreadGroup& tg = task->thread_group();
    std::lock_guard lock(tg.signal_lock());
    uint64_t pending = task->pending_signals().set() | tg.shared_pending().set();
    return pending & mask() ? POLLIN | POLLRDNORM : 0;
}

Result<size_t> SignalFdFile::Read(IoDst& dst) {
    constexpr size_t kRecord = sizeof(struct signalfd_siginfo);
    if (dst.remaining() < kRecord)
        return Error(EINVAL);
    kernel::Task* task = kernel::Task::Current();
    if (!task)
        return Error(EAGAIN);
    size_t done = 0;
    while (dst.remaining() >= kRecord) {
        auto info = Dequeue(*task, mask());
        if (!info) {
            if (done)
                break;  // only the first record is waited for
            if (nonblocking())
                return Error(EAGAIN);
            FileWaiter waiter(*task);
            waiter.Watch(task->thread_group().signalfd_events());
            TRY(waiter.Wait([&] { return Readiness(POLLIN) != 0; }, std::nullopt));
            continue;
        }
        struct signalfd_siginfo out = ToSignalfdInfo(*info);
        auto put = dst.Put(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&out), kRecord));
        if (!put.ok() || *put != kRecord)
            return done ? Result<size_t>(done) : Error(EFAULT);
        done += kRecord;
    }
    return done;
}

}  // namespace moat::fs
