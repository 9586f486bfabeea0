// FutexTable: hash buckets of waiters, each sleeping in Task::Block on its own WaitQueue.
// The operations follow kernel/futex/{waitwake,requeue,pi,core}.c, errnos and their order
// included; see futex.h for the keys and the lock order.

#include "sentry/kernel/futex.h"

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/process_tree.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"

#include <linux/futex.h>

#include <atomic>
#include <functional>
#include <tuple>

namespace moat::kernel {

namespace {

Result<uint32_t> LoadWord(mm::MemoryManager& mm, uint64_t uaddr) {
    uint32_t v = 0;
    TRY(mm.FutexWord(mm::UserAddr(uaddr), false, [&](uint32_t* p) { v = std::atomic_ref<uint32_t>(*p).load(); }));
    return v;
}

// Compare-and-exchange on the app's word; returns the value found (== expected: swapped).
Result<uint32_t> CmpXchgWord(mm::MemoryManager& mm, uint64_t uaddr, uint32_t expected, uint32_t desired) {
    uint32_t cur = expected;
    TRY(mm.FutexWord(mm::UserAddr(uaddr), true,
                     [&](uint32_t* p) { std::atomic_ref<uint32_t>(*p).compare_exchange_strong(cur, desired); }));
    return cur;
}

// Locks one bucket, or two in address order (Linux's double_lock_hb).
class BucketLocks {
public:
    BucketLocks(std::mutex& a, std::mutex& b) : m_first(&a < &b ? a : b), m_second(&a < &b ? b : a) {
        m_first.lock();
        if (&m_second != &m_first)
            m_second.lock();
    }
    ~BucketLocks() {
        if (&m_second != &m_first)
            m_second.unlock();
        m_first.unlock();
    }

private:
    std::mutex& m_first;
    std::mutex& m_second;
};

// Whether a thread with this TID exists (the PI owner check, Linux's attach_to_pi_owner).
bool TaskExists(Task& t, pid_t tid) { return t.kernel().processes().FindTask(tid) != nullptr; }

}  // namespace

Result<FutexKey> GetFutexKey(mm::MemoryManager& mm, uint64_t addr, bool private_futex) {
    if (addr % sizeof(uint32_t))
        return Error(EINVAL);
    if (addr > mm.max_address() - sizeof(uint32_t))  // access_ok
        return Error(EFAULT);
    if (private_futex)
        return FutexKey{&mm, addr};
    auto frame = TRY(mm.FutexWord(mm::UserAddr(addr), false));
    if (frame)
        return FutexKey{nullptr, *frame};
    return FutexKey{&mm, addr};
}

FutexTable::Bucket& FutexTable::BucketFor(const FutexKey& key) {
    uint64_t h = reinterpret_cast<uintptr_t>(key.space) * 0x9e3779b97f4a7c15ull ^ (key.offset >> 2) * 0xff51afd7ed558ccdull;
    return m_buckets[(h ^ (h >> 29)) % kBuckets];
}

// Called with the waiter's bucket locked, after it left the list.
void FutexTable::WakeWaiter(Waiter& w) {
    std::shared_ptr<WakeState> state = w.state;  // keeps the queue alive while we notify
    w.was_woken = true;
    w.bucket.store(nullptr, std::memory_order_relaxed);
    state->woken.store(true, std::memory_order_release);
    state->queue.Notify();
}

Result<void> FutexTable::Sleep(Task& t, Waiter& w, FutexDeadline deadline) {
    WakeState& state = *w.state;
    auto blocked = t.Block(state.queue, [&] { return state.woken.load(std::memory_order_acquire); }, deadline);
    if (blocked.ok())
        return {};
    // Timed out or interrupted: leave the list, unless a waker took us off it meanwhile.
    Unqueue(w);
    if (state.woken.load(std::memory_order_acquire))
        return {};
    return Error(blocked.error());
}

void FutexTable::Unqueue(Waiter& w) {
    for (;;) {
        Bucket* b = w.bucket.load(std::memory_order_acquire);
        if (!b)
            return;
        std::lock_guard lock(b->lock);
        if (w.bucket.load(std::memory_order_relaxed) != b)
            continue;  // requeued to another bucket meanwhile
        b->waiters.remove(&w);
        w.bucket.store(nullptr, std::memory_order_relaxed);
        return;
    }
}

Result<int> FutexTable::WaitMultiple(Task& t, const std::vector<WaitvEntry>& entries, FutexDeadline deadline) {
    auto state = std::make_shared<WakeState>();
    std::unique_ptr<Waiter[]> ws(new Waiter[entries.size()]);
    // Every waiter must be off its list before `ws` goes; the first woken one is the result.
    auto finish = [&](size_t queued) -> int {
        int first = -1;
        for (size_t i = 0; i < queued; ++i) {
            Unqueue(ws[i]);
            Bucket& b = BucketFor(ws[i].key);  // was_woken was written under a bucket lock
            std::lock_guard lock(b.lock);
            if (ws[i].was_woken && first < 0)
                first = static_cast<int>(i);
        }
        return first;
    };
    for (size_t i = 0; i < entries.size(); ++i) {
        Waiter& w = ws[i];
        w.task = &t;
        w.key = entries[i].key;
        w.bitset = FUTEX_BITSET_MATCH_ANY;
        w.state = state;
        Bucket& b = BucketFor(w.key);
        std::unique_lock lock(b.lock);
        auto cur = LoadWord(t.mm(), entries[i].uaddr);
        if (!cur.ok() || cur.value() != entries[i].val) {
            lock.unlock();
            int woken = finish(i);
            if (woken >= 0)
                return woken;
            return Error(cur.ok() ? EAGAIN : cur.error());
        }
        b.waiters.push_back(&w);
        w.bucket.store(&b, std::memory_order_relaxed);
    }
    auto blocked = t.Block(state->queue, [&] { return state->woken.load(std::memory_order_acquire); }, deadline);
    int woken = finish(entries.size());
    if (woken >= 0)
        return woken;
    return Error(blocked.ok() ? EAGAIN : blocked.error());
}

int FutexTable::WakeLocked(Bucket& b, const FutexKey& key, uint32_t bitset, int count, bool& bad_waiter) {
    int woken = 0;
    for (auto it = b.waiters.begin(); it != b.waiters.end();) {
        Waiter* w = *it;
        if (!(w->key == key)) {
            ++it;
            continue;
        }
        if (w->kind != Waiter::Kind::Normal) {
            bad_waiter = true;  // FUTEX_WAKE on a PI or requeue-PI futex
            break;
        }
        if (!(w->bitset & bitset)) {
            ++it;
            continue;
        }
        it = b.waiters.erase(it);
        WakeWaiter(*w);
        if (++woken >= count)  // Linux wakes one even for a count of 0
            break;
    }
    return woken;
}

Result<void> FutexTable::Wait(Task& t, const FutexKey& key, uint64_t uaddr, uint32_t val, uint32_t bitset,
                              FutexDeadline deadline) {
    Waiter w;
    w.task = &t;
    w.key = key;
    w.bitset = bitset;
    w.state = std::make_shared<WakeState>();
    TRY(EnqueueIfEqual(t, w, uaddr, val));
    return Sleep(t, w, deadline);
}

Result<void> FutexTable::EnqueueIfEqual(Task& t, Waiter& w, uint64_t uaddr, uint32_t val) {
    Bucket& b = BucketFor(w.key);
    std::lock_guard lock(b.lock);
    uint32_t cur = TRY(LoadWord(t.mm(), uaddr));
    if (cur != val)
        return Error(EAGAIN);
    b.waiters.push_back(&w);
    w.bucket.store(&b, std::memory_order_relaxed);
    return {};
}

Result<int> FutexTable::Wake(const FutexKey& key, uint32_t bitset, int count) {
    Bucket& b = BucketFor(key);
    std::lock_guard lock(b.lock);
    bool bad = false;
    int woken = WakeLocked(b, key, bitset, count, bad);
    if (bad)
        return Error(EINVAL);
    return woken;
}

Result<int> FutexTable::Requeue(Task& t, const FutexKey& key1, uint64_t uaddr1, const FutexKey& key2, int nr_wake,
                                int nr_requeue, std::optional<uint32_t> cmp) {
    if (nr_wake < 0 || nr_requeue < 0)
        return Error(EINVAL);
    Bucket& b1 = BucketFor(key1);
    Bucket& b2 = BucketFor(key2);
    BucketLocks locks(b1.lock, b2.lock);
    if (cmp) {
        uint32_t cur = TRY(LoadWord(t.mm(), uaddr1));
        if (cur != *cmp)
            return Error(EAGAIN);
    }
    int woken = 0, requeued = 0;
    for (auto it = b1.waiters.begin(); it != b1.waiters.end();) {
        Waiter* w = *it;
        if (!(w->key == key1)) {
            ++it;
            continue;
        }
        if (w->kind != Waiter::Kind::Normal)
            return Error(EINVAL);  // requeue-PI waiters pair only with FUTEX_CMP_REQUEUE_PI
        if (woken < nr_wake) {
            it = b1.waiters.erase(it);
            WakeWaiter(*w);
            ++woken;
            continue;
        }
        if (requeued >= nr_requeue)
            break;
        ++requeued;
        if (&b1 == &b2) {
            w->key = key2;
            ++it;
            continue;
        }
        it = b1.waiters.erase(it);
        w->key = key2;
        b2.waiters.push_back(w);
        w->bucket.store(&b2, std::memory_order_release);
    }
    return woken + requeued;
}

Result<int> FutexTable::WakeOp(Task& t, const FutexKey& key1, const FutexKey& key2, uint64_t uaddr2, int nr_wake,
                               int nr_wake2, uint32_t encoded_op) {
    unsigned op = (encoded_op >> 28) & 7;
    unsigned cmp = (encoded_op >> 24) & 15;
    // 12-bit signed fields (sign_extend32).
    int32_t oparg = static_cast<int32_t>((encoded_op >> 12) & 0xfff) << 20 >> 20;
    int32_t cmparg = static_cast<int32_t>(encoded_op & 0xfff) << 20 >> 20;
    if (encoded_op & (FUTEX_OP_OPARG_SHIFT << 28))
        oparg = static_cast<int32_t>(1u << (static_cast<uint32_t>(oparg) & 31));

    Bucket& b1 = BucketFor(key1);
    Bucket& b2 = BucketFor(key2);
    BucketLocks locks(b1.lock, b2.lock);
    bool bad_op = false;
    uint32_t old = 0;
    TRY(t.mm().FutexWord(mm::UserAddr(uaddr2), true, [&](uint32_t* p) {
        std::atomic_ref<uint32_t> word(*p);
        uint32_t arg = static_cast<uint32_t>(oparg);
        switch (op) {
        case FUTEX_OP_SET: old = word.exchange(arg); break;
        case FUTEX_OP_ADD: old = word.fetch_add(arg); break;
        case FUTEX_OP_OR: old = word.fetch_or(arg); break;
        case FUTEX_OP_ANDN: old = word.fetch_and(~arg); break;
        case FUTEX_OP_XOR: old = word.fetch_xor(arg); break;
        default: bad_op = true;
        }
    }));
    if (bad_op)
        return Error(ENOSYS);
    int32_t oldval = static_cast<int32_t>(old);
    bool cond;
    switch (cmp) {
    case FUTEX_OP_CMP_EQ: cond = oldval == cmparg; break;
    case FUTEX_OP_CMP_NE: cond = oldval != cmparg; break;
    case FUTEX_OP_CMP_LT: cond = oldval < cmparg; break;
    case FUTEX_OP_CMP_LE: cond = oldval <= cmparg; break;
    case FUTEX_OP_CMP_GT: cond = oldval > cmparg; break;
    case FUTEX_OP_CMP_GE: cond = oldval >= cmparg; break;
    default: return Error(ENOSYS);  // after the op, as Linux does
    }
    bool bad = false;
    int woken = WakeLocked(b1, key1, FUTEX_BITSET_MATCH_ANY, nr_wake, bad);
    if (bad)
        return Error(EINVAL);
    if (cond) {
        woken += WakeLocked(b2, key2, FUTEX_BITSET_MATCH_ANY, nr_wake2, bad);
        if (bad)
            return Error(EINVAL);
    }
    return woken;
}

// ---- PI ----

FutexTable::Waiter* FutexTable::TopPiWaiter(Bucket& b, const FutexKey& key) {
    for (Waiter* w : b.waiters)
        if (w->key == key && w->kind == Waiter::Kind::Pi)
            return w;
    return nullptr;
}

Result<bool> FutexTable::TryLockPiAtomic(Task& t, Bucket& b, const FutexKey& key, uint64_t uaddr, pid_t tid,
                                         bool set_waiters) {
    for (;;) {
        uint32_t uval = TRY(LoadWord(t.mm(), uaddr));
        if ((uval & FUTEX_TID_MASK) == static_cast<uint32_t>(tid))
            return Error(EDEADLK);
        if (!(uval & FUTEX_TID_MASK)) {
            // Free: take it over, keeping FUTEX_OWNER_DIED for the new owner to see.
            uint32_t newval = (uval & FUTEX_OWNER_DIED) | static_cast<uint32_t>(tid);
            if (set_waiters || TopPiWaiter(b, key))
                newval |= FUTEX_WAITERS;
            if (TRY(CmpXchgWord(t.mm(), uaddr, uval, newval)) != uval)
                continue;
            return true;
        }
        // Owned: make the owner's unlock come to the kernel, then check the owner is alive.
        uint32_t newval = uval | FUTEX_WAITERS;
        if (newval != uval && TRY(CmpXchgWord(t.mm(), uaddr, uval, newval)) != uval)
            continue;
        if (!TaskExists(t, static_cast<pid_t>(uval & FUTEX_TID_MASK)))
            return Error(ESRCH);
        return false;
    }
}

// Hands the PI futex (value `uval`, owned by the caller) to the first PI waiter on key, with
// `extra` bits (FUTEX_OWNER_DIED after a death). Bucket locked. False when there is none;
// EAGAIN when the word changed under us.
Result<bool> FutexTable::HandOffPi(mm::MemoryManager& mm, Bucket& b, const FutexKey& key, uint64_t uaddr,
                                   uint32_t uval, uint32_t extra) {
    Waiter* top = TopPiWaiter(b, key);
    if (!top)
        return false;
    uint32_t newval = static_cast<uint32_t>(top->task->tid()) | FUTEX_WAITERS | extra;
    if (TRY(CmpXchgWord(mm, uaddr, uval, newval)) != uval)
        return Error(EAGAIN);
    b.waiters.remove(top);
    top->owns_pi = true;
    WakeWaiter(*top);
    return true;
}

Result<void> FutexTable::LockPi(Task& t, const FutexKey& key, uint64_t uaddr, bool try_only, FutexDeadline deadline) {
    Waiter w;
    w.task = &t;
    w.key = key;
    w.bitset = FUTEX_BITSET_MATCH_ANY;
    w.kind = Waiter::Kind::Pi;
    w.state = std::make_shared<WakeState>();
    Bucket& b = BucketFor(key);
    {
        std::lock_guard lock(b.lock);
        if (TRY(TryLockPiAtomic(t, b, key, uaddr, t.tid(), false)))
            return {};
        if (try_only)
            return Error(EAGAIN);  // EWOULDBLOCK (the FUTEX_WAITERS bit stays set, as on Linux)
        b.waiters.push_back(&w);
        w.bucket.store(&b, std::memory_order_relaxed);
    }
    auto slept = Sleep(t, w, deadline);
    if (slept.ok())
        return {};  // woken only by a hand-off: we own it
    if (slept.error() == ERESTARTSYS)
        return Error(ERESTARTNOINTR);  // LOCK_PI always restarts
    return Error(slept.error());
}

Result<void> FutexTable::UnlockPi(Task& t, const FutexKey& key, uint64_t uaddr) {
    Bucket& b = BucketFor(key);
    std::lock_guard lock(b.lock);
    uint32_t uval = TRY(LoadWord(t.mm(), uaddr));
    if ((uval & FUTEX_TID_MASK) != static_cast<uint32_t>(t.tid()))
        return Error(EPERM);
    if (TRY(HandOffPi(t.mm(), b, key, uaddr, uval, 0)))
        return {};
    // No waiter in the kernel: drop FUTEX_WAITERS and FUTEX_OWNER_DIED too.
    if (TRY(CmpXchgWord(t.mm(), uaddr, uval, 0)) != uval)
        return Error(EAGAIN);
    return {};
}

Result<void> FutexTable::WaitRequeuePi(Task& t, const FutexKey& key1, uint64_t uaddr1, uint32_t val,
                                       const FutexKey& key2, FutexDeadline deadline) {
    if (key1 == key2)
        return Error(EINVAL);
    Waiter w;
    w.task = &t;
    w.key = key1;
    w.bitset = FUTEX_BITSET_MATCH_ANY;
    w.kind = Waiter::Kind::RequeuePi;
    w.requeue_pi_key = key2;
    w.state = std::make_shared<WakeState>();
    TRY(EnqueueIfEqual(t, w, uaddr1, val));
    auto slept = Sleep(t, w, deadline);
    if (slept.ok())
        return {};  // woken only by CMP_REQUEUE_PI's proxy lock or an UNLOCK_PI hand-off
    bool requeued;
    {
        // Sleep took us off every list; `requeued` was written under a bucket lock.
        Bucket& now = BucketFor(w.key);
        std::lock_guard lock(now.lock);
        requeued = w.requeued;
    }
    if (slept.error() == ERESTARTSYS)
        return Error(requeued ? EAGAIN : ERESTARTNOINTR);
    return Error(slept.error());
}

Result<int> FutexTable::CmpRequeuePi(Task& t, const FutexKey& key1, uint64_t uaddr1, const FutexKey& key2,
                                     uint64_t uaddr2, int nr_requeue, uint32_t cmp) {
    if (nr_requeue < 0)
        return Error(EINVAL);
    if (key1 == key2)
        return Error(EINVAL);
    Bucket& b1 = BucketFor(key1);
    Bucket& b2 = BucketFor(key2);
    BucketLocks locks(b1.lock, b2.lock);
    uint32_t cur = TRY(LoadWord(t.mm(), uaddr1));
    if (cur != cmp)
        return Error(EAGAIN);

    int count = 0;
    auto first = b1.waiters.end();
    for (auto it = b1.waiters.begin(); it != b1.waiters.end(); ++it)
        if ((*it)->key == key1) {
            first = it;
            break;
        }
    if (first != b1.waiters.end()) {
        Waiter* top = *first;
        if (top->kind != Waiter::Kind::RequeuePi || !(top->requeue_pi_key == key2))
            return Error(EINVAL);
        // Try to take the PI futex for the first waiter (futex_proxy_trylock_atomic).
        if (TRY(TryLockPiAtomic(t, b2, key2, uaddr2, top->task->tid(), true))) {
            b1.waiters.erase(first);
            top->owns_pi = true;
            WakeWaiter(*top);
            ++count;
        }
    }
    int requeued = 0;
    for (auto it = b1.waiters.begin(); it != b1.waiters.end() && requeued < nr_requeue;) {
        Waiter* w = *it;
        if (!(w->key == key1)) {
            ++it;
            continue;
        }
        if (w->kind != Waiter::Kind::RequeuePi || !(w->requeue_pi_key == key2))
            return Error(EINVAL);
        it = b1.waiters.erase(it);
        w->key = key2;
        w->kind = Waiter::Kind::Pi;
        w->requeued = true;
        b2.waiters.push_back(w);
        w->bucket.store(&b2, std::memory_order_release);
        ++requeued;
    }
    return count + requeued;
}

// ---- Thread death ----

bool FutexTable::HandleDeath(Task& t, uint64_t uaddr, bool pi, bool pending_op) {
    if (uaddr % sizeof(uint32_t))
        return false;
    mm::MemoryManager& mm = t.mm();
    auto key = GetFutexKey(mm, uaddr, false);
    if (!key.ok())
        return false;
    Bucket& b = BucketFor(key.value());
    std::lock_guard lock(b.lock);
    for (;;) {
        auto loaded = LoadWord(mm, uaddr);
        if (!loaded.ok())
            return false;
        uint32_t uval = loaded.value();
        bool unused;
        // A non-PI unlock interrupted between clearing the word and waking (pending op):
        // wake a waiter so it does not sleep forever.
        if (pending_op && !pi && !uval) {
            WakeLocked(b, key.value(), FUTEX_BITSET_MATCH_ANY, 1, unused);
            return true;
        }
        if ((uval & FUTEX_TID_MASK) != static_cast<uint32_t>(t.tid()))
            return true;
        if (pi) {
            // Linux's exit_pi_state_list: the lock goes to the first waiter, marked dead-owner.
            auto handed = HandOffPi(mm, b, key.value(), uaddr, uval, FUTEX_OWNER_DIED);
            if (!handed.ok() && handed.error() == EAGAIN)
                continue;
            if (!handed.ok())
                return false;
            if (handed.value())
                return true;
        }
        uint32_t mval = (uval & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
        auto swapped = CmpXchgWord(mm, uaddr, uval, mval);
        if (!swapped.ok())
            return false;
        if (swapped.value() != uval)
            continue;
        if (!pi && (uval & FUTEX_WAITERS))
            WakeLocked(b, key.value(), FUTEX_BITSET_MATCH_ANY, 1, unused);
        return true;
    }
}

void WalkRobustList(Task& task) {
    uint64_t head = task.robust_list_head;
    if (!head)
        return;
    mm::MemoryManager& mm = task.mm();
    FutexTable& table = task.kernel().futexes();
    // struct robust_list_head { robust_list *next; long futex_offset; robust_list *list_op_pending; }
    // Pointers carry the PI flag in bit 0.
    auto fetch = [&](uint64_t addr) -> Result<std::pair<uint64_t, bool>> {
        uint64_t v = TRY(mm.CopyInObject<uint64_t>(mm::UserAddr(addr)));
        return std::pair<uint64_t, bool>(v & ~1ull, v & 1);
    };
    auto first = fetch(head);
    if (!first.ok())
        return;
    auto offset = mm.CopyInObject<int64_t>(mm::UserAddr(head + 8));
    if (!offset.ok())
        return;
    auto pending = fetch(head + 16);
    if (!pending.ok())
        return;
    auto [entry, pi] = first.value();
    auto [pending_entry, pending_pi] = pending.value();
    const uint64_t futex_offset = static_cast<uint64_t>(offset.value());
    constexpr int kRobustListLimit = 2048;  // ROBUST_LIST_LIMIT: a loop in the list ends here
    int limit = kRobustListLimit;
    while (entry != head) {
        auto next = fetch(entry);
        if (entry != pending_entry && !table.HandleDeath(task, entry + futex_offset, pi, false))
            return;
        if (!next.ok())
            return;
        std::tie(entry, pi) = next.value();
        if (!--limit)
            break;
    }
    if (pending_entry)
        table.HandleDeath(task, pending_entry + futex_offset, pending_pi, true);
}

void WakeClearChildTid(Task& task) {
    uint64_t addr = task.clear_child_tid;
    if (!addr)
        return;
    task.clear_child_tid = 0;
    if (!task.mm().CopyOutObject<uint32_t>(mm::UserAddr(addr), 0).ok())
        return;
    // FUTEX_WAKE without FUTEX_PRIVATE_FLAG, as Linux's mm_release does.
    auto key = GetFutexKey(task.mm(), addr, false);
    if (key.ok())
        (void)task.kernel().futexes().Wake(key.value(), FUTEX_BITSET_MATCH_ANY, 1);
}

}  // namespace moat::kernel
