// Sockets, moving data: sendto, recvfrom, sendmsg, recvmsg, sendmmsg, recvmmsg, with control
// messages (SCM_RIGHTS, SCM_CREDENTIALS) decoded and encoded as Linux's __scm_send,
// put_cmsg and scm_detach_fds do.

#include "fs/fd_table.h"
#include "fs/task_fs.h"
#include "fs/user_io.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/signals.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"
#include "syscalls/sys_socket.h"

#include <climits>
#include <csignal>
#include <cstring>
#include <ctime>
#include <sys/socket.h>

namespace moat::syscalls {

namespace {

constexpr uint64_t kUioMaxIov = 1024;
constexpr size_t kScmMaxFd = 253;
// net.core.optmem_max: the most control data one sendmsg may carry.
constexpr uint64_t kOptMemMax = 131072;

// scm_check_creds: a task may claim its own pid and ids; with CAP_SYS_ADMIN any pid, with
// CAP_SETUID / CAP_SETGID any uid / gid.
Result<net::Ucred> CheckCreds(kernel::Task& task, const ucred& c) {
    const auto& cr = task.creds();
    bool pid_ok = c.pid == task.pid() || cr.HasCapability(CAP_SYS_ADMIN);
    bool uid_ok = c.uid == cr.ruid || c.uid == cr.euid || c.uid == cr.suid || cr.HasCapability(CAP_SETUID);
    bool gid_ok = c.gid == cr.rgid || c.gid == cr.egid || c.gid == cr.sgid || cr.HasCapability(CAP_SETGID);
    if (!pid_ok || !uid_ok || !gid_ok)
        return Error(EPERM);
    if (!task.kernel().FindThreadGroup(c.pid))
        return Error(ESRCH);
    return net::Ucred{c.pid, c.uid, c.gid};
}

// __scm_send: fills req.rights and req.creds from the app's control buffer.
Result<void> ParseControl(kernel::Task& task, const std::vector<uint8_t>& control, net::SendRequest& req) {
    size_t off = 0;
    while (control.size() - off >= sizeof(cmsghdr)) {
        cmsghdr h;
        memcpy(&h, control.data() + off, sizeof(h));
        if (h.cmsg_len < sizeof(cmsghdr) || h.cmsg_len > control.size() - off)
            return Error(EINVAL);
        const uint8_t* data = control.data() + off + CMSG_LEN(0);
        size_t data_len = h.cmsg_len - CMSG_LEN(0);
        if (h.cmsg_level == SOL_SOCKET) {
            if (h.cmsg_type == SCM_RIGHTS) {
                size_t n = data_len / sizeof(int);
                if (req.rights.size() + n > kScmMaxFd)
                    return Error(EINVAL);
                for (size_t i = 0; i < n; ++i) {
                    int fd;
                    memcpy(&fd, data + i * sizeof(int), sizeof(fd));
                    req.rights.push_back(TRY(fs::GetFileRaw(task, fd)));
                }
            } else if (h.cmsg_type == SCM_CREDENTIALS) {
                if (h.cmsg_len != CMSG_LEN(sizeof(ucred)))
                    return Error(EINVAL);
                ucred c;
                memcpy(&c, data, sizeof(c));
                req.creds = TRY(CheckCreds(task, c));
            } else {
                return Error(EINVAL);
            }
        }
        off += CMSG_ALIGN(h.cmsg_len);
        if (off > control.size())
            break;
    }
    return {};
}

// Where received control messages go: the app's buffer, filled as put_cmsg does.
class ControlWriter {
public:
    explicit ControlWriter(uint64_t capacity) : m_capacity(std::min<uint64_t>(capacity, kOptMemMax)) {}

