#include "platform/base/log.h"
#include "platform/base/result.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

namespace moat::detail {
void must_failed(const char* expr, int err, const char* file, int line) {
    fprintf(stderr, "moat: internal error: %s failed with %s at %s:%d\n", expr, strerror(err), file, line);
    abort();
}
}  // namespace moat::detail

namespace moat::log {
namespace {
// The one piece of process-wide logging state; set once at start-up by the front end.
std::atomic<int> g_debug_fd{-1};

void write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        ssize_t n = ::write(fd, s.data(), s.size());
        if (n <= 0)
            return;
        s.remove_prefix(static_cast<size_t>(n));
    }
}
}  // namespace

bool debug_enabled() { return g_debug_fd.load(std::memory_order_relaxed) >= 0; }

void set_debug_file(int fd) {
    int old = g_debug_fd.exchange(fd);
    if (old > 2)
        ::close(old);
}

void write_debug(std::string_view line) {
    int fd = g_debug_fd.load(std::memory_order_relaxed);
    if (fd < 0)
        return;
    // Monotonic seconds since the first line, so the log doubles as a coarse profile.
    static const auto start = std::chrono::steady_clock::now();
    double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string s = fmt::format("{:10.6f} {}\n", t, line);
    write_all(fd, s);
}

void write_warning(std::string_view line) {
    std::string s = "moat: ";
    s.append(line);
    s.push_back('\n');
    write_all(2, s);
}
}  // namespace moat::log
