#include "fs/host/stdio_file.h"

#include "fs/host/filesystem.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

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

Result<std::shared_ptr<HostStreamFile>> HostStreamFile::Create(int host_fd) {
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
        file = std::make_shared<TtyFile>(flags, std::move(dup));
    else
        file = std::make_shared<HostStreamFile>(flags, std::move(dup));
    file->m_seekable = regular;
    return file;
}

bool HostStreamFile::seekable() const { return m_seekable; }

Result<InodeAttr> HostStreamFile::Stat() {
    struct stat st;
    if (::fstat(m_fd.get(), &st) < 0)
        return HostErrno();
    return AttrFromStat(st);
}

Result<void> HostStreamFile::WaitReady(short events) {
    if (!(status_flags() & O_NONBLOCK))
        return {};
    struct pollfd p = {m_fd.get(), events, 0};
    int n = ::poll(&p, 1, 0);
    if (n < 0)
        return HostError();
    if (n == 0)
        return Error(EAGAIN);
    return {};
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

std::shared_ptr<FdTable> FdTable::CreateWithHostStdio() {
    auto table = std::make_shared<FdTable>();
    for (int fd = 0; fd <= 2; ++fd) {
        auto file = HostStreamFile::Create(fd);
        if (!file.ok())
            continue;  // closed on the host: closed in the sandbox too
        (void)table->InstallAt(fd, file.release_value(), /*cloexec=*/false, 3);
    }
    return table;
}

}  // namespace moat::fs
