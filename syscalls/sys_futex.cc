#include "sentry/kernel/futex.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/kernel/timekeeper.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <linux/futex.h>

#include <chrono>

namespace moat::syscalls {

namespace {

Result<std::optional<std::chrono::steady_clock::time_point>> Deadline(kernel::Task& t, uint64_t uaddr, bool absolute,
                                                                       bool realtime) {
    if (!uaddr)
        return std::optional<std::chrono::steady_clock::time_point>{};
    auto ts = TRY(t.mm().CopyInObject<struct timespec>(mm::UserAddr(uaddr)));
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
        return Error(EINVAL);
    auto rel = std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
    auto now = std::chrono::steady_clock::now();
    if (!absolute)
        return std::optional(now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(rel));
    // An absolute deadline on the sandbox's clock, converted to the host's steady clock.
    auto clock_now = TRY(t.kernel().timekeeper().Now(realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC));
    auto sandbox_now = std::chrono::seconds(clock_now.tv_sec) + std::chrono::nanoseconds(clock_now.tv_nsec);
    auto remaining = rel - sandbox_now;
    if (remaining.count() < 0)
        remaining = std::chrono::nanoseconds(0);
    return std::optional(now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(remaining));
}

}  // namespace

// Implements Linux futex(2): WAIT, WAKE, WAIT_BITSET, WAKE_BITSET for futexes within one
// process. FIXME(#3): REQUEUE, CMP_REQUEUE, WAKE_OP, PI, shared futexes across processes.
SyscallResult sys_futex(kernel::Task& t, const SyscallArgs& a) {
    uint64_t uaddr = a[0];
    int op = arg_int(a, 1);
    uint32_t val = arg_uint(a, 2);
    int cmd = op & FUTEX_CMD_MASK;
    bool realtime = op & FUTEX_CLOCK_REALTIME;
    if (uaddr % 4)
        return Error(EINVAL);
    kernel::FutexTable::Key key{&t.mm(), uaddr};
    auto& table = t.kernel().futexes();

    switch (cmd) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET: {
        uint32_t bitset = cmd == FUTEX_WAIT ? FUTEX_BITSET_MATCH_ANY : arg_uint(a, 5);
        if (bitset == 0)
            return Error(EINVAL);
        if (cmd == FUTEX_WAIT && realtime)
            return Error(ENOSYS);
        auto deadline = TRY(Deadline(t, a[3], cmd == FUTEX_WAIT_BITSET, realtime));
        auto equal = [&]() -> Result<bool> {
            uint32_t cur = TRY(t.mm().CopyInObject<uint32_t>(mm::UserAddr(uaddr)));
            return cur == val;
        };
        auto interrupted = [&] { return t.exiting() || t.thread_group().exiting(); };
        TRY(table.Wait(key, bitset, equal, interrupted, deadline));
        return 0;
    }
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET: {
        uint32_t bitset = cmd == FUTEX_WAKE ? FUTEX_BITSET_MATCH_ANY : arg_uint(a, 5);
        if (bitset == 0)
            return Error(EINVAL);
        int count = static_cast<int>(std::min<uint32_t>(val, INT32_MAX));
        return static_cast<uint64_t>(table.Wake(key, bitset, count));
    }
    default:
        return Error(ENOSYS);
    }
}

}  // namespace moat::syscalls
