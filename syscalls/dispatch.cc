#include "platform/base/log.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/oom_killer.h"
#include "sentry/kernel/signals.h"
#include "sentry/mm/memory_file.h"
#include "sentry/kernel/task.h"
#include "syscalls/strace.h"
#include "syscalls/table.h"

#include <unistd.h>

#include <csignal>

#include <sys/syscall.h>

namespace moat::syscalls {

namespace {
void WriteStrace(kernel::Task& task, const std::string& line) {
    int fd = task.kernel().options().strace_fd;
    std::string s = line;
    s.push_back('\n');
    const char* p = s.data();
    size_t n = s.size();
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w <= 0)
            return;
        p += w;
        n -= static_cast<size_t>(w);
    }
}
// The handler failed because the memory file had no frame for it (page cache, tmpfs, a copy
// that populates or breaks COW). As Linux's allocator calls the OOM killer and retries, the
// syscall restarts once a victim's memory is freed; if this process is the victim it dies
// (the error is what its last syscall returns, which nobody sees).
int64_t AfterOutOfMemory(kernel::Task& task, int64_t ret) {
    if (task.kernel().oom_killer().OutOfMemory(task) == kernel::OomKiller::Outcome::Retry)
        return -ERESTARTNOINTR;
    (void)kernel::SendGroupSignal(task.thread_group(), kernel::MakeSigInfo(SIGKILL, SI_KERNEL));
    return ret;
}
}  // namespace

void Dispatch(kernel::Task& task) {
    platform::Registers& r = task.regs();
    const uint64_t nr = r.orig_rax;
    const SyscallArgs args = {r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9};
    const bool strace = task.kernel().options().strace;

    const SyscallEntry* entry = Lookup(nr);
    // exit and exit_group do not return: strace prints them before they happen.
    if (strace && (nr == SYS_exit || nr == SYS_exit_group))
        WriteStrace(task, FormatSyscall(task, nr, args, 0, false));

    int64_t ret;
    if (entry && entry->handler) {
        (void)mm::MemoryFile::TakeAllocationFailure();  // only this syscall's allocations count
        SyscallResult res = entry->handler(task, args);
        ret = res.ok() ? static_cast<int64_t>(res.value()) : -static_cast<int64_t>(res.error());
        if (!res.ok() && mm::MemoryFile::TakeAllocationFailure())
            ret = AfterOutOfMemory(task, ret);
    } else {
        task.kernel().CountUnimplemented(nr);
        log::debug("[{}] unimplemented syscall {} ({})", task.tid(), nr, entry ? entry->name : "unknown");
        ret = -ENOSYS;
    }
    // A restart code (-ERESTARTSYS & co.) stays in rax: signal delivery, the one place that
    // knows whether a handler runs, turns it into -EINTR or a restart (task_signals.cc).

    if (task.regs_replaced) {
        task.regs_replaced = false;
        if (strace)
            WriteStrace(task, FormatSyscall(task, nr, args, 0, true));
        return;
    }
    r.rax = static_cast<uint64_t>(ret);
    if (strace && nr != SYS_exit && nr != SYS_exit_group)
        WriteStrace(task, FormatSyscall(task, nr, args, ret, true));
}

}  // namespace moat::syscalls
