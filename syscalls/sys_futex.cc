// futex(2): argument decoding and Linux's checks, in Linux's order (kernel/futex/syscalls.c);
// the operations themselves are FutexTable's.

#include "sentry/kernel/futex.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/timekeeper.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <linux/futex.h>

#include <chrono>
#include <vector>

#ifndef FUTEX_LOCK_PI2
#define FUTEX_LOCK_PI2 13
#endif

namespace moat::syscalls {

namespace {

using kernel::FutexDeadline;

bool HasTimeout(int cmd) {
    return cmd == FUTEX_WAIT || cmd == FUTEX_LOCK_PI || cmd == FUTEX_LOCK_PI2 || cmd == FUTEX_WAIT_BITSET ||
           cmd == FUTEX_WAIT_REQUEUE_PI;
}

// Linux's futex_init_timeout: FUTEX_WAIT's timeout is relative (CLOCK_MONOTONIC); the others
// are absolute, on CLOCK_REALTIME for FUTEX_LOCK_PI and with FUTEX_CLOCK_REALTIME, else on
// CLOCK_MONOTONIC. Converted here to a host steady-clock deadline.
Result<FutexDeadline> Deadline(kernel::Task& t, uint64_t uaddr, int cmd, bool realtime) {
    auto ts = TRY(t.mm().CopyInObject<struct timespec>(mm::UserAddr(uaddr)));
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
        return Error(EINVAL);
    auto rel = std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
    auto now = std::chrono::steady_clock::now();
    // Far-future deadlines saturate instead of overflowing the clock.
    constexpr auto kMax = std::chrono::hours(24 * 365 * 100);
    if (cmd == FUTEX_WAIT)
        return FutexDeadline(now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::min<std::chrono::nanoseconds>(rel, kMax)));
    if (cmd == FUTEX_LOCK_PI)
        realtime = true;
    auto clock_now = TRY(t.kernel().timekeeper().Now(realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC));
    auto sandbox_now = std::chrono::seconds(clock_now.tv_sec) + std::chrono::nanoseconds(clock_now.tv_nsec);
    auto remaining = std::clamp<std::chrono::nanoseconds>(rel - sandbox_now, std::chrono::nanoseconds(0), kMax);
    return FutexDeadline(now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(remaining));
}

// FUTEX_WAIT(_BITSET). Untimed, a signal makes it ERESTARTSYS; timed (Linux's
// futex_wait_restart), ERESTART_RESTARTBLOCK: a handler makes it EINTR, otherwise
// restart_syscall waits again for the same deadline, re-checking the value.
SyscallResult Wait(kernel::Task& t, uint64_t uaddr, bool priv, uint32_t val, uint32_t bitset, FutexDeadline deadline) {
    auto key = TRY(kernel::GetFutexKey(t.mm(), uaddr, priv));
    auto r = t.kernel().futexes().Wait(t, key, uaddr, val, bitset, deadline);
    if (!r.ok() && r.error() == ERESTARTSYS && deadline) {
        t.restart_block = [=](kernel::Task& task) -> Result<uint64_t> {
            return Wait(task, uaddr, priv, val, bitset, deadline);
        };
        return Error(ERESTART_RESTARTBLOCK);
    }
    TRY(r);
    return 0;
}

}  // namespace

