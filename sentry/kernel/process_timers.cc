#include "sentry/kernel/process_timers.h"

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/signals.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"

#include <algorithm>
#include <atomic>
#include <climits>

namespace moat::kernel {

namespace {

constexpr int64_t kTickNs = 4'000'000;

int SaturatingOverrun(int64_t a, uint64_t b) {
    // DELAYTIMER_MAX is INT_MAX: the count stops there.
    uint64_t sum = static_cast<uint64_t>(std::max<int64_t>(a, 0)) + std::min<uint64_t>(b, INT_MAX);
    return static_cast<int>(std::min<uint64_t>(sum, INT_MAX));
}

}  // namespace

// One POSIX timer: its IntervalTimer and what an expiry sends.
class PosixTimer final : public SignalSource, public std::enable_shared_from_this<PosixTimer> {
public:
    PosixTimer(int id, TimerEvent event, std::weak_ptr<ThreadGroup> group)
        : m_id(id), m_event(std::move(event)), m_group(std::move(group)) {}

    void Start(TimerQueue& queue, TimerClock clock) {
        m_timer = IntervalTimer::Create(
            queue, std::move(clock),
            [weak = weak_from_this()](uint64_t count) {
                if (auto self = weak.lock())
                    self->Expire(count);
            },
            m_event.notify != SIGEV_NONE);
    }
    IntervalTimer& timer() { return *m_timer; }
    int overrun() const { return m_overrun_last.load(); }

    void Dequeued(siginfo_t& info) override { m_overrun_last.store(info.si_overrun); }

private:
    void Expire(uint64_t count) {
        auto group = m_group.lock();
        if (!group || group->exiting())
            return;
        std::shared_ptr<Task> thread;
        if (m_event.notify == SIGEV_THREAD_ID) {
            thread = m_event.thread.lock();
            auto tasks = group->tasks();
            if (!thread || std::find(tasks.begin(), tasks.end(), thread.get()) == tasks.end())
                return;  // the thread is gone: Linux sends nothing either
        }
        {
            std::lock_guard lock(group->signal_lock());
            PendingSignals& queue = thread ? thread->pending_signals() : group->shared_pending();
            if (siginfo_t* queued = queue.FindQueued(this)) {
                queued->si_overrun = SaturatingOverrun(queued->si_overrun, count);
                return;
            }
        }
        siginfo_t info = MakeSigInfo(m_event.signo, SI_TIMER);
        info.si_timerid = m_id;
        info.si_overrun = SaturatingOverrun(0, count - 1);
        info.si_value.sival_ptr = reinterpret_cast<void*>(m_event.value);
        if (thread)
            (void)SendSignal(*thread, info, shared_from_this());
        else
            (void)SendGroupSignal(*group, info, shared_from_this());
    }

