#pragma once
// The core of poll(2), ppoll(2), select(2) and pselect6(2): Linux's do_poll over a set of
// files. The syscall layer (syscalls/sys_poll.cc) decodes the app's pollfd array or fd_sets
// into PollEntry values and encodes the results.

#include "fs/events/file_waiter.h"
#include "fs/file.h"

#include <memory>
#include <vector>

namespace moat::fs {

struct PollEntry {
    std::shared_ptr<File> file;  // null: no file (revents is set by the caller and kept)
    uint32_t filter = 0;         // the POLL* bits that count (poll: events|POLLERR|POLLHUP)
    uint32_t revents = 0;        // Readiness & filter after PollFiles
};

// Evaluates every entry with a file, then — while none is ready (revents != 0, files or not)
// and the deadline is not reached — sleeps until one of the files notifies. A zero timeout
// is a deadline in the past. Returns the number of entries with revents != 0 (0 on timeout),
// or ERESTARTSYS when a signal the task does not block is pending.
Result<int> PollFiles(kernel::Task& task, std::vector<PollEntry>& entries, Deadline deadline);

}  // namespace moat::fs
