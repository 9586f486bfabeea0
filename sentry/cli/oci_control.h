#pragma once
// The container process's control socket (`<state dir>/control.sock`): how `moat exec` starts
// another process in a running sandbox. One SOCK_SEQPACKET message per request: a JSON object
// {args, env, cwd} with the new process's stdin, stdout and stderr as SCM_RIGHTS; the answers
// are {"pid": N} once it runs (or {"error": "..."}) and {"status": W} (a wait status) when it
// has exited. Only the host user who owns the state directory can reach the socket (0700).

#include "platform/base/result.h"
#include "platform/base/unique_fd.h"

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace moat::kernel {
class Kernel;
}

namespace moat::cli {

class ControlServer {
public:
    static Result<std::unique_ptr<ControlServer>> Start(kernel::Kernel& kernel, const std::string& path);
    ~ControlServer();  // stops accepting; waits for the exec'd processes' answers to go out

private:
    ControlServer(kernel::Kernel& kernel, std::string path, UniqueFd listen, UniqueFd stop);
    void AcceptLoop();
    void Serve(UniqueFd conn);

    kernel::Kernel& m_kernel;
    std::string m_path;
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
