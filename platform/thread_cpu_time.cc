#include "platform/thread_cpu_time.h"

#include <sys/syscall.h>
#include <unistd.h>

#include "platform/host_proc.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace moat::platform {

Context::CpuTimes HostThreadCpuTime(pid_t pid, pid_t tid) {
    Context::CpuTimes t;
    if (tid <= 0)
        return t;
    std::string dir = std::to_string(pid) + "/task/" + std::to_string(tid) + "/";
    std::string stat = ReadHostProcFile(dir + "stat");
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos)
        return t;
    // After "pid (comm)": state is field 3, utime field 14, stime field 15 (clock ticks).
    unsigned long long utime = 0, stime = 0;
    if (std::sscanf(stat.c_str() + paren + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                    &stime) != 2)
        return t;
    unsigned long long runtime_ns = 0;
    std::string sched = ReadHostProcFile(dir + "schedstat");
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

void HostThreadTarget::Set(pid_t pid, pid_t tid) {
    std::lock_guard lock(m_lock);
    m_pid = pid;
    m_tid = tid;
}

Context::CpuTimes HostThreadTarget::CpuTime() {
    pid_t pid, tid;
    Context::CpuTimes total;
    {
        std::lock_guard lock(m_lock);
        pid = m_pid;
        tid = m_tid;
        total = m_retired;
    }
    // Read outside the lock: it is a /proc read.
    Context::CpuTimes live = tid > 0 ? HostThreadCpuTime(pid, tid) : Context::CpuTimes{};
    std::lock_guard lock(m_lock);
    if (m_tid != tid)  // retired meanwhile: m_retired has it now
        return MonotonicCpuTimes(m_retired, m_reported);
    total.user_ns += live.user_ns;
    total.sys_ns += live.sys_ns;
    return MonotonicCpuTimes(total, m_reported);
}

void HostThreadTarget::Retire() {
    pid_t pid, tid;
    {
        std::lock_guard lock(m_lock);
        pid = m_pid;
        tid = m_tid;
    }
    Context::CpuTimes last = tid > 0 ? HostThreadCpuTime(pid, tid) : Context::CpuTimes{};
    std::lock_guard lock(m_lock);
    m_retired.user_ns += last.user_ns;
    m_retired.sys_ns += last.sys_ns;
    m_pid = 0;
    m_tid = 0;
}

void HostThreadTarget::Signal(int signo) {
    std::lock_guard lock(m_lock);
    if (m_tid > 0)
        ::syscall(SYS_tgkill, m_pid, m_tid, signo);
}

}  // namespace moat::platform