    void Put(int level, int type, const void* data, size_t len, int& msg_flags) {
        size_t room = m_capacity - m_out.size();
        if (room < sizeof(cmsghdr)) {
            msg_flags |= MSG_CTRUNC;
            return;
        }
        size_t cmlen = CMSG_LEN(len);
        if (room < cmlen) {
            msg_flags |= MSG_CTRUNC;
            cmlen = room;
        }
        cmsghdr h{};
        h.cmsg_len = cmlen;
        h.cmsg_level = level;
        h.cmsg_type = type;
        size_t start = m_out.size();
        m_out.resize(start + std::min<size_t>(CMSG_SPACE(len), room), 0);
        memcpy(m_out.data() + start, &h, sizeof(h));
        memcpy(m_out.data() + start + CMSG_LEN(0), data, cmlen - CMSG_LEN(0));
    }
    size_t fd_room() const {
        size_t room = m_capacity - m_out.size();
        return room <= sizeof(cmsghdr) ? 0 : (room - sizeof(cmsghdr)) / sizeof(int);
    }
    const std::vector<uint8_t>& bytes() const { return m_out; }

private:
    uint64_t m_capacity;
    std::vector<uint8_t> m_out;
};

// scm_detach_fds: installs as many passed files as fit; the rest are closed (MSG_CTRUNC).
void DetachFds(kernel::Task& task, net::RecvResult& r, ControlWriter& out, bool cloexec) {
    if (r.rights.empty())
        return;
    size_t max = out.fd_room();
    std::vector<int> fds;
    int limit = fs::NofileLimit(task);
    for (size_t i = 0; i < std::min(max, r.rights.size()); ++i) {
        auto fd = task.fd_table().Install(r.rights[i], cloexec, 0, limit);
        if (!fd.ok())
            break;
        fds.push_back(*fd);
    }
    if (!fds.empty())
        out.Put(SOL_SOCKET, SCM_RIGHTS, fds.data(), fds.size() * sizeof(int), r.msg_flags);
    if (fds.size() < r.rights.size())
        r.msg_flags |= MSG_CTRUNC;
    r.rights.clear();
}

void MaybeSigpipe(kernel::Task& task, net::Socket& sock, const Result<size_t>& r, int flags) {
    if (!r.ok() && r.error() == EPIPE && sock.type() == SOCK_STREAM && !(flags & MSG_NOSIGNAL))
        kernel::SendSignalToGroup(task, SIGPIPE);
}

SyscallResult DoSendMsg(kernel::Task& task, int fd, mm::UserAddr msg_addr, int flags) {
    auto sock = TRY(GetSocket(task, fd));
    msghdr m = TRY(task.mm().CopyInObject<msghdr>(msg_addr));
    if (m.msg_controllen > INT_MAX)
        return Error(ENOBUFS);
    if (m.msg_iovlen > kUioMaxIov)
        return Error(EMSGSIZE);
    net::SendRequest req;
    req.flags = flags;
    if (m.msg_name && m.msg_namelen)
        req.to = TRY(CopyInSockAddr(task, mm::UserAddr(reinterpret_cast<uint64_t>(m.msg_name)),
                                    static_cast<int>(m.msg_namelen)));
    auto segs = TRY(fs::ImportIovecs(task.mm(), mm::UserAddr(reinterpret_cast<uint64_t>(m.msg_iov)), m.msg_iovlen));
    if (m.msg_controllen > 0) {
        if (m.msg_controllen > kOptMemMax)
            return Error(ENOBUFS);
        std::vector<uint8_t> control(m.msg_controllen);
        TRY(task.mm().CopyIn(mm::UserAddr(reinterpret_cast<uint64_t>(m.msg_control)), control.data(),
                             control.size()));
        TRY(ParseControl(task, control, req));
    }
    fs::UserIoSrc src(task.mm(), std::move(segs));
    req.data = &src;
    auto sent = sock->SendMsg(req);
    MaybeSigpipe(task, *sock, sent, flags);
    return TRY(std::move(sent));
}

SyscallResult DoRecvMsg(kernel::Task& task, int fd, mm::UserAddr msg_addr, int flags) {
    auto sock = TRY(GetSocket(task, fd));
    msghdr m = TRY(task.mm().CopyInObject<msghdr>(msg_addr));
    if (static_cast<int>(m.msg_namelen) < 0)
        return Error(EINVAL);
    if (m.msg_iovlen > kUioMaxIov)
        return Error(EMSGSIZE);
    auto segs = TRY(fs::ImportIovecs(task.mm(), mm::UserAddr(reinterpret_cast<uint64_t>(m.msg_iov)), m.msg_iovlen));
    fs::UserIoDst dst(task.mm(), std::move(segs));
    net::RecvResult r = TRY(sock->RecvMsg(dst, flags & ~MSG_CMSG_CLOEXEC));
    ControlWriter control(m.msg_control ? m.msg_controllen : 0);
    if (r.creds) {
        ucred c{r.creds->pid, r.creds->uid, r.creds->gid};
        control.Put(SOL_SOCKET, SCM_CREDENTIALS, &c, sizeof(c), r.msg_flags);
    }
    DetachFds(task, r, control, flags & MSG_CMSG_CLOEXEC);
    if (m.msg_name) {
        auto namelen_addr = TRY(msg_addr.offset(offsetof(msghdr, msg_namelen)));
        TRY(CopyOutSockAddr(task, r.from, mm::UserAddr(reinterpret_cast<uint64_t>(m.msg_name)), namelen_addr));
    }
    if (!control.bytes().empty())
        TRY(task.mm().CopyOut(mm::UserAddr(reinterpret_cast<uint64_t>(m.msg_control)), control.bytes().data(),
                              control.bytes().size()));
    uint64_t controllen = control.bytes().size();
    TRY(task.mm().CopyOutObject(TRY(msg_addr.offset(offsetof(msghdr, msg_controllen))), controllen));
    TRY(task.mm().CopyOutObject(TRY(msg_addr.offset(offsetof(msghdr, msg_flags))), r.msg_flags));
    return r.bytes;
}

}  // namespace

// Implements Linux sendto(2).
SyscallResult sys_sendto(kernel::Task& task, const SyscallArgs& a) {
    auto sock = TRY(GetSocket(task, arg_int(a, 0)));
    int flags = arg_int(a, 3);
    auto segs = TRY(fs::ImportBuffer(arg_addr(a, 1), a[2]));
    net::SendRequest req;
    req.flags = flags;
    if (!arg_addr(a, 4).is_null())
        req.to = TRY(CopyInSockAddr(task, arg_addr(a, 4), arg_int(a, 5)));
    if (req.to && req.to->empty())
        req.to.reset();
    fs::UserIoSrc src(task.mm(), std::move(segs));
    req.data = &src;
    auto sent = sock->SendMsg(req);
    MaybeSigpipe(task, *sock, sent, flags);
    return TRY(std::move(sent));
}

// Implements Linux recvfrom(2).
SyscallResult sys_recvfrom(kernel::Task& task, const SyscallArgs& a) {
    auto sock = TRY(GetSocket(task, arg_int(a, 0)));
    auto segs = TRY(fs::ImportBuffer(arg_addr(a, 1), a[2]));
    fs::UserIoDst dst(task.mm(), std::move(segs));
    net::RecvResult r = TRY(sock->RecvMsg(dst, arg_int(a, 3) & ~MSG_CMSG_CLOEXEC));
    // Passed files with nowhere to go are closed (r.rights released here).
    if (!arg_addr(a, 4).is_null())
        TRY(CopyOutSockAddr(task, r.from, arg_addr(a, 4), arg_addr(a, 5)));
    return r.bytes;
}

// Implements Linux sendmsg(2).
SyscallResult sys_sendmsg(kernel::Task& task, const SyscallArgs& a) {
    return DoSendMsg(task, arg_int(a, 0), arg_addr(a, 1), arg_int(a, 2));
}

// Implements Linux recvmsg(2).
SyscallResult sys_recvmsg(kernel::Task& task, const SyscallArgs& a) {
    return DoRecvMsg(task, arg_int(a, 0), arg_addr(a, 1), arg_int(a, 2));
}

// Implements Linux sendmmsg(2): stops at the first error after at least one message.
SyscallResult sys_sendmmsg(kernel::Task& task, const SyscallArgs& a) {
    uint64_t vlen = std::min<uint64_t>(arg_uint(a, 2), kUioMaxIov);
    int flags = arg_int(a, 3);
    TRY(GetSocket(task, arg_int(a, 0)));
    uint64_t done = 0;
    for (; done < vlen; ++done) {
        auto hdr = TRY(arg_addr(a, 1).offset(done * sizeof(mmsghdr)));
        auto sent = DoSendMsg(task, arg_int(a, 0), hdr, flags);
        if (!sent.ok()) {
            if (done == 0)
                return sent;
            break;
        }
        auto len_addr = TRY(hdr.offset(offsetof(mmsghdr, msg_len)));
        TRY(task.mm().CopyOutObject(len_addr, static_cast<unsigned>(*sent)));
    }
    return done;
}

// Implements Linux recvmmsg(2). The timeout is checked after each message (as Linux does);
// MSG_WAITFORONE makes every message after the first nonblocking.
SyscallResult sys_recvmmsg(kernel::Task& task, const SyscallArgs& a) {
    uint64_t vlen = std::min<uint64_t>(arg_uint(a, 2), kUioMaxIov);
    int flags = arg_int(a, 3);
    std::optional<std::chrono::steady_clock::time_point> deadline;
    if (!arg_addr(a, 4).is_null()) {
        timespec ts = TRY(task.mm().CopyInObject<timespec>(arg_addr(a, 4)));
        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
            return Error(EINVAL);
        deadline = std::chrono::steady_clock::now() + std::chrono::seconds(ts.tv_sec) +
                   std::chrono::nanoseconds(ts.tv_nsec);
    }
    TRY(GetSocket(task, arg_int(a, 0)));
    uint64_t done = 0;
    for (; done < vlen; ++done) {
        auto hdr = TRY(arg_addr(a, 1).offset(done * sizeof(mmsghdr)));
        int f = flags & ~MSG_WAITFORONE;
        if ((flags & MSG_WAITFORONE) && done > 0)
            f |= MSG_DONTWAIT;
        auto got = DoRecvMsg(task, arg_int(a, 0), hdr, f);
        if (!got.ok()) {
            if (done == 0)
                return got;
            break;
        }
        auto len_addr = TRY(hdr.offset(offsetof(mmsghdr, msg_len)));
        TRY(task.mm().CopyOutObject(len_addr, static_cast<unsigned>(*got)));
        if (deadline && std::chrono::steady_clock::now() >= *deadline) {
            ++done;
            break;
        }
    }
    return done;
}

}  // namespace moat::syscalls
