#include "fs/lock/file_locks.h"

#include "sentry/kernel/task.h"

#include <fcntl.h>

#include <algorithm>
#include <thread>

namespace moat::fs {

namespace {
// Linux's MAX_DEADLK_ITERATIONS: a longer chain is not reported.
constexpr int kMaxDeadlockIterations = 10;

bool Overlaps(const RecordLock& l, int64_t start, int64_t end) { return l.start <= end && start <= l.end; }
}  // namespace

Result<LockRange> LockRangeOf(int whence, int64_t l_start, int64_t l_len, int64_t pos, int64_t size) {
    int64_t base = 0;
    switch (whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = pos; break;
    case SEEK_END: base = size; break;
    default: return Error(EINVAL);
    }
    if (l_start > kLockEndMax - base)
        return Error(EOVERFLOW);
    int64_t start = base + l_start;
    if (start < 0)
        return Error(EINVAL);
    LockRange r{start, kLockEndMax};
    if (l_len > 0) {
        if (l_len - 1 > kLockEndMax - start)
            return Error(EOVERFLOW);
        r.end = start + (l_len - 1);  // checked above; never start + l_len, which may overflow
    } else if (l_len < 0) {
        r.end = start - 1;
        // start + l_len cannot overflow: start >= 0 and l_len < 0.
        r.start = start + l_len;
        if (r.start < 0)
            return Error(EINVAL);
    }
    return r;
}

bool LockWaitGraph::StartWaiting(const void* waiter, const void* holder) {
    std::lock_guard lock(m_lock);
    const void* cur = holder;
    for (int i = 0; i < kMaxDeadlockIterations; ++i) {
        if (cur == waiter)
            return false;
        auto it = m_waits_for.find(cur);
        if (it == m_waits_for.end())
            break;
        cur = it->second;
    }
    m_waits_for[waiter] = holder;
    return true;
}

void LockWaitGraph::StopWaiting(const void* waiter) {
    std::lock_guard lock(m_lock);
    m_waits_for.erase(waiter);
}

template <typename TryOnce>
Result<void> FileLocks::WaitFor(std::unique_lock<std::mutex>& lock, TryOnce&& try_once) {
    kernel::Task* task = kernel::Task::Current();
    if (!task) {
        // No task (unit tests): nothing can interrupt, so poll under the lock's protection.
        while (!try_once()) {
            lock.unlock();
            std::this_thread::yield();
            lock.lock();
        }
        return {};
    }
    lock.unlock();
    auto r = task->Block(m_waiters, [&] {
        std::lock_guard g(m_lock);
        return try_once();
    });
    lock.lock();
    return r;
}

const FileLocks::FlockEntry* FileLocks::FlockConflictLocked(const void* owner, bool exclusive) const {
    for (auto& f : m_flocks)
        if (f.owner != owner && (exclusive || f.exclusive))
            return &f;
    return nullptr;
}

Result<void> FileLocks::Flock(const void* owner, bool exclusive, bool nonblock) {
    std::unique_lock lock(m_lock);
    auto mine = std::find_if(m_flocks.begin(), m_flocks.end(), [&](auto& f) { return f.owner == owner; });
    if (mine != m_flocks.end()) {
        if (mine->exclusive == exclusive)
            return {};
        // A conversion is not atomic on Linux either: the old lock goes first.
        m_flocks.erase(mine);
        m_waiters.Notify();
    }
    auto try_once = [&] {
        if (FlockConflictLocked(owner, exclusive))
            return false;
        m_flocks.push_back({owner, exclusive});
        return true;
    };
    if (try_once())
        return {};
    if (nonblock)
        return Error(EWOULDBLOCK);
    return WaitFor(lock, try_once);
}

void FileLocks::FlockUnlock(const void* owner) {
    std::lock_guard lock(m_lock);
    std::erase_if(m_flocks, [&](auto& f) { return f.owner == owner; });
    m_waiters.Notify();
}

const RecordLock* FileLocks::RecordConflictLocked(const RecordRequest& req) const {
    for (auto& l : m_records) {
        if (l.owner == req.owner || !Overlaps(l, req.start, req.end))
            continue;
        if (l.type == F_WRLCK || req.type == F_WRLCK)
            return &l;
    }
    return nullptr;
}

void FileLocks::ApplyRecordLocked(const RecordRequest& req) {
    std::vector<RecordLock> out;
    out.reserve(m_records.size() + 2);
    for (auto& l : m_records) {
        if (l.owner != req.owner || !Overlaps(l, req.start, req.end)) {
            out.push_back(l);
            continue;
        }
        // The owner's lock overlaps the request: keep only what lies outside it (a split).
        if (l.start < req.start) {
            RecordLock left = l;
            left.end = req.start - 1;
            out.push_back(left);
        }
        if (l.end > req.end) {
            RecordLock right = l;
            right.start = req.end + 1;
            out.push_back(right);
        }
    }
    if (req.type != F_UNLCK) {
        RecordLock n{req.owner, req.ofd, req.pid, req.type, req.start, req.end};
        // Merge with the owner's adjacent locks of the same type (none overlaps any more).
        for (auto it = out.begin(); it != out.end();) {
            bool adjacent = it->owner == n.owner && it->type == n.type &&
                            ((it->end < n.start && it->end + 1 == n.start) ||
                             (n.end < it->start && n.end + 1 == it->start));
            if (adjacent) {
                n.start = std::min(n.start, it->start);
                n.end = std::max(n.end, it->end);
                it = out.erase(it);
            } else {
                ++it;
            }
        }
        out.push_back(n);
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.start < b.start; });
    m_records = std::move(out);
    m_waiters.Notify();
}

Result<void> FileLocks::SetRecord(const RecordRequest& req, bool wait, LockWaitGraph* graph) {
    std::unique_lock lock(m_lock);
    if (req.type == F_UNLCK || !RecordConflictLocked(req)) {
        ApplyRecordLocked(req);
        return {};
    }
    if (!wait)
        return Error(EAGAIN);
    bool deadlock = false;
    bool detect = graph && !req.ofd;
    auto try_once = [&] {
        const RecordLock* conflict = RecordConflictLocked(req);
        if (!conflict) {
            ApplyRecordLocked(req);
            return true;
        }
        if (detect && !graph->StartWaiting(req.owner, conflict->owner)) {
            deadlock = true;
            return true;
        }
        return false;
    };
    auto r = WaitFor(lock, try_once);
    if (detect)
        graph->StopWaiting(req.owner);
    if (deadlock)
        return Error(EDEADLK);
    return r;
}

std::optional<RecordLock> FileLocks::TestRecord(const RecordRequest& req) {
    std::lock_guard lock(m_lock);
    const RecordLock* conflict = RecordConflictLocked(req);
    if (!conflict)
        return std::nullopt;
    return *conflict;
}

void FileLocks::ReleaseRecords(const void* owner) {
    std::lock_guard lock(m_lock);
    if (std::erase_if(m_records, [&](auto& l) { return l.owner == owner; }) > 0)
        m_waiters.Notify();
}

void FileLocks::ReleaseDescription(const void* owner) {
    std::lock_guard lock(m_lock);
    size_t n = std::erase_if(m_flocks, [&](auto& f) { return f.owner == owner; });
    n += std::erase_if(m_records, [&](auto& l) { return l.ofd && l.owner == owner; });
    if (n > 0)
        m_waiters.Notify();
}

std::vector<RecordLock> FileLocks::records() {
    std::lock_guard lock(m_lock);
    return m_records;
}

}  // namespace moat::fs
