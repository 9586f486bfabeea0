#include "sentry/kernel/signals.h"

#include "platform/base/log.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"

#include <poll.h>
#include <signal.h>

#include <cstring>

namespace moat::kernel {

DefaultAction DefaultActionOf(int signo) {
    switch (signo) {
    case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE:
    case SIGSEGV: case SIGXCPU: case SIGXFSZ: case SIGSYS:
        return DefaultAction::CoreDump;
    case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
        return DefaultAction::Stop;
    case SIGCONT:
        return DefaultAction::Continue;
    case SIGCHLD: case SIGURG: case SIGWINCH:
        return DefaultAction::Ignore;
    default:
        return DefaultAction::Terminate;
    }
}

void PendingSignals::Enqueue(const siginfo_t& info, bool queue_ok, std::shared_ptr<SignalSource> source) {
    int signo = info.si_signo;
    if (signo < kSigRtMin && has(signo))
        return;  // standard signals coalesce
    m_set |= SigBit(signo);
    if (queue_ok)
        m_queue.push_back(Entry{info, std::move(source)});
}

siginfo_t* PendingSignals::FindQueued(const SignalSource* source) {
    for (Entry& e : m_queue)
        if (e.source.get() == source)
            return &e.info;
    return nullptr;
}

std::optional<siginfo_t> PendingSignals::Dequeue(uint64_t allowed) {
    uint64_t ready = m_set & allowed;
    if (!ready)
        return std::nullopt;
    uint64_t sync = ready & kSynchronousSignals;
    int signo = __builtin_ctzll(sync ? sync : ready) + 1;
    siginfo_t info{};
    bool found = false, more = false;
    for (auto it = m_queue.begin(); it != m_queue.end(); ++it) {
        if (it->info.si_signo != signo)
            continue;
        info = it->info;
        found = true;
        if (it->source)
            it->source->Dequeued(info);
        it = m_queue.erase(it);
        for (; it != m_queue.end(); ++it)
            more |= it->info.si_signo == signo;
        break;
    }
    if (!found) {
        // The siginfo was not queued (over the limit): what Linux reports then.
        info = MakeSigInfo(signo, SI_USER);
    }
    if (!more)
        m_set &= ~SigBit(signo);
    return info;
}

void PendingSignals::Discard(uint64_t mask) {
    m_set &= ~mask;
    std::erase_if(m_queue, [&](const Entry& e) { return (SigBit(e.info.si_signo) & mask) != 0; });
}

siginfo_t MakeSigInfo(int signo, int code, pid_t pid, uid_t uid) {
    siginfo_t info;
    std::memset(&info, 0, sizeof(info));
    info.si_signo = signo;
    info.si_code = code;
    info.si_pid = pid;
    info.si_uid = uid;
    return info;
}

namespace {

bool IsIgnoredAction(const KernelSigaction& act, int signo) {
    if (signo == SIGKILL || signo == SIGSTOP)
        return false;
    if (act.handler == reinterpret_cast<uint64_t>(SIG_IGN))
        return true;
    // SIGCONT's default is ignored too once its side effect (resuming the group) is done.
    DefaultAction d = DefaultActionOf(signo);
    return act.handler == reinterpret_cast<uint64_t>(SIG_DFL) && (d == DefaultAction::Ignore || d == DefaultAction::Continue);
}

bool IsFatalByDefault(const KernelSigaction& act, int signo) {
    if (signo == SIGKILL)
        return true;
    if (act.handler != reinterpret_cast<uint64_t>(SIG_DFL))
        return false;
    DefaultAction d = DefaultActionOf(signo);
    return d == DefaultAction::Terminate || d == DefaultAction::CoreDump;
}

void WakeToDeliver(Task& t) {
    t.WakeForSignal();
    t.Interrupt();
}

// Linux's prepare_signal: the side effects of sending, whatever happens to the signal after.
// Returns false when the signal is dropped (ignored). Called with signal_lock held.
bool PrepareSignal(ThreadGroup& tg, int signo, const KernelSigaction& act, uint64_t blocked_by_all,
                   std::vector<Task*>& tasks) {
    if (signo == SIGCONT || signo == SIGKILL) {
        tg.shared_pending().Discard(kStopSignals);
        for (Task* t : tasks)
            t->pending_signals().Discard(kStopSignals);
        auto& st = tg.stop_state();
        if (st.stopped) {
            st.stopped = false;
            st.continue_report = true;
            st.stop_report = false;
            tg.stop_queue().Notify();
        }
    } else if (SigBit(signo) & kStopSignals) {
        tg.shared_pending().Discard(SigBit(SIGCONT));
        for (Task* t : tasks)
            t->pending_signals().Discard(SigBit(SIGCONT));
    }
    // An ignored signal is dropped unless blocked (the app may change the action meanwhile).
    return !(IsIgnoredAction(act, signo) && !(blocked_by_all & SigBit(signo)));
}

bool QueueAllowed(rlim_t cap, size_t queued) {
    return cap == RLIM_INFINITY || queued < cap;
}

size_t QueuedInGroup(ThreadGroup& tg, const std::vector<Task*>& tasks) {
    size_t n = tg.shared_pending().queued();
    for (Task* t : tasks)
        n += t->pending_signals().queued();
    return n;
}

// Linux's complete_signal fatal path: a default-fatal signal nobody blocks ends the group now,
// without waiting for a thread to dequeue it (so it also ends stopped or blocked tasks).
void EndGroupBySignal(ThreadGroup& tg, int signo, const std::vector<Task*>& tasks) {
    log::debug("[{}] killed by signal {}", tg.pid(), signo);
    tg.BeginGroupExit(signo);
    for (Task* t : tasks)
        WakeToDeliver(*t);
    tg.stop_queue().Notify();
}

Result<void> Send(ThreadGroup& tg, Task* target, const siginfo_t& info, std::shared_ptr<SignalSource> source) {
    int signo = info.si_signo;
    if (signo < 1 || signo > kNumSignals)
        return Error(EINVAL);
    if (tg.exiting())
        return {};
    KernelSigaction act = tg.sigaction(signo);  // takes m_lock: before signal_lock
    std::vector<Task*> tasks = tg.tasks();
    rlim_t cap = tg.rlimit(RLIMIT_SIGPENDING).rlim_cur;
    bool queue_ok = true;
    {
        std::lock_guard lock(tg.signal_lock());
        uint64_t blocked = target ? target->signal_mask() : ~0ull;
        if (!target)
            for (Task* t : tasks)
                blocked &= t->signal_mask();
        if (!PrepareSignal(tg, signo, act, blocked, tasks))
            return {};
        queue_ok = source || QueueAllowed(cap, QueuedInGroup(tg, tasks));
        if (!queue_ok && signo >= kSigRtMin && info.si_code != SI_USER)
            return Error(EAGAIN);
        bool fatal = IsFatalByDefault(act, signo) && !(blocked & SigBit(signo));
        if (fatal) {
            // fall through to EndGroupBySignal outside the lock
        } else {
            (target ? target->pending_signals() : tg.shared_pending()).Enqueue(info, queue_ok, std::move(source));
            tg.signalfd_events()->Notify(POLLIN);
        }
        if (!fatal) {
            // Choose who takes it: the target, else the leader or any thread not blocking it.
            Task* wake = nullptr;
            auto takes = [&](Task* t) {
                return !(t->signal_mask() & SigBit(signo)) || (t->sigwait_set.load() & SigBit(signo));
            };
            if (target) {
                if (takes(target))
                    wake = target;
            } else {
                for (Task* t : tasks)
                    if (takes(t) && (!wake || t->tid() == tg.pid()))
                        wake = t;
            }
            if (wake)
                WakeToDeliver(*wake);
            return {};
        }
    }
    EndGroupBySignal(tg, signo, tasks);
    return {};
}

}  // namespace

Result<void> SendSignal(Task& target, const siginfo_t& info, std::shared_ptr<SignalSource> source) {
    return Send(target.thread_group(), &target, info, std::move(source));
}

Result<void> SendGroupSignal(ThreadGroup& target, const siginfo_t& info, std::shared_ptr<SignalSource> source) {
    return Send(target, nullptr, info, std::move(source));
}

void ForceSignal(Task& target, const siginfo_t& info) {
    int signo = info.si_signo;
    ThreadGroup& tg = target.thread_group();
    KernelSigaction act = tg.sigaction(signo);
    bool blocked = target.signal_mask() & SigBit(signo);
    if (blocked || act.handler == reinterpret_cast<uint64_t>(SIG_IGN)) {
        act.handler = reinterpret_cast<uint64_t>(SIG_DFL);
        tg.set_sigaction(signo, act);
        if (blocked)
            target.set_signal_mask(target.signal_mask() & ~SigBit(signo));
    }
    std::lock_guard lock(tg.signal_lock());
    target.pending_signals().Enqueue(info, true);
    tg.signalfd_events()->Notify(POLLIN);
}

void SendSignalToGroup(Task& target, int signo) {
    (void)SendSignal(target, MakeSigInfo(signo, SI_USER, target.pid(), target.creds().ruid));
}

}  // namespace moat::kernel
