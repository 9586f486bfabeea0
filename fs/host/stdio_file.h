#pragma once
// The sentry's own stdin/stdout/stderr as the app's fds 0-2 (FdTable::CreateWithHostStdio).
// Each file holds a dup of the host fd (the app never holds a host fd):
//  - HostStreamFile: a pipe, regular file, socket or /dev/null: read/write/lseek pass
//    through to the host fd (so a regular stdin keeps the host's shared offset);
//  - TtyFile: the same for a terminal, plus the terminal ioctls answered by the host tty.
// O_NONBLOCK is the sandbox's own (kept in the file's status flags, emulated with poll):
// setting it on the host fd would change the user's terminal for every other process.
// Readiness is the host fd's (a host poll with no timeout). A blocking read or write first
// waits for readiness the interruptible way (Task::Block), so a signal ends the wait; the
// wake-up comes from a watcher thread (started on first need, joined with the file) that
// host-polls the fd for the events someone found missing and notifies the file's queue.
// These are the only host fds outside HostIo; they are the sentry's own stdio, not files of
// the sandbox's filesystem.

#include "fs/file.h"
#include "platform/base/unique_fd.h"

#include <memory>
#include <mutex>

namespace moat::fs {

class HostStreamFile : public File {
public:
    // Takes a dup of `host_fd`; EBADF if it is closed. A terminal named `console` (the
    // sandbox's /dev/console, when given) is that node to the app, as a container's console
    // is in runc: fstat and /proc/self/fd name it, so ttyname(3) and tty(1) find it.
    static Result<std::shared_ptr<HostStreamFile>> Create(int host_fd, const VfsPath* console = nullptr);

    HostStreamFile(int flags, UniqueFd fd, std::optional<VfsPath> path = std::nullopt);  // out of line: Watcher

    Result<InodeAttr> Stat() override;
    Result<size_t> Read(IoDst& dst) override;
    Result<size_t> PRead(IoDst& dst, uint64_t offset) override;
    Result<size_t> Write(IoSrc& src) override;
    Result<size_t> PWrite(IoSrc& src, uint64_t offset) override;
    Result<int64_t> Seek(int64_t offset, int whence) override;
    Result<int64_t> BytesReadable() override;
    bool seekable() const override;
    uint32_t Readiness(uint32_t interest) override;
    std::shared_ptr<kernel::EventQueue> event_queue() override { return m_events; }

    int host_fd() const { return m_fd.get(); }
    ~HostStreamFile() override;

protected:
    // Until the host fd is ready for `events`: EAGAIN at once when O_NONBLOCK is set,
    // ERESTARTSYS when a signal interrupts the wait.
    Result<void> WaitReady(short events);

    UniqueFd m_fd;
    bool m_seekable = false;

private:
    class Watcher;
    // Asks the watcher to report `events` when the host fd has them.
    void Arm(uint32_t events);

    const std::shared_ptr<kernel::EventQueue> m_events = std::make_shared<kernel::EventQueue>();
    std::mutex m_watcher_lock;
    std::unique_ptr<Watcher> m_watcher;  // guarded by m_watcher_lock
};

class TtyFile final : public HostStreamFile {
public:
    TtyFile(int flags, UniqueFd fd, std::optional<VfsPath> console = std::nullopt)
        : HostStreamFile(flags, std::move(fd), std::move(console)) {}
    // The console node's attributes when named one (its device number, owner, mode), else
    // the host terminal's.
    Result<InodeAttr> Stat() override;
    Result<uint64_t> Ioctl(kernel::Task& task, uint32_t request, uint64_t arg) override;
    bool is_tty() const override { return true; }
};

}  // namespace moat::fs
