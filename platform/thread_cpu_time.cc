#include "platform/thread_cpu_time.h"

#include "platform/base/unique_fd.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace moat::platform {

namespace {
// Reads a small /proc file whole; empty on failure.
std::string ReadProcFile(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid())
        return {};
    char buf[1024];
    ssize_t n = ::read(fd.get(), buf, sizeof(buf) - 1);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace

Context::CpuTimes HostThreadCpuTime(pid_t pid, pid_t tid) {
    Context::CpuTimes t;
    if (tid <= 0)
        return t;
    std::string dir = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/";
    std::string stat = ReadProcFile(dir + "stat");
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos)
        return t;
    // After "pid (comm)": state is field 3, utime field 14, stime field 15 (clock ticks).
    unsigned long long utime = 0, stime = 0;
    if (std::sscanf(stat.c_str() + paren + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                    &stime) != 2)
        return t;
    unsigned long long runtime_ns = 0;
    std::string sched = ReadProcFile(dir + "schedstat");
    if (sched.empty() || std::sscanf(sched.c_str(), "%llu", &runtime_ns) != 1) {
        static const long hz = ::sysconf(_SC_CLK_TCK);
        t.user_ns = utime * (1000000000ull / static_cast<unsigned long long>(hz));
        t.sys_ns = stime * (1000000000ull / static_cast<unsigned long long>(hz));
        return t;
    }
    // Split the exact runtime in the ticks' proportion (Linux's cputime_adjust).
    if (utime + stime == 0) {
        t.user_ns = runtime_ns;
    } else {
        t.sys_ns = static_cast<uint64_t>(static_cast<unsigned __int128>(runtime_ns) * stime / (utime + stime));
        t.user_ns = runtime_ns - t.sys_ns;
    }
    return t;
}

Context::CpuTimes MonotonicCpuTimes(Context::CpuTimes now, Context::CpuTimes& reported) {
    uint64_t rtime = now.user_ns + now.sys_ns;
    if (rtime < reported.user_ns + reported.sys_ns)
        return reported;
    uint64_t sys = std::max(now.sys_ns, reported.sys_ns);
    uint64_t user = rtime - sys;
    if (user < reported.user_ns) {
        user = reported.user_ns;
        sys = rtime - user;
    }
    reported = {user, sys};
    return reported;
}

}  // namespace moat::platform
