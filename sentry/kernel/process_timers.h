#pragma once
// ProcessTimers: a process's timers — setitimer(2)'s ITIMER_REAL, ITIMER_VIRTUAL and
// ITIMER_PROF, and its POSIX timers (timer_create(2) & co.). Each is an IntervalTimer
// (interval_timer.h) on the kernel's TimerQueue.
//
// Lifetime (Linux's): fork starts a process with none; exec deletes the POSIX timers and keeps
// the itimers; the process's end deletes all. Expiry callbacks hold only weak references
// to the process, its threads and the timers.
//
// POSIX timer signals: the siginfo (SI_TIMER, si_timerid, si_value) is preallocated, so it is
// never refused for the queue limit. While it is still queued, further expirations are added
// to its si_overrun instead of queueing another; when it is dequeued, that count becomes what
// timer_getoverrun reports (PosixTimer is the queue entry's SignalSource).
//
// Lock order: ProcessTimers::m_lock → IntervalTimer's lock (interval_timer.h). A timer's
// expiry takes the group's signal lock, with no timer lock held.

#include "platform/base/result.h"
#include "sentry/kernel/forward.h"
#include "sentry/kernel/interval_timer.h"

#include <signal.h>
#include <sys/time.h>
#include <sys/types.h>

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

namespace moat::kernel {

class PosixTimer;

// A validated sigevent (sigev_notify is SIGEV_SIGNAL, SIGEV_NONE or SIGEV_THREAD_ID).
struct TimerEvent {
    int notify = SIGEV_SIGNAL;
    int signo = SIGALRM;
    uint64_t value = 0;             // sigev_value, passed as si_value
    std::weak_ptr<Task> thread;     // SIGEV_THREAD_ID's target
};

class ProcessTimers {
public:
    using Setting = IntervalTimer::Setting;
    // The most POSIX timers a process may have, whatever its RLIMIT_SIGPENDING.
    static constexpr size_t kMaxPosixTimers = 65536;

    ~ProcessTimers();

    // setitimer(2)/getitimer(2); `which` is ITIMER_REAL, ITIMER_VIRTUAL or ITIMER_PROF.
    Setting SetItimer(Kernel& kernel, const std::shared_ptr<ThreadGroup>& group, int which, Setting setting);
    Setting GetItimer(int which);

    // timer_create(2): a new timer on `clock`; returns its id. `event` null: SIGEV_SIGNAL
    // with SIGALRM and the id as si_value. EAGAIN past the process's limit.
    Result<int> CreateTimer(Kernel& kernel, const std::shared_ptr<ThreadGroup>& group, TimerClock clock,
                            std::optional<TimerEvent> event, size_t limit);
    // timer_settime(2)/timer_gettime(2)/timer_getoverrun(2)/timer_delete(2); EINVAL for an
    // unknown id.
    Result<Setting> SetTimer(int id, Setting setting, bool absolute);
    Result<Setting> GetTimer(int id);
    Result<int> TimerOverrun(int id);
    Result<void> DeleteTimer(int id);

    // exec(2): the POSIX timers go. The process's end: everything goes.
    void DeletePosixTimers();
    void DeleteAll();

private:
    Result<std::shared_ptr<PosixTimer>> Find(int id);

    std::mutex m_lock;
    std::array<std::shared_ptr<IntervalTimer>, 3> m_itimers;  // guarded by m_lock; made on first set
    std::map<int, std::shared_ptr<PosixTimer>> m_posix;       // guarded by m_lock
    int m_next_id = 0;                                        // guarded by m_lock
};

}  // namespace moat::kernel
