#pragma once
// InetEndpoint: the state of one AF_INET/AF_INET6 socket (Linux's struct sock with its
// inet/tcp/udp parts), separate from the open file (InetSocket) so that the two ends of a
// connection and a listener's accept queue can point at each other without keeping files
// open. Every field is guarded by the InetSpace lock.
//
// The fields fall in three layers (see net/README.md): the socket layer (options, socket
// state, errors), the demux layer (local/remote address, port binding, owned by InetSpace),
// and the loopback transport (`peer`, the receive queues), which a packet-level TCP would
// replace.

#include "net/inet/inet_addr.h"
#include "sentry/kernel/event_queue.h"
#include "sentry/kernel/wait_queue.h"

#include <netinet/in.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace moat::net {

// Linux's sk_shutdown bits.
inline constexpr int kInetRcvShutdown = 1;
inline constexpr int kInetSendShutdown = 2;
inline constexpr int kInetShutdownMask = 3;

// A piece of a TCP byte stream, queued at the receiver.
struct InetChunk {
    std::vector<uint8_t> data;
    size_t consumed = 0;
    size_t unread() const { return data.size() - consumed; }
};

// A UDP datagram queued at the receiver, charged to its receive buffer.
struct InetDatagram {
    std::vector<uint8_t> data;
    InetAddr from;
    size_t charge = 0;
};

class InetEndpoint {
public:
    // The TCP states the loopback transport goes through (UDP: kClosed, or kEstablished when
    // connected, as Linux marks a connected datagram socket).
    enum class State { kClosed, kListen, kSynSent, kEstablished };
    // What connect(2) last did at the socket layer (Linux's sock->state).
    enum class SockState { kUnconnected, kConnecting, kConnected };

    InetEndpoint(int family, int type, uint64_t ino) : family(family), type(type), ino(ino) {}

    const int family;  // AF_INET or AF_INET6
    const int type;    // SOCK_STREAM or SOCK_DGRAM
    const uint64_t ino;
    int protocol() const { return type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP; }
    bool tcp() const { return type == SOCK_STREAM; }

    // ---- socket layer ----
    State state = State::kClosed;
    SockState sock_state = SockState::kUnconnected;
    bool dead = false;  // its file is gone
    int shutdown = 0;   // kInetRcvShutdown | kInetSendShutdown
    int error = 0;      // sk_err, reported once
    bool done = false;  // a FIN arrived (Linux's SOCK_DONE): reads end with 0
    uint32_t uid = 0;   // the owner, for SO_REUSEPORT

    // ---- demux: addresses and the port binding (InetSpace) ----
    bool bound = false;        // in InetSpace's port table
    bool addr_locked = false;  // bind() chose the address (SOCK_BINDADDR_LOCK)
    bool port_locked = false;  // bind() chose the port (SOCK_BINDPORT_LOCK)
    InetAddr local;            // mapped form for IPv4
    InetAddr remote;

    // ---- loopback transport ----
    std::shared_ptr<InetEndpoint> peer;  // TCP: the other end of the connection
    std::deque<InetChunk> rq;            // TCP receive queue
    size_t rq_bytes = 0;
    std::deque<std::shared_ptr<InetEndpoint>> backlog;  // listening: established, not accepted
    std::deque<std::weak_ptr<InetEndpoint>> syn_queue;  // listening: connectors waiting for room
    std::weak_ptr<InetEndpoint> listener;               // kSynSent: where it waits
    int max_backlog = 0;
    std::deque<InetDatagram> dq;  // UDP receive queue
    size_t rmem = 0;              // UDP: charge of dq

    // ---- options ----
    int sndbuf = 0, rcvbuf = 0;  // set by InetSocket::Create (TCP and UDP defaults differ)
    bool reuseaddr = false, reuseport = false, keepalive = false, v6only = false;
    bool nodelay = false, cork = false, broadcast = false;
    int linger_onoff = 0, linger_secs = 0;
    int keepidle = 7200, keepintvl = 75, keepcnt = 9;
    int user_mss = 0;
    int rcvlowat = 1;       // stored; reads and poll do not use it yet
    bool bound_to_lo = false;  // SO_BINDTODEVICE "lo"
    int tos = 0, ttl = -1, tclass = 0, hops = -1;
    std::optional<std::chrono::nanoseconds> rcvtimeo, sndtimeo;  // none: block forever
    // Options that are stored and read back but change nothing on loopback (IP_RECVERR,
    // TCP_QUICKACK…), keyed by level << 32 | name; inet_options.cc bounds the set.
    std::map<uint64_t, int> stored;

    kernel::WaitQueue waiters;
    const std::shared_ptr<kernel::EventQueue> events = std::make_shared<kernel::EventQueue>();

    // The most bytes queued towards this endpoint's peer before a writer waits: the send
    // buffer plus the receiver's buffer (the window), as one byte-stream pair.
    size_t StreamLimit() const {
        return static_cast<size_t>(sndbuf) + (peer ? static_cast<size_t>(peer->rcvbuf) : 0);
    }
    bool StreamWritable() const { return !peer || peer->rq_bytes < StreamLimit(); }
    // Wakes blocked tasks and pollers; with the InetSpace lock held.
    void Notify(uint32_t poll_events = 0) {
        waiters.Notify();
        events->Notify(poll_events);
    }
};

}  // namespace moat::net
