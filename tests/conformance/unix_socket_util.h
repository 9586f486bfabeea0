#pragma once
// Helpers for the unix socket suites (guest code only).

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>

namespace moat::conformance {

// A sockaddr_un for `name`: a path, or an abstract name when it starts with '\0'. `len` is
// what bind/connect take (offsetof(sun_path) + the path and its NUL, or the abstract bytes).
struct UnixAddr {
    sockaddr_un sun{};
    socklen_t len = 0;

    explicit UnixAddr(const std::string& name) {
        sun.sun_family = AF_UNIX;
        memcpy(sun.sun_path, name.data(), name.size());
        len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() + (name[0] ? 1 : 0));
    }
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&sun); }
};

// An abstract name unique to this process and `tag` (tests run natively side by side).
inline std::string AbstractName(const std::string& tag) {
    return std::string(1, '\0') + "moat-test-" + std::to_string(getpid()) + "-" + tag;
}

// Closes the fd on scope exit.
class Fd {
public:
    explicit Fd(int fd = -1) : m_fd(fd) {}
    ~Fd() {
        if (m_fd >= 0)
            close(m_fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return m_fd; }
    operator int() const { return m_fd; }
    void reset(int fd = -1) {
        if (m_fd >= 0)
            close(m_fd);
        m_fd = fd;
    }

private:
    int m_fd;
};

}  // namespace moat::conformance