    const int m_id;
    const TimerEvent m_event;
    const std::weak_ptr<ThreadGroup> m_group;
    std::shared_ptr<IntervalTimer> m_timer;  // set once by Start
    std::atomic<int> m_overrun_last{0};
};

ProcessTimers::~ProcessTimers() { DeleteAll(); }

namespace {

struct ItimerKind {
    int signo;
    bool cpu;
    CpuClockKind kind;
};

ItimerKind ItimerOf(int which) {
    switch (which) {
    case ITIMER_VIRTUAL:
        return {SIGVTALRM, true, CpuClockKind::Virt};
    case ITIMER_PROF:
        return {SIGPROF, true, CpuClockKind::Prof};
    default:
        return {SIGALRM, false, CpuClockKind::Sched};
    }
}

}  // namespace

ProcessTimers::Setting ProcessTimers::SetItimer(Kernel& kernel, const std::shared_ptr<ThreadGroup>& group, int which,
                                                Setting setting) {
    std::lock_guard lock(m_lock);
    auto& timer = m_itimers.at(static_cast<size_t>(which));
    if (!timer) {
        if (setting.value_ns == 0)
            return Setting{};  // disarming a timer that never was
        ItimerKind k = ItimerOf(which);
        // ITIMER_REAL counts on CLOCK_MONOTONIC (so does Linux's hrtimer); the others on the
        // process's CPU time. Each sends its signal to the process.
        TimerClock clock = k.cpu ? TimerClock::ProcessCpu(group, k.kind)
                                 : TimerClock::Wall(kernel.timekeeper(), CLOCK_MONOTONIC);
        timer = IntervalTimer::Create(kernel.timer_queue(), std::move(clock),
                                      [weak = std::weak_ptr<ThreadGroup>(group), signo = k.signo](uint64_t) {
                                          auto tg = weak.lock();
                                          if (tg && !tg->exiting())
                                              (void)SendGroupSignal(*tg, MakeSigInfo(signo, SI_KERNEL));
                                      });
    }
    // A disarmed itimer keeps no interval (Linux's do_setitimer).
    if (setting.value_ns == 0)
        setting.interval_ns = 0;
    // Linux's set_cpu_itimer adds a tick to a CPU itimer's first expiry (HZ=250, as Debian's).
    if (which != ITIMER_REAL && setting.value_ns > 0)
        setting.value_ns = SaturatingAdd(setting.value_ns, kTickNs);
    return timer->Set(setting);
}

ProcessTimers::Setting ProcessTimers::GetItimer(int which) {
    std::shared_ptr<IntervalTimer> timer;
    {
        std::lock_guard lock(m_lock);
        timer = m_itimers.at(static_cast<size_t>(which));
    }
    return timer ? timer->Get() : Setting{};
}

Result<int> ProcessTimers::CreateTimer(Kernel& kernel, const std::shared_ptr<ThreadGroup>& group, TimerClock clock,
                                       std::optional<TimerEvent> event, size_t limit) {
    std::lock_guard lock(m_lock);
    if (m_posix.size() >= std::min(limit, kMaxPosixTimers))
        return Error(EAGAIN);
    // Ids count up from 0 per process and wrap at INT_MAX, skipping ids in use.
    while (m_posix.count(m_next_id))
        m_next_id = m_next_id == INT_MAX ? 0 : m_next_id + 1;
    int id = m_next_id;
    m_next_id = m_next_id == INT_MAX ? 0 : m_next_id + 1;
    if (!event) {
        event = TimerEvent{};
        event->value = static_cast<uint32_t>(id);  // sival_int = the id, the rest zero
    }
    auto timer = std::make_shared<PosixTimer>(id, std::move(*event), group);
    timer->Start(kernel.timer_queue(), std::move(clock));
    m_posix.emplace(id, std::move(timer));
    return id;
}

Result<std::shared_ptr<PosixTimer>> ProcessTimers::Find(int id) {
    std::lock_guard lock(m_lock);
    auto it = m_posix.find(id);
    if (it == m_posix.end())
        return Error(EINVAL);
    return it->second;
}

Result<ProcessTimers::Setting> ProcessTimers::SetTimer(int id, Setting setting, bool absolute) {
    auto timer = TRY(Find(id));
    return timer->timer().Set(setting, absolute);
}

Result<ProcessTimers::Setting> ProcessTimers::GetTimer(int id) {
    auto timer = TRY(Find(id));
    return timer->timer().Get();
}

Result<int> ProcessTimers::TimerOverrun(int id) {
    auto timer = TRY(Find(id));
    return timer->overrun();
}

Result<void> ProcessTimers::DeleteTimer(int id) {
    std::shared_ptr<PosixTimer> timer;
    {
        std::lock_guard lock(m_lock);
        auto it = m_posix.find(id);
        if (it == m_posix.end())
            return Error(EINVAL);
        timer = std::move(it->second);
        m_posix.erase(it);
    }
    timer->timer().Disarm();
    return {};
}

void ProcessTimers::DeletePosixTimers() {
    std::map<int, std::shared_ptr<PosixTimer>> gone;
    {
        std::lock_guard lock(m_lock);
        gone.swap(m_posix);
    }
    for (auto& [id, timer] : gone)
        timer->timer().Disarm();
}

void ProcessTimers::DeleteAll() {
    DeletePosixTimers();
    std::array<std::shared_ptr<IntervalTimer>, 3> itimers;
    {
        std::lock_guard lock(m_lock);
        itimers.swap(m_itimers);
    }
    for (auto& timer : itimers)
        if (timer)
            timer->Disarm();
}

}  // namespace moat::kernel
