// OomKiller: choosing and killing a victim when the memory file is full (oom_killer.h).

#include "sentry/kernel/oom_killer.h"

#include "platform/base/log.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/process_tree.h"
#include "sentry/kernel/signals.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_file.h"
#include "sentry/mm/memory_manager.h"

#include <climits>
#include <csignal>
#include <vector>

namespace moat::kernel {

std::optional<int64_t> OomBadness(const OomCandidate& c, uint64_t total_pages) {
    if (c.oom_score_adj <= kOomScoreAdjMin)
        return std::nullopt;
    // Linux scales the adjustment by whole thousandths of the total (integer division).
    int64_t adj = int64_t{c.oom_score_adj} * static_cast<int64_t>(total_pages / 1000);
    return static_cast<int64_t>(c.resident_pages) + adj;
}

uint64_t OomScore(const OomCandidate& c, uint64_t total_pages) {
    auto badness = OomBadness(c, total_pages);
    if (!badness || total_pages == 0)
        return 0;
    // proc_oom_score: (1000 + badness * 1000 / totalpages) * 2 / 3, the 0..2000 range of old.
    int64_t points = (1000 + *badness * 1000 / static_cast<int64_t>(total_pages)) * 2 / 3;
    return points > 0 ? static_cast<uint64_t>(points) : 0;
}

std::optional<size_t> SelectOomVictim(std::span<const OomCandidate> candidates, uint64_t total_pages) {
    std::optional<size_t> chosen;
    int64_t chosen_points = LLONG_MIN;
    for (size_t i = 0; i < candidates.size(); ++i) {
        auto points = OomBadness(candidates[i], total_pages);
        if (!points || *points < chosen_points)
            continue;
        chosen = i;
        chosen_points = *points;
    }
    return chosen;
}

uint64_t OomKiller::total_pages() { return m_kernel.memory_file().ram_bytes() / mm::kPageSize; }

OomCandidate OomKiller::CandidateOf(ThreadGroup& tg, const std::shared_ptr<Task>& task) {
    OomCandidate c;
    c.pid = tg.pid();
    c.oom_score_adj = tg.oom_score_adj.load();
    if (task)
        if (auto mm = task->mm_snapshot())
            c.resident_pages = mm->resident_pages();
    return c;
}

void OomKiller::TaskReleasedMemory() {
    if (m_in_flight.load())
        m_freed.Notify();
}

bool OomKiller::WaitForVictim(Task& task, const Victim& victim) {
    auto r = task.Block(m_freed, [&] { return victim.mm.expired(); }, victim.deadline);
    // Interrupted (a signal, an exit): the caller retries, and waits again if need be.
    return r.ok() || r.error() != ETIMEDOUT;
}

OomKiller::Outcome OomKiller::OutOfMemory(Task& task) {
    if (task.thread_group().exiting())
        return Outcome::KillSelf;  // dying already: nothing to wait for
    std::unique_lock lock(m_lock);
    const auto now = std::chrono::steady_clock::now();
    if (m_victim && (m_victim->mm.expired() || now >= m_victim->deadline)) {
        if (!m_victim->mm.expired())
            log::debug("oom: process {} did not free its memory in time; choosing again", m_victim->pid);
        m_victim.reset();
        m_in_flight.store(false);
    }
    if (!m_victim) {
        // Candidates: one live task per process, each looked at outside the tree's lock.
        std::vector<std::shared_ptr<Task>> tasks = m_kernel.processes().OneTaskPerLiveGroup();
        std::vector<OomCandidate> candidates;
        std::vector<std::shared_ptr<Task>> owners;
        for (auto& t : tasks) {
            if (t->thread_group().exiting() || !t->mm_snapshot())
                continue;
            candidates.push_back(CandidateOf(t->thread_group(), t));
            owners.push_back(std::move(t));
        }
        const uint64_t total = total_pages();
        auto chosen = SelectOomVictim(candidates, total);
        if (!chosen) {
            log::debug("oom: [{}] out of memory and no process may be killed", task.tid());
            return Outcome::KillSelf;
        }
        const OomCandidate& c = candidates[*chosen];
        Task& victim = *owners[*chosen];
        log::debug("oom: [{}] out of memory: killing process {}, rss {} kB, oom_score_adj {}, oom_score {}",
                   task.tid(), c.pid, c.resident_pages * mm::kPageSize / 1024, c.oom_score_adj,
                   OomScore(c, total));
        if (&victim.thread_group() == &task.thread_group())
            return Outcome::KillSelf;
        m_victim = Victim{c.pid, victim.mm_snapshot(), now + kVictimGrace};
        m_in_flight.store(true);
        (void)SendGroupSignal(victim.thread_group(), MakeSigInfo(SIGKILL, SI_KERNEL));
    }
    Victim victim = *m_victim;
    lock.unlock();
    if (WaitForVictim(task, victim)) {
        if (victim.mm.expired())
            log::debug("oom: [{}] process {} freed its memory; retrying", task.tid(), victim.pid);
    } else {
        lock.lock();
        if (m_victim && m_victim->pid == victim.pid && m_victim->deadline == victim.deadline) {
            log::debug("oom: process {} did not free its memory in time", victim.pid);
            m_victim.reset();
            m_in_flight.store(false);
        }
    }
    return Outcome::Retry;
}

}  // namespace moat::kernel
