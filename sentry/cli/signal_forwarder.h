#pragma once
// SignalForwarder: `moat do` passes SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to the moat
// process on to the sandbox's PID 1, like a container runtime's init does.
//
// Construct it before the sentry starts any thread: it blocks those signals in the calling
// thread so every thread created afterwards inherits the mask, and a signalfd receives them.

#include "platform/base/unique_fd.h"
#include "sentry/kernel/forward.h"

#include <thread>

namespace moat::cli {

class SignalForwarder {
public:
    SignalForwarder();
    ~SignalForwarder();
    // Starts forwarding to `kernel`'s PID 1 (call once the kernel exists).
    void Start(kernel::Kernel& kernel);
    // Stops forwarding; the kernel may be destroyed afterwards.
    void Stop();

private:
    void Loop(kernel::Kernel& kernel);
    UniqueFd m_signal_fd;
    UniqueFd m_stop_fd;
    std::thread m_thread;
};

}  // namespace moat::cli
