#include "fs/host/stdio_file.h"

#include "fs/events/file_waiter.h"
#include "fs/host/filesystem.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>
#include <thread>

namespace moat::fs {

namespace {
// The kernel's struct termios (TCGETS/TCSETS), not glibc's.
struct KernelTermios {
    uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
    uint8_t c_line;
    uint8_t c_cc[19];
};
static_assert(sizeof(KernelTermios) == 36);

Error HostError() {
    // A host call interrupted by a sentry signal: let signal delivery decide (restart or EINTR).
    return errno == EINTR ? Error(ERESTARTSYS) : HostErrno();
}
}  // namespace

Result<std::shared_ptr<HostStreamFile>> HostStreamFile::Create(int host_fd, const VfsPath* console) {
    int fd = ::fcntl(host_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return HostErrno();
    UniqueFd dup(fd);
    int fl = ::fcntl(fd, F_GETFL);
    if (fl < 0)
        return HostErrno();
    // The app's view: the access mode and O_APPEND of the host description; never O_NONBLOCK.
    int flags = (fl & (O_ACCMODE | O_APPEND)) | O_LARGEFILE;
    struct stat st;
    bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    std::shared_ptr<HostStreamFile> file;
    if (::isatty(fd))
        file = std::make_shared<TtyFile>(flags, std::move(dup), console ? std::optional<VfsPath>(*console) : std::nullopt);
    else
        file = std::make_shared<HostStreamFile>(flags, std::move(dup));
    file->m_seekable = regular;
    return file;
}

bool HostStreamFile::seekable() const { return m_seekable; }

Result<InodeAttr> TtyFile::Stat() {
    if (path())
        return File::Stat();
    return HostStreamFile::Stat();
}

Result<InodeAttr> HostStreamFile::Stat() {
    struct stat st;
    if (::fstat(m_fd.get(), &st) < 0)
        return HostErrno();
    return AttrFromStat(st);
}

// Host-polls the stdio fd for the events someone waits for, on its own thread, and notifies
// the file's queue when they come; a host eventfd interrupts the host poll to change the
// events or to stop.
class HostStreamFile::Watcher {
public:
    Watcher(int fd, std::shared_ptr<kernel::EventQueue> events, UniqueFd wake)
        : m_fd(fd), m_events(std::move(events)), m_wake(std::move(wake)), m_thread([this] { Run(); }) {}
    ~Watcher() {
        {
            std::lock_guard lock(m_lock);
            m_stop = true;
        }
        Kick();
        m_thread.join();
    }
    void Arm(uint32_t events) {
        {
            std::lock_guard lock(m_lock);
            if ((m_armed | events) == m_armed)
                return;
            m_armed |= events;
        }
        Kick();
    }

private:
    void Kick() {
        uint64_t one = 1;
        (void)!::write(m_wake.get(), &one, sizeof(one));
    }
    void Run() {
        for (;;) {
            short armed;
            {
                std::lock_guard lock(m_lock);
                if (m_stop)
                    return;
                armed = static_cast<short>(m_armed);
            }
            struct pollfd p[2] = {{armed ? m_fd : -1, armed, 0}, {m_wake.get(), POLLIN, 0}};
            if (::poll(p, 2, -1) < 0)
                continue;  // EINTR
            if (p[1].revents) {
                uint64_t n;
                (void)!::read(m_wake.get(), &n, sizeof(n));
            }
            if (p[0].revents) {
                {
                    std::lock_guard lock(m_lock);
                    m_armed &= ~static_cast<uint32_t>(p[0].revents);
                    if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL))
                        m_armed = 0;  // they never go away: report once, not in a loop
                }
                m_events->Notify(static_cast<uint16_t>(p[0].revents));
            }
        }
    }

    const int m_fd;
    const std::shared_ptr<kernel::EventQueue> m_events;
    UniqueFd m_wake;
    std::mutex m_lock;
    uint32_t m_armed = 0;  // guarded by m_lock
    bool m_stop = false;   // guarded by m_lock
    std::thread m_thread;  // last: starts once the rest is built
};

