#pragma once
// UnixSpace: the sandbox's AF_UNIX world — the lock every unix socket's state is guarded by,
// the abstract namespace, and the table of sockets bound to a path (keyed by the socket
// inode's device and inode number, as Linux finds a socket by its inode). One per Kernel.
//
// Lock order: UnixSpace::m_lock → app memory (CopyOut of received data happens under it: a
// leaf) → WaitQueue / EventQueue. Files (in-flight SCM_RIGHTS, closed endpoints' paths) are
// never destroyed under m_lock: they go to a Garbage list released after unlocking, because
// destroying a UnixSocket takes m_lock again.

#include "fs/vfs/mount.h"
#include "net/unix/unix_endpoint.h"

#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace moat::net {

// What must be destroyed after m_lock is released.
struct UnixGarbage {
    std::vector<UnixMessage> messages;
    std::vector<std::shared_ptr<fs::File>> files;
    std::vector<std::shared_ptr<UnixEndpoint>> endpoints;
    std::vector<fs::VfsPath> paths;
};

class UnixSpace {
public:
    // net.unix.max_dgram_qlen as systemd sets it: datagrams queued for an unconnected
    // receiver before senders wait.
    static constexpr size_t kMaxDgramQueue = 512;
    // net.core.somaxconn.
    static constexpr int kSomaxconn = 4096;

    // `next_ino` numbers new sockets (the kernel's anonymous inode numbers).
    explicit UnixSpace(std::function<uint64_t()> next_ino) : m_next_ino(std::move(next_ino)) {}

    std::mutex& lock() { return m_lock; }
    uint64_t NextIno() { return m_next_ino(); }

    // ---- With lock() held ----
    // Binds `ep` to the abstract name in `addr` (EADDRINUSE).
    Result<void> BindAbstract(const std::shared_ptr<UnixEndpoint>& ep, const SockAddr& addr);
    // Binds `ep` to a fresh abstract name "\0XXXXX" (Linux's autobind).
    Result<void> Autobind(const std::shared_ptr<UnixEndpoint>& ep);
    // Records `ep` as bound to the socket inode `key` (its address set by the caller).
    void BindPath(const std::shared_ptr<UnixEndpoint>& ep, UnixPathKey key, fs::VfsPath path);
    std::shared_ptr<UnixEndpoint> FindAbstract(const SockAddr& addr);
    std::shared_ptr<UnixEndpoint> FindPath(UnixPathKey key);
    // The file is gone: unbinds, disconnects the peer (ECONNRESET where Linux reports it),
    // resets pending connections and drops the queue.
    void Release(const std::shared_ptr<UnixEndpoint>& ep, UnixGarbage& garbage);
    // Every socket with an open file, for /proc/net/unix (Register at creation; Release
    // forgets it).
    void Register(const std::shared_ptr<UnixEndpoint>& ep) { m_open[ep.get()] = ep; }
    std::vector<std::shared_ptr<UnixEndpoint>> OpenEndpoints();

    // Drops a read message: uncharges its sender.
    static void Uncharge(UnixMessage& msg);

private:
    void Unbind(UnixEndpoint& ep, UnixGarbage& garbage);
    void Disconnect(const std::shared_ptr<UnixEndpoint>& ep, bool embryo, UnixGarbage& garbage);

    const std::function<uint64_t()> m_next_ino;
    std::mutex m_lock;
    std::map<SockAddr, std::weak_ptr<UnixEndpoint>> m_abstract;
    std::map<UnixPathKey, std::weak_ptr<UnixEndpoint>> m_paths;
    std::map<const UnixEndpoint*, fs::VfsPath> m_bound_paths;  // pins the socket inodes
    uint32_t m_next_autobind = 0;
    std::map<const UnixEndpoint*, std::weak_ptr<UnixEndpoint>> m_open;  // guarded by m_lock
};

}  // namespace moat::net
