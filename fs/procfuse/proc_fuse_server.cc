#include "fs/procfuse/proc_fuse_server.h"

#include "fs/procfuse/fuse_session.h"
#include "platform/base/log.h"

#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace moat::fs::procfuse {

Result<std::unique_ptr<ProcFuseServer>> ProcFuseServer::Start(UniqueFd fuse, std::unique_ptr<ProcSource> source) {
    if (!fuse || !source)
        return Error(EINVAL);
    int flags = ::fcntl(fuse.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fuse.get(), F_SETFL, flags | O_NONBLOCK) != 0)
        return HostErrno();
    UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake)
        return HostErrno();
    auto server = std::unique_ptr<ProcFuseServer>(new ProcFuseServer(std::move(fuse), std::move(wake), std::move(source)));
    server->m_thread = std::thread([s = server.get()] { s->Serve(); });
    return server;
}

ProcFuseServer::~ProcFuseServer() { Stop(); }

void ProcFuseServer::Stop() {
    if (!m_thread.joinable())
        return;
    uint64_t one = 1;
    if (::write(m_wake.get(), &one, sizeof(one)) != sizeof(one))
        log::debug("procfuse: waking the server: {}", strerror(errno));
    m_thread.join();
}

void ProcFuseServer::Serve() {
    FuseSession session(*m_source);
    // The kernel refuses a read smaller than this; every request but a WRITE (which a
    // read-only mount never sends) is far smaller.
    std::vector<uint8_t> buf(FUSE_MIN_READ_BUFFER + FuseSession::kMaxWrite + 4096);
    for (;;) {
        pollfd fds[2] = {{m_fuse.get(), POLLIN, 0}, {m_wake.get(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            log::debug("procfuse: poll: {}", strerror(errno));
            return;
        }
        if (fds[1].revents)
            return;
        if (fds[0].revents & (POLLERR | POLLHUP))
            return;  // the mount is gone
        ssize_t n = ::read(m_fuse.get(), buf.data(), buf.size());
        if (n < 0) {
            // EAGAIN: nothing after all; ENOENT: the request was interrupted before we read it.
            if (errno == EAGAIN || errno == EINTR || errno == ENOENT)
                continue;
            log::debug("procfuse: read: {}", strerror(errno));  // ENODEV: unmounted
            return;
        }
        auto reply = session.Handle(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
        if (reply.empty())
            continue;
        // ENOENT: the requester was interrupted and no longer waits; nothing to do.
        if (::write(m_fuse.get(), reply.data(), reply.size()) < 0 && errno != ENOENT)
            log::debug("procfuse: reply: {}", strerror(errno));
        if (session.destroyed())
            return;
    }
}

std::unique_ptr<ProcFuseServer> ServeSandboxProc(UniqueFd fuse, kernel::Kernel& kernel) {
    if (!fuse)
        return nullptr;
    auto source = MakeSandboxProcSource(kernel);
    if (!source.ok()) {
        log::debug("procfuse: no procfs at the sandbox's /proc: {}", strerror(source.error()));
        return nullptr;
    }
    auto server = ProcFuseServer::Start(std::move(fuse), source.release_value());
    if (!server.ok()) {
        log::debug("procfuse: cannot start: {}", strerror(server.error()));
        return nullptr;
    }
    return server.release_value();
}

}  // namespace moat::fs::procfuse