HostStreamFile::HostStreamFile(int flags, UniqueFd fd, std::optional<VfsPath> path)
    : File(flags, std::move(path)), m_fd(std::move(fd)) {}

HostStreamFile::~HostStreamFile() {
    std::lock_guard lock(m_watcher_lock);
    m_watcher.reset();  // joined before m_fd closes
}

void HostStreamFile::Arm(uint32_t events) {
    std::lock_guard lock(m_watcher_lock);
    if (!m_watcher) {
        int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (wake < 0)
            return;  // no watcher: waiters wake only for signals
        m_watcher = std::make_unique<Watcher>(m_fd.get(), m_events, UniqueFd(wake));
    }
    m_watcher->Arm(events);
}

uint32_t HostStreamFile::Readiness(uint32_t interest) {
    constexpr short kAsked = POLLIN | POLLPRI | POLLOUT | POLLRDHUP;
    struct pollfd p = {m_fd.get(), kAsked, 0};
    if (::poll(&p, 1, 0) < 0)
        return 0;
    auto ready = static_cast<uint16_t>(p.revents);
    if (ready & POLLIN)
        ready |= POLLRDNORM;
    if (ready & POLLOUT)
        ready |= POLLWRNORM;
    uint32_t missing = interest & static_cast<uint32_t>(kAsked) & ~static_cast<uint32_t>(ready);
    if (missing && !(ready & (POLLHUP | POLLERR)) && !m_events->empty())
        Arm(missing);
    return ready;
}

Result<void> HostStreamFile::WaitReady(short events) {
    uint32_t done = static_cast<uint16_t>(events) | POLLHUP | POLLERR;
    if (Readiness(static_cast<uint16_t>(events)) & done)
        return {};
    kernel::Task* task = kernel::Task::Current();
    if ((status_flags() & O_NONBLOCK))
        return Error(EAGAIN);
    if (!task)
        return {};  // the sentry itself (tests): a plain blocking host call
    FileWaiter waiter(*task);
    waiter.Watch(m_events);
    return waiter.Wait([&] { return (Readiness(static_cast<uint16_t>(events)) & done) != 0; }, std::nullopt);
}

Result<size_t> HostStreamFile::Read(IoDst& dst) {
    if (dst.remaining() == 0)
        return size_t{0};
    TRY(WaitReady(POLLIN));
    // One host read of at most one chunk: a stream returns what it has (a tty one line), and a
    // second read could block.
    size_t n = dst.remaining() < kIoChunk ? dst.remaining() : kIoChunk;
    std::unique_ptr<uint8_t[]> buf(new (std::nothrow) uint8_t[n]);
    if (!buf)
        return Error(ENOMEM);
    ssize_t got = ::read(m_fd.get(), buf.get(), n);
    if (got < 0)
        return HostError();
    return dst.Put(std::span<const uint8_t>(buf.get(), static_cast<size_t>(got)));
}

Result<size_t> HostStreamFile::PRead(IoDst& dst, uint64_t offset) {
    if (!m_seekable)
        return Error(ESPIPE);
    int fd = m_fd.get();
    return ChunkedRead(dst, offset, [fd](std::span<uint8_t> buf, uint64_t off) -> Result<size_t> {
        ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(off));
        if (n < 0)
            return HostError();
        return static_cast<size_t>(n);
    });
}

Result<size_t> HostStreamFile::Write(IoSrc& src) {
    size_t total = 0;
    std::unique_ptr<uint8_t[]> buf;
    size_t cap = 0;
    while (src.remaining() > 0) {
        if (total == 0)
            TRY(WaitReady(POLLOUT));
        size_t want = src.remaining() < kIoChunk ? src.remaining() : kIoChunk;
        if (cap < want) {
            buf.reset(new (std::nothrow) uint8_t[want]);
            if (!buf)
                return Error(ENOMEM);
            cap = want;
        }
        auto taken = src.Take(std::span<uint8_t>(buf.get(), want));
        if (!taken.ok()) {
            if (total > 0)
                break;
            return Error(taken.error());
        }
        size_t off = 0;
        while (off < *taken) {
            ssize_t n = ::write(m_fd.get(), buf.get() + off, *taken - off);
            if (n < 0) {
                if (total + off > 0)
                    return total + off;
                // EPIPE: the caller is to send SIGPIPE (the sentry itself ignores it).
                return HostError();
            }
            off += static_cast<size_t>(n);
        }
        total += off;
        if (*taken < want)
            break;  // the source faulted part-way
    }
    return total;
}