// Implements Linux futex(2): WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAKE_OP, WAIT_BITSET,
// WAKE_BITSET, LOCK_PI, LOCK_PI2, TRYLOCK_PI, UNLOCK_PI, CMP_REQUEUE_PI, WAIT_REQUEUE_PI;
// private and shared (cross-process) futexes; FUTEX_CLOCK_REALTIME.
// Differs: PI futexes keep Linux's owner-TID protocol but do not boost priorities.
SyscallResult sys_futex(kernel::Task& t, const SyscallArgs& a) {
    const uint64_t uaddr = a[0];
    const int op = arg_int(a, 1);
    const uint32_t val = arg_uint(a, 2);
    const uint64_t uaddr2 = a[4];
    const uint32_t val3 = arg_uint(a, 5);
    const int cmd = op & FUTEX_CMD_MASK;
    const bool priv = op & FUTEX_PRIVATE_FLAG;
    const bool realtime = op & FUTEX_CLOCK_REALTIME;
    auto& table = t.kernel().futexes();
    auto& mm = t.mm();

    FutexDeadline deadline;
    if (a[3] && HasTimeout(cmd))
        deadline = TRY(Deadline(t, a[3], cmd, realtime));
    if (realtime && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAIT_REQUEUE_PI && cmd != FUTEX_LOCK_PI2)
        return Error(ENOSYS);
    // The timeout argument doubles as a count (val2) for the requeue and wake-op commands.
    const int val2 = arg_int(a, 3);

    switch (cmd) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET: {
        uint32_t bitset = cmd == FUTEX_WAIT ? FUTEX_BITSET_MATCH_ANY : val3;
        if (bitset == 0)
            return Error(EINVAL);
        return Wait(t, uaddr, priv, val, bitset, deadline);
    }
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET: {
        uint32_t bitset = cmd == FUTEX_WAKE ? FUTEX_BITSET_MATCH_ANY : val3;
        if (bitset == 0)
            return Error(EINVAL);
        auto key = TRY(kernel::GetFutexKey(mm, uaddr, priv));
        return static_cast<uint64_t>(TRY(table.Wake(key, bitset, static_cast<int>(val))));
    }
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE: {
        if (static_cast<int>(val) < 0 || val2 < 0)
            return Error(EINVAL);
        auto key1 = TRY(kernel::GetFutexKey(mm, uaddr, priv));
        auto key2 = TRY(kernel::GetFutexKey(mm, uaddr2, priv));
        std::optional<uint32_t> cmp;
        if (cmd == FUTEX_CMP_REQUEUE)
            cmp = val3;
        return static_cast<uint64_t>(TRY(table.Requeue(t, key1, uaddr, key2, static_cast<int>(val), val2, cmp)));
    }
    case FUTEX_WAKE_OP: {
        auto key1 = TRY(kernel::GetFutexKey(mm, uaddr, priv));
        auto key2 = TRY(kernel::GetFutexKey(mm, uaddr2, priv));
        return static_cast<uint64_t>(TRY(table.WakeOp(t, key1, key2, uaddr2, static_cast<int>(val), val2, val3)));
    }
    case FUTEX_LOCK_PI:
    case FUTEX_LOCK_PI2:
    case FUTEX_TRYLOCK_PI: {
        auto key = TRY(kernel::GetFutexKey(mm, uaddr, priv));
        TRY(table.LockPi(t, key, uaddr, cmd == FUTEX_TRYLOCK_PI, deadline));
        return 0;
    }
    case FUTEX_UNLOCK_PI: {
        auto key = TRY(kernel::GetFutexKey(mm, uaddr, priv));
        TRY(table.UnlockPi(t, key, uaddr));
        return 0;
    }
    case FUTEX_WAIT_REQUEUE_PI: {
        if (uaddr == uaddr2 || val3 == 0)
            return Error(EINVAL);
        auto key1 = TRY(kernel::GetFutexKey(mm, uaddr, priv));
        auto key2 = TRY(kernel::GetFutexKey(mm, uaddr2, priv));
        TRY(table.WaitRequeuePi(t, key1, uaddr, val, key2, deadline));
        return 0;
    }
    case FUTEX_CMP_REQUEUE_PI: {
        if (static_cast<int>(val) < 0 || val2 < 0)
            return Error(EINVAL);
        if (uaddr == uaddr2 || val != 1)
            return Error(EINVAL);
        auto key1 = TRY(kernel::GetFutexKey(mm, uaddr, priv));
        auto key2 = TRY(kernel::GetFutexKey(mm, uaddr2, priv));
        return static_cast<uint64_t>(TRY(table.CmpRequeuePi(t, key1, uaddr, key2, uaddr2, val2, val3)));
    }
    default:
        return Error(ENOSYS);
    }
}

// Implements Linux futex_waitv(2): waits on up to 128 32-bit futexes at once and returns
// the index of one that was woken. The timeout is absolute, on CLOCK_MONOTONIC or
// CLOCK_REALTIME. A signal makes it ERESTARTSYS.
SyscallResult sys_futex_waitv(kernel::Task& t, const SyscallArgs& a) {
    constexpr uint32_t kSize32 = 0x02, kSizeMask = 0x03;  // FUTEX2_SIZE_U32, FUTEX2_SIZE_MASK
    const uint64_t uwaiters = a[0];
    const uint32_t count = arg_uint(a, 1);
    if (arg_uint(a, 2) != 0)
        return Error(EINVAL);
    if (!uwaiters || count == 0 || count > FUTEX_WAITV_MAX)
        return Error(EINVAL);
    FutexDeadline deadline;
    if (a[3]) {
        clockid_t clock = arg_int(a, 4);
        if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC)
            return Error(EINVAL);
        deadline = TRY(Deadline(t, a[3], FUTEX_WAIT_BITSET, clock == CLOCK_REALTIME));
    }
    std::vector<struct futex_waitv> raw(count);
    TRY(t.mm().CopyIn(mm::UserAddr(uwaiters), raw.data(), raw.size() * sizeof(struct futex_waitv)));
    std::vector<kernel::FutexTable::WaitvEntry> entries;
    entries.reserve(count);
    for (const auto& w : raw) {
        if ((w.flags & ~(kSizeMask | FUTEX_PRIVATE_FLAG)) || (w.flags & kSizeMask) != kSize32 || w.__reserved)
            return Error(EINVAL);
        if (w.val > UINT32_MAX)
            return Error(EINVAL);
        auto key = TRY(kernel::GetFutexKey(t.mm(), w.uaddr, w.flags & FUTEX_PRIVATE_FLAG));
        entries.push_back({key, w.uaddr, static_cast<uint32_t>(w.val)});
    }
    return static_cast<uint64_t>(TRY(t.kernel().futexes().WaitMultiple(t, entries, deadline)));
}

}  // namespace moat::syscalls
