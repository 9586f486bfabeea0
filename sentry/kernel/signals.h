#pragma once
// Signals: pending sets and siginfo queues, sending (kill/tkill/sigqueue, the kernel's own
// SIGPIPE/SIGCHLD), default actions and job-control stops. Delivery to the app — choosing a
// signal at each return to app code, building the rt_sigframe, syscall restart — is
// Task::DeliverSignals (task_signals.cc) with the frame layout in signal_frame.cc.
//
// Locking: every pending set of a thread group (the group's shared one and each task's own)
// and the group's stop state are guarded by ThreadGroup::signal_lock(), a leaf lock taken
// after ThreadGroup::m_lock is released (never while holding it). A task's blocked mask is
// an atomic written only by its own thread.
//
// API for the rest of the kernel:
//   SendSignal(task, info)          thread-directed (tkill, SIGPIPE, a fault)
//   SendGroupSignal(tg, info)       process-directed (kill, SIGCHLD to the parent)
//   MakeSigInfo(signo, code, ...)   fills a siginfo_t

#include "sentry/kernel/forward.h"
#include "platform/base/result.h"

#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

namespace moat::kernel {

enum class DefaultAction { Terminate, CoreDump, Stop, Continue, Ignore };

DefaultAction DefaultActionOf(int signo);

constexpr uint64_t SigBit(int signo) { return 1ull << (signo - 1); }
inline constexpr uint64_t kUnblockableSignals = SigBit(SIGKILL) | SigBit(SIGSTOP);
inline constexpr uint64_t kStopSignals = SigBit(SIGSTOP) | SigBit(SIGTSTP) | SigBit(SIGTTIN) | SigBit(SIGTTOU);
// Faults the CPU raises: dequeued before anything else, as Linux's SYNCHRONOUS_MASK.
inline constexpr uint64_t kSynchronousSignals =
    SigBit(SIGSEGV) | SigBit(SIGBUS) | SigBit(SIGILL) | SigBit(SIGTRAP) | SigBit(SIGFPE) | SigBit(SIGSYS);
inline constexpr int kSigRtMin = 32;
inline constexpr uint64_t kSaRestorer = 0x04000000;  // SA_RESTORER (not in glibc's headers)  // the kernel's SIGRTMIN (glibc reserves 32..34)

// A signal set read by other threads (the blocked mask): atomic, yet copyable as a snapshot
// so that clone can copy it like any other field.
class AtomicSigset {
public:
    AtomicSigset() = default;
    AtomicSigset(const AtomicSigset& o) : m_set(o.load()) {}
    AtomicSigset& operator=(const AtomicSigset& o) {
        store(o.load());
        return *this;
    }
    AtomicSigset& operator=(uint64_t v) {
        store(v);
        return *this;
    }
    uint64_t load() const { return m_set.load(); }
    void store(uint64_t v) { m_set.store(v); }

private:
    std::atomic<uint64_t> m_set{0};
};

// The kernel object a queued siginfo comes from, when it needs to know about it (a POSIX
// timer: its expirations while the signal waits are counted in the queued siginfo, and
// timer_getoverrun reports the count of the one last dequeued).
class SignalSource {
public:
    virtual ~SignalSource() = default;
    // Called with the group's signal lock held as `info` leaves the queue for delivery or
    // sigwait; may adjust it. Must not take other locks.
    virtual void Dequeued(siginfo_t& info) = 0;
};

// A pending set: one bit per signal plus the queued siginfos. Standard signals (< 32) keep
// at most one entry and coalesce; real-time signals queue every instance.
class PendingSignals {
public:
    uint64_t set() const { return m_set; }
    bool has(int signo) const { return m_set & SigBit(signo); }
    // Adds `info`. `queue_ok` false means the queued-signal limit is reached: the bit is set
    // but the siginfo is lost (standard signals only; the caller refuses RT ones).
    void Enqueue(const siginfo_t& info, bool queue_ok, std::shared_ptr<SignalSource> source = nullptr);
    // Removes and returns the lowest-numbered signal in `allowed` (synchronous ones first).
    std::optional<siginfo_t> Dequeue(uint64_t allowed);
    // Drops every instance of the signals in `mask`.
    void Discard(uint64_t mask);
    size_t queued() const { return m_queue.size(); }
    // The queued siginfo `source` sent, if it is still waiting (to update it in place).
    siginfo_t* FindQueued(const SignalSource* source);

private:
    struct Entry {
        siginfo_t info;
        std::shared_ptr<SignalSource> source;
    };
    uint64_t m_set = 0;
    std::deque<Entry> m_queue;
};

siginfo_t MakeSigInfo(int signo, int code, pid_t pid = 0, uid_t uid = 0);

// Thread-directed send (tkill/tgkill/rt_tgsigqueueinfo, SIGPIPE). EAGAIN when an RT signal
// cannot be queued. Wakes and interrupts the task if it does not block the signal.
// A `source` (a POSIX timer) preallocated its siginfo, as Linux does: never over the limit.
Result<void> SendSignal(Task& target, const siginfo_t& info, std::shared_ptr<SignalSource> source = nullptr);
// Process-directed send (kill, rt_sigqueueinfo, SIGCHLD): pending on the group, and a thread
// that does not block it is woken to take it.
Result<void> SendGroupSignal(ThreadGroup& target, const siginfo_t& info,
                             std::shared_ptr<SignalSource> source = nullptr);
// A synchronous fault (force_sig_info): a blocked or ignored signal is reset to SIG_DFL and
// unblocked, so the app can neither ignore nor block its own crash.
void ForceSignal(Task& target, const siginfo_t& info);

// Compatibility for existing callers (SIGPIPE): kill(2)-like, from the kernel.
void SendSignalToGroup(Task& target, int signo);

}  // namespace moat::kernel
