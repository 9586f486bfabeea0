#pragma once
// UnixEndpoint: the state of one AF_UNIX socket (Linux's struct unix_sock), separate from the
// open file description (UnixSocket) so that endpoints may point at each other (peer,
// backlog) without keeping each other's files open: when the last reference to the file goes,
// UnixSpace::Release breaks every link.
//
// Every field is guarded by the UnixSpace lock (one lock for the sandbox's unix sockets).

#include "net/socket.h"
#include "sentry/kernel/event_queue.h"
#include "sentry/kernel/wait_queue.h"

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

namespace moat::net {

class UnixEndpoint;

// Linux's sk_shutdown bits.
inline constexpr int kRcvShutdown = 1;
inline constexpr int kSendShutdown = 2;
inline constexpr int kShutdownMask = 3;

// One queued skb: a datagram, or a piece of a stream.
struct UnixMessage {
    std::vector<uint8_t> data;
    size_t consumed = 0;  // stream: bytes already read
    std::vector<std::shared_ptr<fs::File>> rights;
    Ucred creds;
    SockAddr from;  // the sender's address when it sent
    // Charged to the sender's send buffer until the message is read or dropped.
    std::shared_ptr<UnixEndpoint> sender;
    size_t charge = 0;

    size_t unread() const { return data.size() - consumed; }
};

struct UnixPathKey {
    uint64_t dev = 0, ino = 0;
    auto operator<=>(const UnixPathKey&) const = default;
};

class UnixEndpoint {
public:
    enum class State { kUnconnected, kListening, kConnected };

    UnixEndpoint(int type, uint64_t ino) : type(type), ino(ino) {}

    const int type;
    const uint64_t ino;
    State state = State::kUnconnected;
    bool dead = false;  // released: its file is gone
    int shutdown = 0;   // kRcvShutdown | kSendShutdown
    int error = 0;      // sk_err, reported once (SO_ERROR, a read)
    std::shared_ptr<UnixEndpoint> peer;

    std::deque<UnixMessage> queue;  // the receive queue
    size_t wmem = 0;                // charge of this endpoint's messages not yet read
    int sndbuf = 212992;
    int rcvbuf = 212992;

    SockAddr addr;  // bound address (empty: unbound)
    std::optional<UnixPathKey> path_key;

    // Listening: connections not accepted yet (server-side endpoints already connected).
    std::deque<std::shared_ptr<UnixEndpoint>> backlog;
    int max_backlog = 0;

    Ucred peercred;  // SO_PEERCRED
    Ucred owncred;   // who listened (copied to connecting clients)
    bool passcred = false;
    bool reuseaddr = false;
    int linger_onoff = 0, linger_secs = 0;
    std::optional<std::chrono::nanoseconds> rcvtimeo, sndtimeo;  // none: block forever

    kernel::WaitQueue waiters;
    const std::shared_ptr<kernel::EventQueue> events = std::make_shared<kernel::EventQueue>();

    bool connection_based() const { return type != SOCK_DGRAM; }
    // unix_writable: room for a quarter of the send buffer.
    bool writable() const { return state != State::kListening && wmem * 4 <= static_cast<size_t>(sndbuf); }
    // Wakes blocked tasks and pollers; with the UnixSpace lock held.
    void Notify(uint32_t poll_events = 0) {
        waiters.Notify();
        events->Notify(poll_events);
    }
};

}  // namespace moat::net
