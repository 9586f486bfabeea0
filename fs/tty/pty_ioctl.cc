// The terminal ioctls of a pseudo-terminal (Linux's tty_ioctl, tty_mode_ioctl, tty_jobctrl_ioctl
// and pty_unix98_ioctl). On the master, the termios, window-size and job-control requests act
// on the slave, as Linux's do.

#include "fs/fd_table.h"
#include "fs/task_fs.h"
#include "fs/tty/job_control.h"
#include "fs/tty/pty.h"
#include "fs/tty/pty_file.h"
#include "sentry/kernel/signals.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"

#include <signal.h>
#include <sys/ioctl.h>

#include <cstring>

namespace moat::fs {

namespace {

bool Capable(kernel::Task& task) { return task.creds().HasCapability(CAP_SYS_ADMIN); }

template <typename T>
Result<uint64_t> PutValue(kernel::Task& task, uint64_t arg, const T& v) {
    TRY(task.mm().CopyOutObject(mm::UserAddr(arg), v));
    return 0;
}

}  // namespace

Result<void> Pty::CheckBackground(kernel::Task& task, int signo) {
    kernel::ThreadGroup& tg = task.thread_group();
    if (tg.controlling_tty().get() != this)
        return {};
    pid_t fg;
    {
        std::lock_guard lock(m_lock);
        fg = m_pgrp;
    }
    pid_t pgrp = tg.pgid();
    if (fg == 0 || pgrp == fg)
        return {};
    bool ignored = (task.signal_mask() & kernel::SigBit(signo)) ||
                   tg.sigaction(signo).handler == reinterpret_cast<uint64_t>(SIG_IGN);
    if (ignored)
        return signo == SIGTTIN ? Result<void>(Error(EIO)) : Result<void>{};
    if (ProcessGroupOrphaned(task.kernel(), pgrp))
        return Error(EIO);
    SignalProcessGroup(task.kernel(), pgrp, signo);
    return Error(ERESTARTSYS);
}

Result<uint64_t> Pty::Ioctl(kernel::Task& task, File& file, bool master, uint32_t request, uint64_t arg) {
    if (!master && hung_up())
        return Error(request == TIOCSPGRP ? ENOTTY : EIO);  // hung_up_tty_ioctl
    switch (request) {
    case TCGETS:
    case TCSETS:
    case TCSETSW:
    case TCSETSF:
    case kTcGets2:
    case kTcSets2:
    case kTcSetsW2:
    case kTcSetsF2:
    case TIOCGWINSZ:
    case TIOCSWINSZ: return TermiosIoctl(task, request, arg);
    case TIOCGPGRP:
    case TIOCSPGRP:
    case TIOCGSID:
    case TIOCSCTTY:
    case TIOCNOTTY: return JobIoctl(task, file, master, request, arg);
    case TIOCOUTQ: return PutValue(task, arg, 0);  // a pty never holds output back
    case TCFLSH:
        TRY(CheckBackground(task, SIGTTOU));
        TRY(Flush(master, static_cast<int>(arg)));
        return 0;
    case TCXONC:
        TRY(CheckBackground(task, SIGTTOU));
        TRY(FlowControl(static_cast<int>(arg)));
        return 0;
    case TCSBRK:
    case TCSBRKP:
    case TIOCSBRK:
    case TIOCCBRK:
        // Nothing is ever left to drain and a pty has no line to break.
        TRY(CheckBackground(task, SIGTTOU));
        return 0;
    case TIOCEXCL:
    case TIOCNXCL: {
        std::lock_guard lock(m_lock);
        (master ? m_master_exclusive : m_slave_exclusive) = request == TIOCEXCL;
        return 0;
    }
    case TIOCGEXCL: {
        int excl;
        {
            std::lock_guard lock(m_lock);
            excl = master ? m_master_exclusive : m_slave_exclusive;
        }
        return PutValue(task, arg, excl);
    }
    case TIOCGETD: return PutValue(task, arg, 0);  // N_TTY
    case TIOCSETD: {
        // Only N_TTY exists here.
        int disc = TRY(task.mm().CopyInObject<int>(mm::UserAddr(arg)));
        if (disc != 0)
            return Error(EINVAL);
        return 0;
    }
    case TIOCGPTN:
    case TIOCSPTLCK:
    case TIOCGPTLCK:
    case TIOCGPTPEER:
        if (!master)
            return Error(ENOTTY);
        return MasterIoctl(task, request, arg);
    default: return Error(ENOTTY);
    }
}

void Pty::SetTermiosLocked(const KernelTermios& t) {
    KernelTermios old = m_termios;
    m_termios = t;
    // pty_set_termios: a pty line is always 8 bits, no parity, receiver on.
    m_termios.c_cflag &= ~(CSIZE | PARENB);
    m_termios.c_cflag |= CS8 | CREAD;
    m_ldisc.SettingsChanged(old, m_termios);
    if (!(m_termios.c_iflag & IXON) && (old.c_iflag & IXON))
        m_output_stopped = false;
}

Result<uint64_t> Pty::TermiosIoctl(kernel::Task& task, uint32_t request, uint64_t arg) {
    mm::MemoryManager& mm = task.mm();
    mm::UserAddr addr(arg);
    switch (request) {
    case TCGETS: {
        KernelTermios t;
        {
            std::lock_guard lock(m_lock);
            t = m_termios;
        }
        return PutValue(task, arg, t);
    }
    case kTcGets2: {
        KernelTermios2 t;
        {
            std::lock_guard lock(m_lock);
            t.t = m_termios;
            t.c_ispeed = m_ispeed;
            t.c_ospeed = m_ospeed;
        }
        return PutValue(task, arg, t);
    }
    case TCSETS:
    case TCSETSW:
    case TCSETSF:
    case kTcSets2:
    case kTcSetsW2:
    case kTcSetsF2: {
        TRY(CheckBackground(task, SIGTTOU));
        bool v2 = request == kTcSets2 || request == kTcSetsW2 || request == kTcSetsF2;
        KernelTermios2 t2;
        if (v2)
            t2 = TRY(mm.CopyInObject<KernelTermios2>(addr));
        else
            t2.t = TRY(mm.CopyInObject<KernelTermios>(addr));
        std::vector<int> signals;
        pid_t pgrp;
        {
            std::lock_guard lock(m_lock);
            if (request == TCSETSF || request == kTcSetsF2)
                m_ldisc.Flush();
            SetTermiosLocked(t2.t);
            // The speeds follow c_cflag unless termios2 asked for other rates (kBother).
            uint32_t baud = BaudOf(m_termios.c_cflag);
            m_ospeed = (v2 && (m_termios.c_cflag & CBAUD) == kBother) ? t2.c_ospeed : baud;
            m_ispeed = (v2 && ((m_termios.c_cflag >> kIbShift) & CBAUD) == kBother) ? t2.c_ispeed : m_ospeed;
            signals = PumpInputLocked();
            pgrp = m_pgrp;
        }
        SignalForeground(signals, pgrp);
        return 0;
    }
    case TIOCGWINSZ: {
        struct winsize ws;
        {
            std::lock_guard lock(m_lock);
            ws = m_winsize;
        }
        return PutValue(task, arg, ws);
    }
    case TIOCSWINSZ: {
        auto ws = TRY(mm.CopyInObject<struct winsize>(addr));
        pid_t pgrp = 0;
        {
            std::lock_guard lock(m_lock);
            if (memcmp(&ws, &m_winsize, sizeof(ws)) == 0)
                return 0;
            m_winsize = ws;
            pgrp = m_pgrp;
        }
        if (m_kernel)
            SignalProcessGroup(*m_kernel, pgrp, SIGWINCH);
        return 0;
    }
    default: return Error(ENOTTY);
    }
}

Result<uint64_t> Pty::JobIoctl(kernel::Task& task, File& file, bool master, uint32_t request, uint64_t arg) {
    kernel::ThreadGroup& tg = task.thread_group();
    const bool is_ctty = tg.controlling_tty().get() == this;
    switch (request) {
    case TIOCGPGRP:
    case TIOCGSID: {
        // Through the slave only a process whose terminal it is may ask; through the master
        // anyone holding it.
        if (!master && !is_ctty)
            return Error(ENOTTY);
        pid_t value;
        {
            std::lock_guard lock(m_lock);
            value = request == TIOCGPGRP ? m_pgrp : m_session;
        }
        if (request == TIOCGSID && value == 0)
            return Error(ENOTTY);
        return PutValue(task, arg, value);
    }
    case TIOCSPGRP: {
        auto checked = CheckBackground(task, SIGTTOU);
        if (!checked.ok())
            return Error(checked.error() == EIO ? ENOTTY : checked.error());
        pid_t pgrp = TRY(task.mm().CopyInObject<pid_t>(mm::UserAddr(arg)));
        if (pgrp < 0)
            return Error(EINVAL);
        TRY(SetForeground(task, pgrp));
        return 0;
    }
    case TIOCSCTTY: TRY(SetControllingTty(task, file, arg)); return 0;
    case TIOCNOTTY:
        if (master)
            return Error(ENOTTY);  // the master is never a controlling terminal
        TRY(DropControllingTty(task));
        return 0;
    default: return Error(ENOTTY);
    }
}

Result<void> Pty::SetForeground(kernel::Task& task, pid_t pgrp) {
    kernel::ThreadGroup& tg = task.thread_group();
    {
        std::lock_guard lock(m_lock);
        if (tg.controlling_tty().get() != this || m_session != tg.sid())
            return Error(ENOTTY);
    }
    pid_t sid = pgrp > 0 ? SessionOfProcessGroup(task.kernel(), pgrp) : 0;
    if (sid == 0)
        return Error(ESRCH);
    if (sid != tg.sid())
        return Error(EPERM);
    std::lock_guard lock(m_lock);
    m_pgrp = pgrp;
    return {};
}

Result<void> Pty::SetControllingTty(kernel::Task& task, File& file, uint64_t arg) {
    kernel::ThreadGroup& tg = task.thread_group();
    const bool leader = tg.pid() == tg.sid();
    pid_t stolen_from = 0;
    {
        std::lock_guard lock(m_lock);
        if (leader && m_session == tg.sid())
            return {};  // already ours
        if (!leader || tg.controlling_tty())
            return Error(EPERM);
        if (m_session) {
            if (arg != 1 || !Capable(task))
                return Error(EPERM);  // another session's terminal
            stolen_from = m_session;
        }
        // Write access alone does not give a process the powers of a controlling terminal.
        if (!file.readable() && !Capable(task))
            return Error(EPERM);
        m_session = tg.sid();
        m_pgrp = tg.pgid();
        tg.set_controlling_tty(shared_from_this());
    }
    if (stolen_from)
        kernel::ClearSessionTty(task.kernel(), stolen_from, this);
    return {};
}

void Pty::AcquireOnOpen(kernel::Task* task, bool readable) {
    if (!task || !readable)
        return;
    kernel::ThreadGroup& tg = task->thread_group();
    if (tg.pid() != tg.sid() || tg.controlling_tty())
        return;
    std::lock_guard lock(m_lock);
    if (m_session || !m_master_open)
        return;
    m_session = tg.sid();
    m_pgrp = tg.pgid();
    tg.set_controlling_tty(shared_from_this());
}

Result<void> Pty::DropControllingTty(kernel::Task& task) {
    kernel::ThreadGroup& tg = task.thread_group();
    if (tg.controlling_tty().get() != this)
        return Error(ENOTTY);
    if (tg.pid() == tg.sid()) {
        // disassociate_ctty(0): the foreground group is hung up on, the session loses the tty.
        pid_t pgrp;
        {
            std::lock_guard lock(m_lock);
            pgrp = m_pgrp;
            m_session = m_pgrp = 0;
        }
        SignalProcessGroup(task.kernel(), pgrp, SIGHUP);
        SignalProcessGroup(task.kernel(), pgrp, SIGCONT);
        kernel::ClearSessionTty(task.kernel(), tg.sid(), nullptr);
    }
    tg.set_controlling_tty(nullptr);
    return {};
}

void Pty::SessionLeaderExited(pid_t sid) {
    pid_t pgrp = 0;
    {
        std::lock_guard lock(m_lock);
        if (m_session != sid)
            return;
        pgrp = m_pgrp;
        m_session = m_pgrp = 0;
    }
    if (m_kernel)
        SignalProcessGroup(*m_kernel, pgrp, SIGHUP);
}

Result<void> Pty::Flush(bool master, int queue) {
    if (queue != TCIFLUSH && queue != TCOFLUSH && queue != TCIOFLUSH)
        return Error(EINVAL);
    std::lock_guard lock(m_lock);
    bool input = queue != TCOFLUSH, output = queue != TCIFLUSH;
    // The slave's input is what the master wrote; the master's input is the slave's output.
    if ((input && !master) || (output && master)) {
        m_ldisc.Flush();
        m_input.Clear();
    }
    if ((output && !master) || (input && master))
        m_output.Clear();
    NotifyLocked();
    return {};
}

Result<void> Pty::FlowControl(int action) {
    std::lock_guard lock(m_lock);
    switch (action) {
    case TCOOFF: m_output_stopped = true; break;
    case TCOON: m_output_stopped = false; break;
    case TCIOFF:
    case TCION: {
        // "Transmit" STOP or START: the other side reads it.
        uint8_t c = m_termios.c_cc[action == TCIOFF ? VSTOP : VSTART];
        if (c != 0)
            (void)m_output.Push(std::span<const uint8_t>(&c, 1));
        break;
    }
    default: return Error(EINVAL);
    }
    NotifyLocked();
    return {};
}

Result<uint64_t> Pty::MasterIoctl(kernel::Task& task, uint32_t request, uint64_t arg) {
    switch (request) {
    case TIOCGPTN: return PutValue(task, arg, m_index);
    case TIOCSPTLCK: {
        int lock_it = TRY(task.mm().CopyInObject<int>(mm::UserAddr(arg)));
        std::lock_guard lock(m_lock);
        m_locked = lock_it != 0;
        return 0;
    }
    case TIOCGPTLCK: {
        int locked;
        {
            std::lock_guard lock(m_lock);
            locked = m_locked;
        }
        return PutValue(task, arg, locked);
    }
    case TIOCGPTPEER: {
        int flags = static_cast<int>(arg);
        FsCaller caller{&task.creds(), &task};
        auto file = TRY(PtySlaveFile::Open(shared_from_this(), caller, (flags & ~O_CLOEXEC) | O_LARGEFILE, nullptr));
        int fd = TRY(task.fd_table().Install(std::move(file), (flags & O_CLOEXEC) != 0, 0, NofileLimit(task)));
        return static_cast<uint64_t>(fd);
    }
    default: return Error(ENOTTY);
    }
}

}  // namespace moat::fs
