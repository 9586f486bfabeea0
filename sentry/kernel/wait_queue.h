#pragma once
// Blocking inside the sentry. A task that must wait for something (a futex, a pipe, a child,
// a timer) calls Task::Block with a WaitQueue the event's owner notifies and a `ready`
// predicate; signals and exits wake it through the same task-level flag.
//
// Protocol (no lost wake-ups, no lock nesting): the waker changes the state, then calls
// WaitQueue::Notify (it may hold its own lock while doing so). The blocked task clears its
// woken flag, evaluates `ready()` (which may take the owner's lock), and sleeps only if no
// wake-up arrived since the flag was cleared. Lock order: owner's lock → WaitQueue::m_lock →
// Task's block lock; `ready()` is never called with a WaitQueue or block lock held.

#include "sentry/kernel/forward.h"

#include <mutex>
#include <vector>

namespace moat::kernel {

class WaitQueue {
public:
    void Add(Task* task);
    void Remove(Task* task);
    // Wakes every task blocked on this queue (they re-check their predicates).
    void Notify();

private:
    std::mutex m_lock;
    std::vector<Task*> m_tasks;  // guarded by m_lock
};

}  // namespace moat::kernel
