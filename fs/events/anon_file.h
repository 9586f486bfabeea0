#pragma once
// AnonFile: the base of the files Linux makes with anon_inode_getfile — eventfd, epoll,
// timerfd, signalfd. They share one inode (mode 0600, no file type bits), are opened O_RDWR,
// and /proc/<pid>/fd/N names them "anon_inode:[<name>]".

#include "fs/events/file_waiter.h"
#include "fs/file.h"
#include "sentry/kernel/event_queue.h"

#include <memory>
#include <string>

namespace moat::fs {

class AnonFile : public File {
public:
    // `name`: "eventfd", "eventpoll", "timerfd", "signalfd". `nonblock`: O_NONBLOCK.
    AnonFile(const char* name, bool nonblock) : File(O_RDWR | (nonblock ? O_NONBLOCK : 0)), m_name(name) {}

    Result<InodeAttr> Stat() override;
    // Linux's noop_llseek: the position stays 0 whatever is asked.
    Result<int64_t> Seek(int64_t, int) override { return 0; }
    std::string anon_name() const override { return std::string("anon_inode:[") + m_name + "]"; }
    std::shared_ptr<kernel::EventQueue> event_queue() override { return m_events; }

protected:
    bool nonblocking() const { return status_flags() & O_NONBLOCK; }
    // Blocks the current task until `ready()` (checked first), listening on this file's own
    // queue: EAGAIN when O_NONBLOCK (or no task), ERESTARTSYS when a signal interrupts.
    Result<void> WaitUntil(const std::function<bool()>& ready);

    const std::shared_ptr<kernel::EventQueue> m_events = std::make_shared<kernel::EventQueue>();

private:
    const char* m_name;
};

}  // namespace moat::fs
