#pragma once
// The container process's control socket (`<state dir>/control.sock`): how `moat exec` starts
// another process in a running sandbox. One SOCK_SEQPACKET message per request: a runtime-spec
// process object (args, env, cwd, user {uid, gid, additionalGids, umask}, capabilities,
// noNewPrivileges, rlimits; oci_exec_request.h) with the new process's stdin, stdout and
// stderr as SCM_RIGHTS; the answers are {"pid": N} once it runs (or {"error": "..."}) and
// {"status": W} (a wait status) when it has exited. Only the host user who owns the state
// directory can reach the socket (0600: connect(2) needs write permission on it); the sentry
// still checks every field of a request as it would a stranger's (ParseExecRequest) and
// answers a bad one with an error, never a crash.

#include "platform/base/result.h"
#include "platform/base/unique_fd.h"

#include <sys/socket.h>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace moat::kernel {
class Kernel;
}

namespace moat::cli {

// Two steps, around the sentry's confinement (sentry/sandbox/confinement.h): Bind while the
// host's paths are still in reach (before Seal's pivot_root), Serve once PID 1 runs
// (Kernel::Run's `started`: an exec served earlier would take pid 1 and pass for init), after
// LockDown: its host calls are accept4 on listen_fd() with kAcceptFlags and recvmsg with
// kRecvFlags, which the host filter allows exactly.
class ControlServer {
public:
    static constexpr int kAcceptFlags = SOCK_CLOEXEC;
    static constexpr int kRecvFlags = MSG_CMSG_CLOEXEC;

    static Result<std::unique_ptr<ControlServer>> Bind(const std::string& path);
    void Serve(kernel::Kernel& kernel);
    ~ControlServer();  // stops accepting; waits for the exec'd processes' answers to go out

    int listen_fd() const { return m_listen.get(); }

private:
    ControlServer(UniqueFd dir, std::string name, UniqueFd listen, UniqueFd stop);
    void AcceptLoop();
    void ServeSession(UniqueFd conn);
    void ServeRequest(const UniqueFd& conn);

    kernel::Kernel* m_kernel = nullptr;
    UniqueFd m_dir;  // the state directory (O_PATH): unlinking the socket after the pivot
    std::string m_name;
    UniqueFd m_listen;
    UniqueFd m_stop;  // an eventfd: the destructor's wake-up for AcceptLoop
    std::thread m_acceptor;
    std::mutex m_lock;
    std::vector<std::thread> m_sessions;  // guarded by m_lock
};

// The client side (`moat exec`): sends the request and the three fds, waits for the exit.
// Returns the wait status, or -1 with *error set.
int ExecThroughControl(const std::string& path, const std::string& request_json, const int (&stdio)[3],
                       pid_t* inner_pid, std::string* error);

}  // namespace moat::cli
