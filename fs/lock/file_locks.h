#pragma once
// FileLocks: the advisory locks on one inode (Linux's file_lock_context) — flock(2) locks and
// byte-range record locks (POSIX fcntl locks and OFD locks). Every open of the same file meets
// the same FileLocks through Inode::file_locks().
//
// Owners: a flock lock and an OFD lock belong to an open file description (the File); a POSIX
// lock belongs to a process, keyed as Linux does by its fd table (files_struct), so that
// closing ANY fd of the file in that process releases them (fs/lock/lock_hooks.h).
//
// Blocking is interruptible (Task::Block: ERESTARTSYS). Deadlock detection (EDEADLK) covers
// POSIX waiters only, across files, through the Kernel-wide LockWaitGraph.
//
// Lock order: FileLocks::m_lock → LockWaitGraph::m_lock → WaitQueue.

#include "platform/base/result.h"
#include "sentry/kernel/wait_queue.h"

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

namespace moat::fs {

// The last byte offset a lock may cover (Linux's OFFSET_MAX); `end == kLockEndMax` is "to EOF
// and beyond" (l_len 0).
inline constexpr int64_t kLockEndMax = INT64_MAX;

// Who waits for whom among POSIX lock owners (Linux's blocked_hash), for EDEADLK. One per
// Kernel (the Vfs owns it).
class LockWaitGraph {
public:
    // `waiter` is about to wait for `holder`: true (and recorded) unless that closes a cycle.
    bool StartWaiting(const void* waiter, const void* holder);
    void StopWaiting(const void* waiter);

private:
    std::mutex m_lock;
    std::map<const void*, const void*> m_waits_for;  // guarded by m_lock
};

// One byte-range lock: [start, end] inclusive.
struct RecordLock {
    const void* owner = nullptr;  // FdTable* (POSIX) or File* (OFD)
    bool ofd = false;
    pid_t pid = 0;                // the setter's sandbox pid (F_GETLK reports -1 for OFD)
    short type = 0;               // F_RDLCK or F_WRLCK
    int64_t start = 0;
    int64_t end = 0;
};

// A record-lock request in absolute byte terms (see fs/lock/record_range.h for l_whence).
struct RecordRequest {
    const void* owner = nullptr;
    bool ofd = false;
    pid_t pid = 0;
    short type = 0;  // F_RDLCK, F_WRLCK or F_UNLCK
    int64_t start = 0;
    int64_t end = 0;
};

// Linux's flock_to_posix_lock: l_whence/l_start/l_len against the file position `pos` and
// size `size`, as an inclusive [start, end]. EINVAL for a bad whence or a start before 0,
// EOVERFLOW past the largest offset. l_len 0 is "to the end"; a negative l_len covers the
// bytes before l_start.
struct LockRange {
    int64_t start = 0;
    int64_t end = 0;
};
Result<LockRange> LockRangeOf(int whence, int64_t l_start, int64_t l_len, int64_t pos, int64_t size);

class FileLocks {
public:
    // ---- flock(2): `owner` is the open file description ----
    // LOCK_SH or LOCK_EX (converting an existing lock drops it first, as Linux does);
    // EWOULDBLOCK if `nonblock` and another description holds a conflicting lock.
    Result<void> Flock(const void* owner, bool exclusive, bool nonblock);
    void FlockUnlock(const void* owner);

    // ---- Record locks ----
    // F_SETLK/F_SETLKW and the OFD variants. EAGAIN when !wait and a conflict exists; EDEADLK
    // (POSIX with wait) when waiting would close a cycle in `graph`.
    Result<void> SetRecord(const RecordRequest& req, bool wait, LockWaitGraph* graph);
    // F_GETLK: the first lock that would conflict with `req`, if any.
    std::optional<RecordLock> TestRecord(const RecordRequest& req);
    // Drops every record lock of `owner` (a POSIX process closing an fd of the file, an OFD
    // description's last close).
    void ReleaseRecords(const void* owner);
    // Drops `owner`'s flock lock and OFD locks: the description's last close.
    void ReleaseDescription(const void* owner);

    // For tests and /proc/locks: a copy of the record locks, sorted by start.
    std::vector<RecordLock> records();

private:
    struct FlockEntry {
        const void* owner;
        bool exclusive;
    };
    const FlockEntry* FlockConflictLocked(const void* owner, bool exclusive) const;
    const RecordLock* RecordConflictLocked(const RecordRequest& req) const;
    // Applies `req` (no conflict exists): removes the range from the owner's locks, then adds
    // and merges the new one.
    void ApplyRecordLocked(const RecordRequest& req);
    // Waits until `try_once` (called with m_lock held) returns true or an error.
    template <typename TryOnce>
    Result<void> WaitFor(std::unique_lock<std::mutex>& lock, TryOnce&& try_once);

    std::mutex m_lock;
    kernel::WaitQueue m_waiters;
    std::vector<FlockEntry> m_flocks;   // guarded by m_lock
    std::vector<RecordLock> m_records;  // guarded by m_lock; sorted by start
};

}  // namespace moat::fs
