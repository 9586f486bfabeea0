#pragma once
// Helpers for the process suites (fork, wait, exec, clone_thread, pgrp). Guest code only.

#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string>

namespace moat::conformance {

// Forks; the child runs `fn` and _exits with its return value (never returns into gtest).
template <typename Fn>
pid_t ForkAndRun(Fn fn) {
    pid_t pid = fork();
    if (pid == 0)
        _exit(fn());
    return pid;
}

// Waits for `pid` and returns its wait status, or -1 on error.
inline int WaitStatus(pid_t pid) {
    int status = 0;
    pid_t r;
    do {
        r = waitpid(pid, &status, 0);
    } while (r < 0 && errno == EINTR);
    return r == pid ? status : -1;
}

// The path of a guest helper next to this test binary (the build tree is visible in the
// sandbox at the same absolute path).
inline std::string HelperPath(const char* name) {
    char buf[PATH_MAX] = {};
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    std::string self = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    return self.substr(0, self.rfind('/') + 1) + name;
}

}  // namespace moat::conformance
