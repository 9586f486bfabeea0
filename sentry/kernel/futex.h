#pragma once
// Futexes: the wait queues behind FUTEX_WAIT/FUTEX_WAKE, owned by the Kernel. Waiters are
// keyed by (address space, address) for private futexes. Shared futexes across processes
// (keyed by memory-file frame) and the PI/requeue operations arrive with #3.

#include "platform/base/result.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <optional>

namespace moat::kernel {

class FutexTable {
public:
    struct Key {
        const void* space;  // the MemoryManager
        uint64_t addr;
        auto operator<=>(const Key&) const = default;
    };

    // Waits while `still_equal()` (evaluated under the table lock) is true, until woken,
    // the deadline passes (ETIMEDOUT), or `interrupted()` becomes true (EINTR; the
    // interrupter calls WakeAll to get the waiter to look). EAGAIN if not equal at first.
    template <typename EqualFn, typename InterruptFn>
    Result<void> Wait(Key key, uint32_t bitset, EqualFn still_equal, InterruptFn interrupted,
                      std::optional<std::chrono::steady_clock::time_point> deadline);
    // Wakes up to `count` waiters on key whose bitset intersects `bitset`; returns how many.
    int Wake(Key key, uint32_t bitset, int count);
    // Wakes every waiter (so interrupted ones can notice).
    void WakeAll();

private:
    struct Waiter {
        uint32_t bitset;
        bool woken = false;
    };
    std::mutex m_lock;
    std::condition_variable m_cv;
    std::multimap<Key, Waiter*> m_waiters;  // guarded by m_lock
};

template <typename EqualFn, typename InterruptFn>
Result<void> FutexTable::Wait(Key key, uint32_t bitset, EqualFn still_equal, InterruptFn interrupted,
                              std::optional<std::chrono::steady_clock::time_point> deadline) {
    std::unique_lock lock(m_lock);
    auto equal = still_equal();
    if (!equal.ok())
        return Error(equal.error());
    if (!equal.value())
        return Error(EAGAIN);
    Waiter self{bitset};
    auto it = m_waiters.emplace(key, &self);
    Result<void> result;
    while (!self.woken) {
        if (interrupted()) {
            result = Error(EINTR);
            break;
        }
        if (deadline) {
            if (m_cv.wait_until(lock, *deadline) == std::cv_status::timeout && !self.woken) {
                result = Error(ETIMEDOUT);
                break;
            }
        } else {
            m_cv.wait(lock);
        }
    }
    if (!self.woken)
        m_waiters.erase(it);
    return result;
}

}  // namespace moat::kernel
