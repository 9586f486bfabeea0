#include "sentry/cli/signal_forwarder.h"

#include "platform/base/log.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/signals.h"
#include "sentry/kernel/thread_group.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace moat::cli {

namespace {
sigset_t ForwardedSignals() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT})
        sigaddset(&set, sig);
    return set;
}
}  // namespace

SignalForwarder::SignalForwarder() {
    sigset_t set = ForwardedSignals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    m_signal_fd.reset(signalfd(-1, &set, SFD_CLOEXEC));
    m_stop_fd.reset(eventfd(0, EFD_CLOEXEC));
}

SignalForwarder::~SignalForwarder() { Stop(); }

void SignalForwarder::Stop() {
    if (m_thread.joinable()) {
        uint64_t one = 1;
        [[maybe_unused]] ssize_t n = ::write(m_stop_fd.get(), &one, sizeof(one));
        m_thread.join();
    }
}

void SignalForwarder::Start(kernel::Kernel& kernel) {
    if (m_signal_fd && m_stop_fd)
        m_thread = std::thread([this, &kernel] { Loop(kernel); });
}

void SignalForwarder::Loop(kernel::Kernel& kernel) {
    for (;;) {
        struct pollfd fds[2] = {{m_signal_fd.get(), POLLIN, 0}, {m_stop_fd.get(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0)
            continue;
        if (fds[1].revents)
            return;
        struct signalfd_siginfo si;
        if (::read(m_signal_fd.get(), &si, sizeof(si)) != sizeof(si))
            continue;
        auto init = kernel.FindThreadGroup(1);
        if (!init)
            continue;
        log::debug("forwarding host signal {} to PID 1", si.ssi_signo);
        // Sent by "the kernel" from the sandbox's view: si_code SI_KERNEL-like, pid 0.
        (void)kernel::SendGroupSignal(*init, kernel::MakeSigInfo(static_cast<int>(si.ssi_signo), SI_KERNEL));
    }
}

}  // namespace moat::cli
