#pragma once
// Futexes: the wait queues behind futex(2), owned by the Kernel.
//
// Keys (Linux's get_futex_key): a futex in a private mapping, or any futex used with
// FUTEX_PRIVATE_FLAG, is keyed by (MemoryManager, address); a futex in a MAP_SHARED mapping
// (shmem, a shared file mapping) used without the flag is keyed by the memory-file offset of
// the word's frame, so processes that share the page after fork (or map the same file)
// meet on the same key.
//
// Waiters hang on per-key lists inside hash buckets (no thundering herd: a wake touches only
// the waiters it wakes). A waiter sleeps with Task::Block on its own WaitQueue, so a signal
// or an exit interrupts it (ERESTARTSYS) and a wake-up reaches exactly that task.
//
// PI futexes follow Linux's owner-TID protocol (FUTEX_WAITERS, FUTEX_OWNER_DIED, ownership
// handed straight to the first waiter by FUTEX_UNLOCK_PI) without priority inheritance:
// the sentry does not schedule, the host does.
//
// Lock order: a bucket's lock (two buckets: lower address first) → ProcessTree (the PI owner
// check) → MemoryManager (the value checks and atomic ops run under the bucket lock, like
// Linux's get_futex_value_locked) → WaitQueue → the Task's block lock. Task::Block is never
// called with a bucket lock held.

#include "platform/base/result.h"
#include "sentry/kernel/forward.h"
#include "sentry/kernel/wait_queue.h"
#include "sentry/mm/user_addr.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace moat::kernel {

struct FutexKey {
    // Private: `space` is the MemoryManager, `offset` the app address. Shared: `space` is
    // null and `offset` the word's memory-file offset.
    const void* space = nullptr;
    uint64_t offset = 0;
    bool operator==(const FutexKey&) const = default;
};

// Resolves the key of the futex word at `addr` (EINVAL unaligned, EFAULT unmapped).
Result<FutexKey> GetFutexKey(mm::MemoryManager& mm, uint64_t addr, bool private_futex);

using FutexDeadline = std::optional<std::chrono::steady_clock::time_point>;

class FutexTable {
public:
    FutexTable() = default;
    FutexTable(const FutexTable&) = delete;
    FutexTable& operator=(const FutexTable&) = delete;

    // FUTEX_WAIT(_BITSET): EAGAIN unless the word at uaddr equals `val` (checked under the
    // bucket lock); then sleeps until woken ({}), the deadline (ETIMEDOUT) or a signal/exit
    // (ERESTARTSYS: the handler maps it to the restart code Linux uses).
    Result<void> Wait(Task& t, const FutexKey& key, uint64_t uaddr, uint32_t val, uint32_t bitset,
                      FutexDeadline deadline);
    // FUTEX_WAKE(_BITSET): wakes up to `count` (at least 1) waiters whose bitset intersects.
    // EINVAL if it meets a PI or requeue-PI waiter (as Linux does).
    Result<int> Wake(const FutexKey& key, uint32_t bitset, int count);
    // FUTEX_REQUEUE / FUTEX_CMP_REQUEUE (cmp = val3): wakes nr_wake waiters of key1 and moves
    // up to nr_requeue others to key2. Returns woken + requeued.
    Result<int> Requeue(Task& t, const FutexKey& key1, uint64_t uaddr1, const FutexKey& key2, int nr_wake,
                        int nr_requeue, std::optional<uint32_t> cmp);
    // FUTEX_WAKE_OP: the atomic op on *uaddr2, wake nr_wake on key1, and if the comparison
    // of the old value held, nr_wake2 on key2.
    Result<int> WakeOp(Task& t, const FutexKey& key1, const FutexKey& key2, uint64_t uaddr2, int nr_wake,
                       int nr_wake2, uint32_t encoded_op);

    // ---- PI ----
    // FUTEX_LOCK_PI(2) (try = FUTEX_TRYLOCK_PI).
    Result<void> LockPi(Task& t, const FutexKey& key, uint64_t uaddr, bool try_only, FutexDeadline deadline);
    Result<void> UnlockPi(Task& t, const FutexKey& key, uint64_t uaddr);
    // FUTEX_WAIT_REQUEUE_PI: waits on key1 like FUTEX_WAIT; returns owning uaddr2 after a
    // FUTEX_CMP_REQUEUE_PI moved it there and it acquired the lock.
    Result<void> WaitRequeuePi(Task& t, const FutexKey& key1, uint64_t uaddr1, uint32_t val,
                               const FutexKey& key2, FutexDeadline deadline);
    // FUTEX_CMP_REQUEUE_PI: nr_wake must be 1.
    Result<int> CmpRequeuePi(Task& t, const FutexKey& key1, uint64_t uaddr1, const FutexKey& key2,
                             uint64_t uaddr2, int nr_requeue, uint32_t cmp);

