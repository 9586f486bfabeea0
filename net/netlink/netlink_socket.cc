#include "net/netlink/netlink_socket.h"

#include "net/netlink/rtnetlink.h"
#include "sentry/kernel/task.h"

#include <linux/netlink.h>
#include <poll.h>
#include <sys/stat.h>

#include <cstring>

namespace moat::net {

namespace {

// NLMSG_GOODSIZE (SKB_WITH_OVERHEAD(PAGE_SIZE)) and the cap on max_recvmsg_len
// (SKB_WITH_OVERHEAD(32768)): the bounds of one dump datagram.
constexpr size_t kNlmsgGoodSize = 4096 - 320;
constexpr size_t kMaxDumpDatagram = 32768 - 320;

SockAddr NlAddr(uint32_t portid, uint32_t groups) {
    sockaddr_nl nl{};
    nl.nl_family = AF_NETLINK;
    nl.nl_pid = portid;
    nl.nl_groups = groups;
    return SockAddr(reinterpret_cast<const char*>(&nl), sizeof(nl));
}

Result<sockaddr_nl> ParseNlAddr(const SockAddr& addr) {
    if (addr.size() < sizeof(sockaddr_nl))
        return Error(EINVAL);
    sockaddr_nl nl;
    memcpy(&nl, addr.data(), sizeof(nl));
    if (nl.nl_family != AF_NETLINK)
        return Error(EINVAL);
    return nl;
}

std::optional<std::chrono::steady_clock::time_point> DeadlineOf(const std::optional<std::chrono::nanoseconds>& t) {
    if (!t)
        return std::nullopt;
    return std::chrono::steady_clock::now() + *t;
}

}  // namespace

Result<std::shared_ptr<NetlinkSocket>> NetlinkSocket::Create(std::shared_ptr<Network> network, int type,
                                                             int protocol, uint64_t ino, bool nonblock) {
    if (type != SOCK_RAW && type != SOCK_DGRAM)
        return Error(ESOCKTNOSUPPORT);
    // Only rtnetlink is served; Linux answers EPROTONOSUPPORT for protocols it has no
    // module for.
    if (protocol != NETLINK_ROUTE)
        return Error(EPROTONOSUPPORT);
    return std::make_shared<NetlinkSocket>(std::move(network), type, ino, nonblock);
}

NetlinkSocket::NetlinkSocket(std::shared_ptr<Network> network, int type, uint64_t ino, bool nonblock)
    : Socket(O_RDWR | (nonblock ? O_NONBLOCK : 0)), m_network(std::move(network)), m_type(type), m_ino(ino) {}

NetlinkSocket::~NetlinkSocket() {
    if (m_bound)
        m_network->ReleasePort(m_portid);
}

uint32_t NetlinkSocket::EnsureBound() {
    if (!m_bound) {
        kernel::Task* task = kernel::Task::Current();
        m_portid = m_network->AutobindPort(task ? task->pid() : 0);
        m_bound = true;
    }
    return m_portid;
}

// netlink_bind: groups need no privilege on NETLINK_ROUTE (NL_CFG_F_NONROOT_RECV); a bound
// socket may only be rebound to its own port id.
Result<void> NetlinkSocket::Bind(const SockAddr& addr) {
    sockaddr_nl nl = TRY(ParseNlAddr(addr));
    std::lock_guard lock(m_lock);
    if (m_bound) {
        if (nl.nl_pid != m_portid)
            return Error(EINVAL);
    } else if (nl.nl_pid) {
        TRY(m_network->BindPort(nl.nl_pid));
        m_portid = nl.nl_pid;
        m_bound = true;
    } else {
        EnsureBound();
    }
    m_groups = nl.nl_groups;
    return {};
}

// netlink_connect: AF_UNSPEC disconnects; the only peer an unprivileged socket may name is
// the kernel (port 0, no groups).
Result<void> NetlinkSocket::Connect(const SockAddr& addr) {
    if (addr.size() < sizeof(sa_family_t))
        return Error(EINVAL);
    sa_family_t family;
    memcpy(&family, addr.data(), sizeof(family));
    if (family == AF_UNSPEC)
        return {};
    sockaddr_nl nl = TRY(ParseNlAddr(addr));
    if (nl.nl_pid || nl.nl_groups)
        return Error(EPERM);
    std::lock_guard lock(m_lock);
    EnsureBound();
    return {};
}

Result<SockAddr> NetlinkSocket::GetName() {
    std::lock_guard lock(m_lock);
    return NlAddr(m_bound ? m_portid : 0, m_groups);
}

Result<SockAddr> NetlinkSocket::GetPeerName() { return NlAddr(0, 0); }

Result<size_t> NetlinkSocket::SendMsg(SendRequest& req) {
    if (req.flags & MSG_OOB)
        return Error(EOPNOTSUPP);
    if (req.to && !req.to->empty()) {
        sockaddr_nl nl = TRY(ParseNlAddr(*req.to));
        // Sending to another port or to groups needs CAP_NET_ADMIN (no NL_CFG_F_NONROOT_SEND).
        if (nl.nl_pid || nl.nl_groups)
            return Error(EPERM);
    }
    size_t len = req.data ? req.data->remaining() : 0;
    if (len == 0)  // netlink_sendmsg refuses empty messages (Linux 6.x)
        return Error(ENODATA);
    RtnlCaller caller;
    {
        std::lock_guard lock(m_lock);
        caller.portid = EnsureBound();
        if (len > static_cast<size_t>(m_sndbuf - 32))
            return Error(EMSGSIZE);
        caller.strict = m_strict;
        caller.cap_ack = m_cap_ack;
        if (kernel::Task* task = kernel::Task::Current())
            caller.uid = task->creds().euid;
        caller.max_datagram = std::max(kNlmsgGoodSize, std::min(m_max_recvmsg_len, kMaxDumpDatagram));
    }
    std::string data(len, '\0');
    if (len > 0) {
        size_t took = TRY(req.data->Take(std::span<uint8_t>(reinterpret_cast<uint8_t*>(data.data()), len)));
        if (took < len)
            return Error(EFAULT);
    }
    Enqueue(RtnlReceive(m_network->config(), data, caller));
    return len;
}

void NetlinkSocket::Enqueue(std::vector<std::string> datagrams) {
    if (datagrams.empty())
        return;
    {
        std::lock_guard lock(m_lock);
        for (auto& d : datagrams) {
            // netlink_attachskb from the kernel: a full receiver loses the message and
            // learns of it as ENOBUFS.
            if (m_queued > static_cast<size_t>(m_rcvbuf)) {
                if (!m_no_enobufs)
                    m_error = ENOBUFS;
                continue;
            }
            m_queued += d.size();
            m_queue.push_back(std::move(d));
        }
    }
    m_readers.Notify();
    m_events->Notify(POLLIN | POLLRDNORM);
}

Result<RecvResult> NetlinkSocket::RecvMsg(fs::IoDst& dst, int flags) {
    if (flags & MSG_OOB)
        return Error(EOPNOTSUPP);
    std::string datagram;
    bool passcred;
    {
        std::unique_lock lock(m_lock);
        auto deadline = DeadlineOf(m_rcvtimeo);
        for (;;) {
            // skb_recv_datagram: a pending error first, then data.
            if (m_error) {
                int e = m_error;
                m_error = 0;
                return Error(e);
            }
            if (!m_queue.empty())
                break;
            kernel::Task* task = kernel::Task::Current();
            if (nonblocking(flags) || !task)
                return Error(EAGAIN);
            lock.unlock();
            auto r = task->Block(m_readers, [&] {
                std::lock_guard g(m_lock);
                return !m_queue.empty() || m_error;
            }, deadline);
            lock.lock();
            if (!r.ok()) {
                if (r.error() == ETIMEDOUT)
                    return Error(EAGAIN);
                if (r.error() == ERESTARTSYS && deadline)
                    return Error(EINTR);
                return Error(r.error());
            }
        }
        passcred = m_passcred;
        m_max_recvmsg_len = std::min(std::max(m_max_recvmsg_len, dst.remaining()), kMaxDumpDatagram);
        if (flags & MSG_PEEK) {
            datagram = m_queue.front();
        } else {
            datagram = std::move(m_queue.front());
            m_queue.pop_front();
            m_queued -= datagram.size();
        }
    }
    RecvResult result;
    size_t n = std::min(datagram.size(), dst.remaining());
    size_t put = 0;
    if (n > 0)
        put = TRY(dst.Put(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(datagram.data()), n)));
    if (datagram.size() > n)
        result.msg_flags |= MSG_TRUNC;
    result.bytes = (flags & MSG_TRUNC) ? datagram.size() : put;
    result.from = NlAddr(0, 0);
    // SO_PASSCRED: the kernel's credentials (pid 0, root) come with every answer.
    if (passcred)
        result.creds = Ucred{0, 0, 0};
    return result;
}

Result<size_t> NetlinkSocket::Read(fs::IoDst& dst) { return (TRY(RecvMsg(dst, 0))).bytes; }

Result<size_t> NetlinkSocket::Write(fs::IoSrc& src) {
    SendRequest req;
    req.data = &src;
    return SendMsg(req);
}

uint32_t NetlinkSocket::Readiness(uint32_t) {
    std::lock_guard lock(m_lock);
    uint32_t mask = POLLOUT | POLLWRNORM | POLLWRBAND;
    if (m_error)
        mask |= POLLERR;
    if (!m_queue.empty())
        mask |= POLLIN | POLLRDNORM;
    return mask;
}

Result<fs::InodeAttr> NetlinkSocket::Stat() {
    return SocketInodeAttr(m_ino);
}

}  // namespace moat::net
