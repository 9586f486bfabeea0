// ioctl(2): the generic requests (FIONBIO, FIOCLEX, FIONCLEX, FIONREAD) here, the rest to the
// file (terminal requests on pseudo-terminals, fs/tty/pty_ioctl.cc, and on the host TtyFile).

#include "fs/fd_table.h"
#include "fs/file.h"
#include "fs/task_fs.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"
#include "syscalls/sys_socket.h"

#include <fcntl.h>
#include <sys/ioctl.h>

namespace moat::syscalls {

// Implements Linux ioctl(2) for FIOCLEX, FIONCLEX, FIONBIO, FIONREAD and, on pseudo-terminals,
// TCGETS/TCSETS[WF] and their termios2 forms, TIOCGWINSZ/TIOCSWINSZ, TIOCSCTTY, TIOCNOTTY,
// TIOCGPGRP/TIOCSPGRP, TIOCGSID, TIOCOUTQ, TCFLSH, TCXONC, TCSBRK[P], TIOCSBRK/TIOCCBRK,
// TIOC[GN]EXCL, TIOCEXCL, TIOCGETD/TIOCSETD (N_TTY only) and on masters TIOCGPTN, TIOCSPTLCK,
// TIOCGPTLCK, TIOCGPTPEER. Differs: on the sentry's host terminal (TtyFile) only the termios
// and window-size requests are real and TIOCGPGRP answers the caller's pid; TIOCSTI, TIOCPKT
// and the modem-line requests are ENOTTY. On sockets, the SIOCGIF* interface requests
// (sys_netdev_ioctl.cc).
SyscallResult sys_ioctl(kernel::Task& task, const SyscallArgs& args) {
    int fd = arg_int(args, 0);
    uint32_t request = arg_uint(args, 1);
    uint64_t arg = args[2];
    auto file = TRY(fs::GetFile(task, fd));
    switch (request) {
    case FIOCLEX:
        TRY(task.fd_table().SetCloexec(fd, true));
        return 0;
    case FIONCLEX:
        TRY(task.fd_table().SetCloexec(fd, false));
        return 0;
    case FIONBIO: {
        int on = TRY(task.mm().CopyInObject<int>(mm::UserAddr(arg)));
        int flags = file->status_flags();
        file->set_status_flags(on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK));
        return 0;
    }
    case FIONREAD: {
        int64_t n = TRY(file->BytesReadable());
        TRY(task.mm().CopyOutObject(mm::UserAddr(arg), static_cast<int>(n)));
        return 0;
    }
    default:
        if (auto* sock = dynamic_cast<net::Socket*>(file.get()))
            if (auto r = InterfaceIoctl(task, *sock, request, arg))
                return TRY(std::move(*r));
        return TRY(file->Ioctl(task, request, arg));
    }
}

}  // namespace moat::syscalls