    // futex_waitv(2): waits on every (key, value) at once; returns the index of a futex that
    // was woken. EAGAIN if a value differs first (unless one was already woken).
    struct WaitvEntry {
        FutexKey key;
        uint64_t uaddr = 0;
        uint32_t val = 0;
    };
    Result<int> WaitMultiple(Task& t, const std::vector<WaitvEntry>& entries, FutexDeadline deadline);

    // Robust-list death handling for one futex word of the dying task t (Linux's
    // handle_futex_death). False when the walk must stop (unaligned or unreadable word).
    bool HandleDeath(Task& t, uint64_t uaddr, bool pi, bool pending_op);

private:
    struct Bucket;
    // What a waker touches after the waiter may have returned: shared, so it stays alive.
    struct WakeState {
        WaitQueue queue;                  // only this waiter's task blocks on it
        std::atomic<bool> woken{false};   // set by whoever takes the waiter off its list
    };
    struct Waiter {
        enum class Kind { Normal, Pi, RequeuePi };
        Task* task = nullptr;
        FutexKey key;                     // guarded by the bucket lock (a requeue changes it)
        uint32_t bitset = 0;
        Kind kind = Kind::Normal;         // guarded by the bucket lock
        FutexKey requeue_pi_key;          // RequeuePi: where CMP_REQUEUE_PI may move it
        bool owns_pi = false;             // a PI lock was handed over (written before `woken`)
        bool requeued = false;            // RequeuePi: moved to requeue_pi_key (bucket lock)
        bool was_woken = false;           // this waiter (of a futex_waitv set) was woken
        std::atomic<Bucket*> bucket{nullptr};  // the bucket whose list holds it, or null
        std::shared_ptr<WakeState> state;
    };
    struct Bucket {
        std::mutex lock;
        std::list<Waiter*> waiters;       // guarded by lock; every key hashing here
    };
    static constexpr size_t kBuckets = 256;
    Bucket& BucketFor(const FutexKey& key);
    // Blocks until w is woken; on a timeout or signal takes it off its list. Returns {} when
    // it was woken (even if the block ended for another reason at the same time).
    Result<void> Sleep(Task& t, Waiter& w, FutexDeadline deadline);
    // Queues `w` on its key's bucket if the futex word at `uaddr` still holds `val` (EAGAIN
    // otherwise), atomically with respect to wakers.
    Result<void> EnqueueIfEqual(Task& t, Waiter& w, uint64_t uaddr, uint32_t val);
    // Takes w off its bucket list if it is still on one (after a timeout or signal).
    static void Unqueue(Waiter& w);
    // Marks a waiter that left its list woken and wakes its task (bucket locked).
    static void WakeWaiter(Waiter& w);
    // Wakes up to count (at least one) Normal waiters of key; bad_waiter when a PI one is met.
    int WakeLocked(Bucket& b, const FutexKey& key, uint32_t bitset, int count, bool& bad_waiter);
    Waiter* TopPiWaiter(Bucket& b, const FutexKey& key);
    // Linux's futex_lock_pi_atomic for `tid` (bucket locked): true = acquired; false = owned
    // by a live task (FUTEX_WAITERS now set); EDEADLK, ESRCH, EFAULT.
    Result<bool> TryLockPiAtomic(Task& t, Bucket& b, const FutexKey& key, uint64_t uaddr, pid_t tid,
                                 bool set_waiters);
    Result<bool> HandOffPi(mm::MemoryManager& mm, Bucket& b, const FutexKey& key, uint64_t uaddr, uint32_t uval,
                           uint32_t extra);

    std::array<Bucket, kBuckets> m_buckets;
};

// Linux's exit_robust_list: walks the dying thread's robust list (set_robust_list), marks every
// futex it still owns FUTEX_OWNER_DIED and wakes one waiter (for PI ones, hands the lock to the
// first waiter); handles list_op_pending; stops after 2048 entries. Call on the exiting task's
// own thread, while its address space is still its own (thread exit, and before exec).
void WalkRobustList(Task& task);

// Linux's mm_release clear_child_tid part: writes 0 to the task's clear_child_tid address (if
// any) and FUTEX_WAKEs one waiter there (a shared key, as Linux does), then forgets it.
void WakeClearChildTid(Task& task);

}  // namespace moat::kernel
