#include "fs/events/poll.h"

#include <chrono>

namespace moat::fs {

namespace {
int Scan(std::vector<PollEntry>& entries) {
    int ready = 0;
    for (PollEntry& e : entries) {
        if (e.file)
            e.revents = e.file->Readiness(e.filter) & e.filter;
        if (e.revents)
            ++ready;
    }
    return ready;
}

bool Expired(const Deadline& deadline) {
    return deadline && *deadline <= std::chrono::steady_clock::now();
}
}  // namespace

Result<int> PollFiles(kernel::Task& task, std::vector<PollEntry>& entries, Deadline deadline) {
    int ready = Scan(entries);
    if (ready || Expired(deadline))
        return ready;
    // Listen first, then re-check: a change between the scan and the sleep is not lost.
    FileWaiter waiter(task);
    for (PollEntry& e : entries)
        if (e.file)
            waiter.Watch(e.file->event_queue());
    auto r = waiter.Wait([&] { return (ready = Scan(entries)) > 0; }, deadline);
    if (!r.ok() && r.error() != ETIMEDOUT)
        return Error(r.error());
    return ready;
}

}  // namespace moat::fs
