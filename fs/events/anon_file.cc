#include "fs/events/anon_file.h"

#include "sentry/kernel/task.h"

#include <sys/stat.h>

namespace moat::fs {

namespace {
// anon_inodefs: one inode for every such file. The numbers are the ones a typical Linux shows
// (the device is the anonymous-block-device number anon_inodefs gets at boot).
constexpr uint64_t kAnonInodeDev = 0xe;
constexpr uint64_t kAnonInodeIno = 1;
}  // namespace

Result<InodeAttr> AnonFile::Stat() {
    InodeAttr a;
    a.dev = kAnonInodeDev;
    a.ino = kAnonInodeIno;
    a.mode = S_IRUSR | S_IWUSR;
    a.nlink = 1;
    a.blksize = 4096;
    return a;
}

Result<void> AnonFile::WaitUntil(const std::function<bool()>& ready) {
    if (ready())
        return {};
    kernel::Task* task = kernel::Task::Current();
    if (nonblocking() || !task)
        return Error(EAGAIN);
    FileWaiter waiter(*task);
    waiter.Watch(m_events);
    return waiter.Wait(ready, std::nullopt);
}

}  // namespace moat::fs
