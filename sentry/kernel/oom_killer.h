#pragma once
// OomKiller: what happens when the memory file has no frame left (--memory-limit). Linux's
// OOM killer (mm/oom_kill.c): the process with the largest footprint is killed with SIGKILL,
// the allocation that failed waits for its memory to come back and is retried; the one
// asking dies only when it is itself the worst, or nobody else can be killed.
//
// Footprint (Linux's oom_badness): the pages the group's address space has resident (frames
// shared with other address spaces count in each, as Linux's RSS does; there is no swap and
// the page tables are the host's), plus oom_score_adj × total pages / 1000. -1000 is never
// killed. The sandbox's PID 1 is a candidate like any other process: Linux exempts only the
// *global* init (is_global_init), and a container's PID 1 is not one — killing it ends the
// sandbox, as a container ends when its init is OOM-killed.
//
// One kill at a time: while a victim is exiting, every task that runs out of memory waits
// for it (interruptibly, at most kVictimGrace) instead of picking a second one — Linux's
// abort on tsk_is_oom_victim. A victim that has not let its memory go after kVictimGrace no
// longer blocks a new choice (Linux's MMF_OOM_SKIP once the OOM reaper gives up).
//
// Lock order: OomKiller::m_lock → ProcessTree::m_lock → … → MemoryManager → MemoryFile. It is
// taken only by a task that holds no other lock (a fault, or a syscall that has returned).

#include "sentry/kernel/forward.h"
#include "sentry/kernel/wait_queue.h"

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

namespace moat::mm {
class MemoryManager;
}

namespace moat::kernel {

inline constexpr int kOomScoreAdjMin = -1000;  // OOM_SCORE_ADJ_MIN: never killed
inline constexpr int kOomScoreAdjMax = 1000;

// What the OOM killer knows of one process.
struct OomCandidate {
    pid_t pid = 0;
    uint64_t resident_pages = 0;
    int oom_score_adj = 0;
};

// Linux's oom_badness: nullopt when the process may not be killed (oom_score_adj -1000).
std::optional<int64_t> OomBadness(const OomCandidate& c, uint64_t total_pages);
// /proc/[pid]/oom_score: the badness scaled into 0..2000 (0 for an unkillable process).
uint64_t OomScore(const OomCandidate& c, uint64_t total_pages);
// The index of the candidate with the largest badness (ties go to the later one, as
// Linux's scan in process order does); nullopt when none may be killed.
std::optional<size_t> SelectOomVictim(std::span<const OomCandidate> candidates, uint64_t total_pages);

class OomKiller {
public:
    // How long a faulting task waits for a victim to free its memory.
    static constexpr std::chrono::seconds kVictimGrace{5};

    explicit OomKiller(Kernel& kernel) : m_kernel(kernel) {}

    enum class Outcome {
        Retry,    // memory was (or is being) freed, or the wait was interrupted: try again
        KillSelf  // `task`'s own process is the one to die
    };
    // `task` found no free frame. Picks and kills a victim (or waits for the one in flight).
    Outcome OutOfMemory(Task& task);

    // A task let go of its address space (exit): wakes whoever waits for a victim's memory.
    void TaskReleasedMemory();

    // The candidate `tg` is (its footprint now); for /proc/[pid]/oom_score too.
    OomCandidate CandidateOf(ThreadGroup& tg, const std::shared_ptr<Task>& task);
    uint64_t total_pages();

private:
    struct Victim {
        pid_t pid = 0;
        std::weak_ptr<mm::MemoryManager> mm;  // expired once its frames are freed
        std::chrono::steady_clock::time_point deadline;
    };
    // Waits (outside m_lock) for `victim`'s memory; false when the grace period ran out.
    bool WaitForVictim(Task& task, const Victim& victim);

    Kernel& m_kernel;
    std::mutex m_lock;               // serialises choosing a victim
    std::optional<Victim> m_victim;  // guarded by m_lock: the kill in flight
    std::atomic<bool> m_in_flight{false};  // m_victim is set (read without the lock on exit)
    WaitQueue m_freed;               // notified when a task releases its address space
};

}  // namespace moat::kernel