Result<size_t> HostStreamFile::PWrite(IoSrc& src, uint64_t offset) {
    if (!m_seekable)
        return Error(ESPIPE);
    size_t total = 0;
    uint8_t buf[4096];
    while (src.remaining() > 0) {
        auto taken = src.Take(std::span<uint8_t>(buf, sizeof(buf)));
        if (!taken.ok()) {
            if (total > 0)
                break;
            return Error(taken.error());
        }
        ssize_t n = ::pwrite(m_fd.get(), buf, *taken, static_cast<off_t>(offset + total));
        if (n < 0) {
            if (total > 0)
                break;
            return HostError();
        }
        total += static_cast<size_t>(n);
        if (static_cast<size_t>(n) < *taken)
            break;
    }
    return total;
}

Result<int64_t> HostStreamFile::Seek(int64_t offset, int whence) {
    off_t r = ::lseek(m_fd.get(), offset, whence);
    if (r < 0)
        return HostErrno();
    return static_cast<int64_t>(r);
}

Result<int64_t> HostStreamFile::BytesReadable() {
    int n = 0;
    if (::ioctl(m_fd.get(), FIONREAD, &n) < 0)
        return HostErrno();
    return n;
}

Result<uint64_t> TtyFile::Ioctl(kernel::Task& task, uint32_t request, uint64_t arg) {
    mm::MemoryManager& mm = task.mm();
    mm::UserAddr addr(arg);
    switch (request) {
    case TCGETS: {
        KernelTermios t;
        if (::ioctl(m_fd.get(), TCGETS, &t) < 0)
            return HostErrno();
        TRY(mm.CopyOutObject(addr, t));
        return 0;
    }
    case TCSETS:
    case TCSETSW:
    case TCSETSF: {
        auto t = TRY(mm.CopyInObject<KernelTermios>(addr));
        if (::ioctl(m_fd.get(), request, &t) < 0)
            return HostError();
        return 0;
    }
    case TIOCGWINSZ: {
        struct winsize ws;
        if (::ioctl(m_fd.get(), TIOCGWINSZ, &ws) < 0)
            return HostErrno();
        TRY(mm.CopyOutObject(addr, ws));
        return 0;
    }
    case TIOCSWINSZ: {
        auto ws = TRY(mm.CopyInObject<struct winsize>(addr));
        if (::ioctl(m_fd.get(), TIOCSWINSZ, &ws) < 0)
            return HostErrno();
        return 0;
    }
    case TIOCGPGRP: {
        // FIXME(#kernel-job-control): the sandbox's foreground process group; the caller's
        // pid stands in for it.
        pid_t pgrp = task.pid();
        TRY(mm.CopyOutObject(addr, pgrp));
        return 0;
    }
    case TIOCSPGRP: {
        // Accepted (after checking the pointer) until job control exists: shells set it.
        (void)TRY(mm.CopyInObject<pid_t>(addr));
        return 0;
    }
    default:
        return Error(ENOTTY);
    }
}

}  // namespace moat::fs

#include "fs/fd_table.h"

namespace moat::fs {

std::shared_ptr<FdTable> FdTable::CreateWithHostStdio(const VfsPath* console) {
    const int stdio[3] = {0, 1, 2};
    return CreateWithHostStdio(stdio, console);
}

std::shared_ptr<FdTable> FdTable::CreateWithHostStdio(const int (&fds)[3], const VfsPath* console) {
    auto table = std::make_shared<FdTable>();
    for (int fd = 0; fd <= 2; ++fd) {
        auto file = HostStreamFile::Create(fds[fd], console);
        if (!file.ok())
            continue;  // closed on the host: closed in the sandbox too
        (void)table->InstallAt(fd, file.release_value(), /*cloexec=*/false, 3);
    }
    return table;
}

}  // namespace moat::fs
