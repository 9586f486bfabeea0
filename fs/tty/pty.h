#pragma once
// Pty: one pseudo-terminal pair — the master (what /dev/ptmx opens: a terminal emulator, script,
// sshd) and the slave (/dev/pts/N: the program's terminal). Bytes the master writes are typed
// into the slave's line discipline; what the slave writes is output-processed and read by the
// master. One Pty holds the slave's termios, window size, line discipline, and its job-control
// state: the session it controls and its foreground process group (Linux keeps these on the
// slave tty; the master's termios ioctls act on the slave's, as Linux's do).
//
// Life: made by DevptsFileSystem::OpenMaster, shared by the master file and the slave files.
// When the master closes, the slave is hung up (reads 0, writes and ioctls EIO, its session
// leader gets SIGHUP and SIGCONT, the session loses the terminal) and /dev/pts/N vanishes.
// When the last slave file closes, master reads drain and then fail with EIO (POLLHUP).
//
// Buffers (Linux's sizes): typed input waits in a 64 KiB queue (the tty flip buffer's limit)
// until the line discipline's 4 KiB read buffer has room; slave output waits in a 64 KiB queue
// for the master. A full queue blocks the writer (O_NONBLOCK: EAGAIN).
//
// Lock order: Pty::m_lock → ThreadGroup::signal_lock (controlling_tty()) → WaitQueue, EventQueue. Copies to
// and from the app, signals and the kernel's process lists are used with m_lock released.

#include "fs/file.h"
#include "fs/tty/line_discipline.h"
#include "fs/tty/termios.h"
#include "sentry/kernel/event_queue.h"
#include "sentry/kernel/terminal.h"
#include "sentry/kernel/wait_queue.h"

#include <sys/ioctl.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

namespace moat::fs {

class DevptsFileSystem;

class Pty final : public kernel::Terminal, public std::enable_shared_from_this<Pty> {
public:
    static constexpr size_t kInputQueueCapacity = 65536;
    static constexpr size_t kOutputQueueCapacity = 65536;

    // `node`: the attributes /dev/pts/N starts with. `kernel` (may be null in unit tests) is
    // where signals go.
    Pty(uint32_t index, kernel::Kernel* kernel, const InodeAttr& node, std::weak_ptr<DevptsFileSystem> devpts);

    uint32_t index() const { return m_index; }

    // ---- The master's side ----
    Result<size_t> MasterRead(IoDst& dst, bool nonblock);
    Result<size_t> MasterWrite(IoSrc& src, bool nonblock);
    size_t MasterReadable();
    uint32_t MasterReadiness();
    // The master file's last reference went away: hang up the slave.
    void MasterClosed();

    // ---- The slave's side ----
    // A slave open (EIO while locked or after the master closed; EBUSY when exclusive and the
    // opener is not root). On success the caller makes a PtySlaveFile.
    Result<void> OpenSlave(const kernel::Credentials* creds);
    void SlaveClosed();
    Result<size_t> SlaveRead(IoDst& dst, bool nonblock);
    Result<size_t> SlaveWrite(IoSrc& src, bool nonblock);
    Result<size_t> SlaveReadable();
    uint32_t SlaveReadiness();
    bool hung_up();

    // Pollers of both ends (poll, select, epoll) wait here; notified on every change.
    const std::shared_ptr<kernel::EventQueue>& events() const { return m_events; }

    // ioctl(2) on either end (pty_ioctl.cc). `file` is the open file it came through.
    Result<uint64_t> Ioctl(kernel::Task& task, File& file, bool master, uint32_t request, uint64_t arg);

    // Controlling terminal: a session leader opening the slave without O_NOCTTY gets it
    // (tty_open_proc_set_tty).
    void AcquireOnOpen(kernel::Task* task, bool readable);
    void SessionLeaderExited(pid_t sid) override;

    // /dev/pts/N's attributes (devpts serves them; chmod/chown change them).
    InodeAttr node_attr();
    Result<void> SetNodeAttr(const SetAttrRequest& req);

private:
    using Deadline = std::optional<std::chrono::steady_clock::time_point>;

    // Waits (m_lock held on entry and return) until `cond()` may have changed; ETIMEDOUT at
    // the deadline, ERESTARTSYS when the task must handle a signal.
    Result<void> Wait(std::unique_lock<std::mutex>& lock, const std::function<bool()>& cond,
                      Deadline deadline = std::nullopt);
    void NotifyLocked();
    // Moves typed input into the line discipline while it has room; returns the signals for
    // the foreground group (sent by the caller once m_lock is released).
    std::vector<int> PumpInputLocked();
    void SignalForeground(const std::vector<int>& signals, pid_t pgrp);

    // Job control (pty_ioctl.cc): Linux's __tty_check_change for a task using this terminal.
    Result<void> CheckBackground(kernel::Task& task, int signo);
    Result<uint64_t> TermiosIoctl(kernel::Task& task, uint32_t request, uint64_t arg);
    Result<uint64_t> JobIoctl(kernel::Task& task, File& file, bool master, uint32_t request, uint64_t arg);
    Result<uint64_t> MasterIoctl(kernel::Task& task, uint32_t request, uint64_t arg);
    Result<void> SetControllingTty(kernel::Task& task, File& file, uint64_t arg);
    Result<void> DropControllingTty(kernel::Task& task);
    Result<void> SetForeground(kernel::Task& task, pid_t pgrp);
    Result<void> Flush(bool master, int queue);
    Result<void> FlowControl(int action);
    void SetTermiosLocked(const KernelTermios& t);

    const uint32_t m_index;
    kernel::Kernel* const m_kernel;
    const std::weak_ptr<DevptsFileSystem> m_devpts;

    std::mutex m_lock;
    std::condition_variable m_cv;  // unit tests (no current task)
    kernel::WaitQueue m_queue;  // blocked readers and writers of both ends
    const std::shared_ptr<kernel::EventQueue> m_events = std::make_shared<kernel::EventQueue>();
    // Everything below is guarded by m_lock.
    KernelTermios m_termios = StandardTermios();
    uint32_t m_ispeed = 38400, m_ospeed = 38400;
    struct winsize m_winsize {};
    LineDiscipline m_ldisc;
    ByteQueue m_input{kInputQueueCapacity};    // written by the master, not yet in m_ldisc
    ByteQueue m_output{kOutputQueueCapacity};  // the slave's output, for master reads
    InodeAttr m_node;
    bool m_locked = true;           // TIOCSPTLCK: slave opens fail with EIO
    bool m_master_open = true;
    int m_slave_files = 0;
    bool m_slave_closed = false;    // the last slave file closed (TTY_OTHER_CLOSED on the master)
    bool m_output_stopped = false;  // ^S, TCOOFF
    bool m_slave_exclusive = false;  // TIOCEXCL on the slave
    bool m_master_exclusive = false;
    pid_t m_session = 0;  // the session this is the controlling terminal of
    pid_t m_pgrp = 0;     // its foreground process group
};

}  // namespace moat::fs
