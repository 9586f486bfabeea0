#include "sentry/kernel/futex.h"

namespace moat::kernel {

int FutexTable::Wake(Key key, uint32_t bitset, int count) {
    std::lock_guard lock(m_lock);
    int woken = 0;
    auto [begin, end] = m_waiters.equal_range(key);
    for (auto it = begin; it != end && woken < count;) {
        if (it->second->bitset & bitset) {
            it->second->woken = true;
            it = m_waiters.erase(it);
            ++woken;
        } else {
            ++it;
        }
    }
    if (woken)
        m_cv.notify_all();
    return woken;
}

void FutexTable::WakeAll() {
    std::lock_guard lock(m_lock);
    m_cv.notify_all();
}

}  // namespace moat::kernel
