#include "platform/host_proc.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>

namespace moat::platform {
namespace {
// Set once at start-up, before any reader runs; the fd lives as long as the process.
std::atomic<int> g_proc_dir{-1};
}  // namespace

void SetHostProcDir(UniqueFd dir) {
    int old = g_proc_dir.exchange(dir.release());
    UniqueFd drop(old);
}

std::string ReadHostProcFile(const std::string& relative, size_t max) {
    int dir = g_proc_dir.load();
    UniqueFd fd(dir >= 0 ? ::openat(dir, relative.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
                         : ::open(("/proc/" + relative).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid())
        return {};
    std::string buf(max, '\0');
    ssize_t n = ::read(fd.get(), buf.data(), max);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return buf;
}

}  // namespace moat::platform
