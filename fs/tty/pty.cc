#include "fs/tty/pty.h"

#include "fs/devpts/filesystem.h"
#include "fs/tty/job_control.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/terminal.h"
#include "sentry/kernel/thread_group.h"

#include <poll.h>
#include <signal.h>

#include <algorithm>

namespace moat::fs {

namespace {
// One read moves at most this much (the bounce buffer).
constexpr size_t kReadChunk = 64 * 1024;
// Bytes a write takes from the app per round.
constexpr size_t kWriteChunk = 4096;
}  // namespace

Pty::Pty(uint32_t index, kernel::Kernel* kernel, const InodeAttr& node, std::weak_ptr<DevptsFileSystem> devpts)
    : m_index(index), m_kernel(kernel), m_devpts(std::move(devpts)), m_node(node) {}

Result<void> Pty::Wait(std::unique_lock<std::mutex>& lock, const std::function<bool()>& cond, Deadline deadline) {
    kernel::Task* task = kernel::Task::Current();
    if (!task) {
        if (!deadline) {
            m_cv.wait(lock);
            return {};
        }
        if (m_cv.wait_until(lock, *deadline) == std::cv_status::timeout)
            return Error(ETIMEDOUT);
        return {};
    }
    lock.unlock();
    auto r = task->Block(
        m_queue,
        [&] {
            std::lock_guard g(m_lock);
            return cond();
        },
        deadline);
    lock.lock();
    return r;
}

void Pty::NotifyLocked() {
    m_cv.notify_all();
    m_queue.Notify();
    m_events->Notify();
}

std::vector<int> Pty::PumpInputLocked() {
    LineDiscipline::Effects fx;
    while (!m_input.empty() && !m_ldisc.Full(m_termios)) {
        std::vector<uint8_t> chunk = m_input.Peek(LineDiscipline::kBufSize);
        size_t used = m_ldisc.Receive(m_termios, chunk, m_output, m_output_stopped, fx);
        m_input.Drop(used);
        if (fx.stop_output)
            m_output_stopped = true;
        if (fx.start_output)
            m_output_stopped = false;
        fx.stop_output = fx.start_output = false;
        if (used == 0)
            break;
    }
    NotifyLocked();
    return std::move(fx.signals);
}

void Pty::SignalForeground(const std::vector<int>& signals, pid_t pgrp) {
    if (!m_kernel || pgrp <= 0)
        return;
    for (int signo : signals)
        SignalProcessGroup(*m_kernel, pgrp, signo);
}

// ---- Master ----

Result<size_t> Pty::MasterRead(IoDst& dst, bool nonblock) {
    if (dst.remaining() == 0)
        return size_t{0};
    std::vector<uint8_t> chunk;
    {
        std::unique_lock lock(m_lock);
        while (m_output.empty()) {
            // Everything the slave wrote is read: then its closing is an error (TTY_OTHER_CLOSED).
            if (m_slave_closed)
                return Error(EIO);
            if (nonblock)
                return Error(EAGAIN);
            TRY(Wait(lock, [&] { return !m_output.empty() || m_slave_closed; }));
        }
        chunk = m_output.Take(std::min(dst.remaining(), kReadChunk));
        NotifyLocked();
    }
    // The bytes left the terminal; a fault copying them out loses them, as on Linux.
    return dst.Put(chunk);
}

Result<size_t> Pty::MasterWrite(IoSrc& src, bool nonblock) {
    size_t total = std::min(src.remaining(), kMaxRwCount);
    size_t done = 0;
    std::vector<uint8_t> chunk;
    while (done < total) {
        size_t want = std::min(total - done, kWriteChunk);
        chunk.resize(want);
        auto took = src.Take(chunk);
        if (!took.ok())
            return done ? Result<size_t>(done) : took;
        chunk.resize(*took);
        size_t off = 0;
        std::vector<int> signals;
        pid_t pgrp = 0;
        {
            std::unique_lock lock(m_lock);
            while (off < chunk.size()) {
                size_t room = m_input.room();
                if (room == 0) {
                    if (nonblock)
                        break;
                    auto waited = Wait(lock, [&] { return m_input.room() > 0; });
                    if (!waited.ok()) {
                        if (done + off == 0)
                            return Error(waited.error());
                        break;
                    }
                    continue;
                }
                size_t n = std::min(room, chunk.size() - off);
                (void)m_input.Push(std::span<const uint8_t>(chunk.data() + off, n));
                off += n;
                auto more = PumpInputLocked();
                signals.insert(signals.end(), more.begin(), more.end());
            }
            pgrp = m_pgrp;
        }
        SignalForeground(signals, pgrp);
        done += off;
        if (off < chunk.size()) {
            if (done == 0)
                return Error(EAGAIN);
            break;
        }
        if (*took < want)
            break;  // the source faulted part-way
    }
    return done;
}

size_t Pty::MasterReadable() {
    std::lock_guard lock(m_lock);
    return m_output.size();
}

uint32_t Pty::MasterReadiness() {
    std::lock_guard lock(m_lock);
    uint32_t mask = 0;
    if (!m_output.empty())
        mask |= POLLIN | POLLRDNORM;
    if (m_input.room() > 0)
        mask |= POLLOUT | POLLWRNORM;
    if (m_slave_closed)
        mask |= POLLHUP;
    return mask;
}

void Pty::MasterClosed() {
    pid_t session = 0;
    {
        std::lock_guard lock(m_lock);
        m_master_open = false;
        session = m_session;
        m_session = m_pgrp = 0;
        NotifyLocked();
    }
    if (auto devpts = m_devpts.lock())
        devpts->Remove(m_index);
    // The slave hangs up (tty_vhangup): its session leader gets SIGHUP and SIGCONT, and every
    // process of the session loses the terminal.
    if (m_kernel && session > 0) {
        SignalProcess(*m_kernel, session, SIGHUP);
        SignalProcess(*m_kernel, session, SIGCONT);
        kernel::ClearSessionTty(*m_kernel, session, this);
    }
}

// ---- Slave ----

Result<void> Pty::OpenSlave(const kernel::Credentials* creds) {
    std::lock_guard lock(m_lock);
    if (m_locked || !m_master_open)
        return Error(EIO);
    if (m_slave_exclusive && creds && !creds->HasCapability(CAP_SYS_ADMIN))
        return Error(EBUSY);
    ++m_slave_files;
    m_slave_closed = false;
    NotifyLocked();
    return {};
}

void Pty::SlaveClosed() {
    std::lock_guard lock(m_lock);
    if (--m_slave_files == 0)
        m_slave_closed = true;
    NotifyLocked();
}

bool Pty::hung_up() {
    std::lock_guard lock(m_lock);
    return !m_master_open;
}

Result<size_t> Pty::SlaveRead(IoDst& dst, bool nonblock) {
    if (hung_up())
        return size_t{0};
    if (kernel::Task* task = kernel::Task::Current())
        TRY(CheckBackground(*task, SIGTTIN));
    if (dst.remaining() == 0)
        return size_t{0};
    std::vector<uint8_t> buf(std::min(dst.remaining(), kReadChunk));
    size_t n = 0;
    std::vector<int> signals;
    pid_t pgrp = 0;
    {
        std::unique_lock lock(m_lock);
        // VMIN/VTIME (n_tty_read): VMIN > 0 waits for that many bytes, VTIME then being the
        // gap allowed between bytes; VMIN = 0 waits VTIME for the first byte (0: not at all).
        const bool canonical = m_termios.c_lflag & ICANON;
        size_t minimum = canonical ? 1 : m_termios.c_cc[VMIN];
        auto vtime = std::chrono::milliseconds(100 * m_termios.c_cc[VTIME]);
        bool inter_byte = false, no_wait = false;
        Deadline deadline;
        if (!canonical) {
            if (minimum) {
                inter_byte = vtime.count() > 0;
            } else {
                minimum = 1;
                if (vtime.count() > 0)
                    deadline = std::chrono::steady_clock::now() + vtime;
                else
                    no_wait = true;
            }
        }
        while (n < buf.size()) {
            if (!m_master_open)
                break;  // hung up: end of file
            if (!m_ldisc.Readable(m_termios)) {
                if (no_wait)
                    break;
                if (nonblock) {
                    if (n == 0)
                        return Error(EAGAIN);
                    break;
                }
                auto waited = Wait(lock, [&] { return m_ldisc.Readable(m_termios) || !m_master_open; }, deadline);
                if (!waited.ok()) {
                    if (waited.error() == ETIMEDOUT || n > 0)
                        break;
                    return Error(waited.error());
                }
                continue;
            }
            n += m_ldisc.Read(m_termios, std::span<uint8_t>(buf.data() + n, buf.size() - n));
            auto more = PumpInputLocked();  // room for what was waiting
            signals.insert(signals.end(), more.begin(), more.end());
            if (m_termios.c_lflag & ICANON)
                break;  // one line per read
            if (n >= minimum)
                break;
            if (inter_byte)
                deadline = std::chrono::steady_clock::now() + vtime;
        }
        pgrp = m_pgrp;
    }
    SignalForeground(signals, pgrp);
    if (n == 0)
        return size_t{0};
    return dst.Put(std::span<const uint8_t>(buf.data(), n));
}

Result<size_t> Pty::SlaveWrite(IoSrc& src, bool nonblock) {
    if (kernel::Task* task = kernel::Task::Current()) {
        bool tostop;
        {
            std::lock_guard lock(m_lock);
            tostop = m_termios.c_lflag & TOSTOP;
        }
        if (tostop)
            TRY(CheckBackground(*task, SIGTTOU));
    }
    size_t total = std::min(src.remaining(), kMaxRwCount);
    size_t done = 0;
    std::vector<uint8_t> chunk;
    while (done < total) {
        size_t want = std::min(total - done, kWriteChunk);
        chunk.resize(want);
        auto took = src.Take(chunk);
        if (!took.ok())
            return done ? Result<size_t>(done) : took;
        chunk.resize(*took);
        size_t off = 0;
        std::unique_lock lock(m_lock);
        while (off < chunk.size()) {
            if (!m_master_open)
                return done + off ? Result<size_t>(done + off) : Error(EIO);
            size_t n = m_output_stopped
                           ? 0
                           : m_ldisc.ProcessOutput(m_termios, std::span<const uint8_t>(chunk.data() + off,
                                                                                       chunk.size() - off),
                                                   m_output);
            off += n;
            if (n > 0)
                NotifyLocked();
            if (off == chunk.size())
                break;
            if (nonblock)
                return done + off ? Result<size_t>(done + off) : Error(EAGAIN);
            auto waited = Wait(lock, [&] {
                return !m_master_open || (!m_output_stopped && m_output.room() >= 8);
            });
            if (!waited.ok())
                return done + off ? Result<size_t>(done + off) : Error(waited.error());
        }
        done += off;
        if (*took < want)
            break;  // the source faulted part-way
    }
    return done;
}

Result<size_t> Pty::SlaveReadable() {
    std::lock_guard lock(m_lock);
    if (!m_master_open)
        return Error(EIO);
    return m_ldisc.Available(m_termios);
}

uint32_t Pty::SlaveReadiness() {
    std::lock_guard lock(m_lock);
    if (!m_master_open)
        return POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDNORM | POLLWRNORM;
    uint32_t mask = 0;
    // A poller wakes for VMIN bytes when VTIME is 0 (input_available_p with poll set).
    size_t amount = !(m_termios.c_lflag & ICANON) && m_termios.c_cc[VMIN] && !m_termios.c_cc[VTIME]
                        ? m_termios.c_cc[VMIN]
                        : 1;
    if (m_ldisc.Readable(m_termios, amount))
        mask |= POLLIN | POLLRDNORM;
    if (!m_output_stopped && m_output.room() > 0)
        mask |= POLLOUT | POLLWRNORM;
    return mask;
}

// ---- Node attributes ----

InodeAttr Pty::node_attr() {
    std::lock_guard lock(m_lock);
    return m_node;
}

Result<void> Pty::SetNodeAttr(const SetAttrRequest& req) {
    if (req.mask & SetAttrRequest::kSize)
        return Error(EINVAL);
    std::lock_guard lock(m_lock);
    if (req.mask & SetAttrRequest::kMode)
        m_node.mode = (m_node.mode & S_IFMT) | (req.mode & 07777);
    if (req.mask & SetAttrRequest::kUid)
        m_node.uid = req.uid;
    if (req.mask & SetAttrRequest::kGid)
        m_node.gid = req.gid;
    if (req.mask & SetAttrRequest::kAtime)
        m_node.atime = req.atime;
    if (req.mask & SetAttrRequest::kMtime)
        m_node.mtime = req.mtime;
    m_node.ctime = FsNow();
    return {};
}

}  // namespace moat::fs
