#pragma once
// ProcFuseServer: one sentry thread answering the host kernel's FUSE requests for the /proc
// mount Seal made (sentry/sandbox/namespaces.h), from the sandbox's procfs (FuseSession over
// a ProcSource).
//
// Started after Seal (so the thread has the dropped capabilities; Seal refuses a second
// thread) and before LockDown: the eventfd that wakes it at Stop is made here, off the
// host filter's list. The thread then makes only read(2), write(2) and poll(2) calls, on the
// /dev/fuse fd and that eventfd, all on the allowlist.

#include "fs/procfuse/proc_source.h"
#include "platform/base/result.h"
#include "platform/base/unique_fd.h"

#include <memory>
#include <thread>

namespace moat::fs::procfuse {

class ProcFuseServer {
public:
    static Result<std::unique_ptr<ProcFuseServer>> Start(UniqueFd fuse, std::unique_ptr<ProcSource> source);
    // Stops the thread (Stop) before anything it reads goes away.
    ~ProcFuseServer();
    ProcFuseServer(const ProcFuseServer&) = delete;
    ProcFuseServer& operator=(const ProcFuseServer&) = delete;

    // Wakes the thread and waits for it; a request it is answering is finished first.
    void Stop();

private:
    ProcFuseServer(UniqueFd fuse, UniqueFd wake, std::unique_ptr<ProcSource> source)
        : m_fuse(std::move(fuse)), m_wake(std::move(wake)), m_source(std::move(source)) {}
    void Serve();

    UniqueFd m_fuse;  // non-blocking: poll says when a request is there
    UniqueFd m_wake;  // eventfd: readable at Stop
    std::unique_ptr<ProcSource> m_source;
    std::thread m_thread;
};

// Serves `kernel`'s procfs on `fuse` (the fd Seal's /proc mount left, or invalid): null, with
// a debug line, when there is no mount or no procfs; the mount is then closed (ENOTCONN to
// its readers) rather than left hanging. Never fatal: `podman top` is all it is for.
std::unique_ptr<ProcFuseServer> ServeSandboxProc(UniqueFd fuse, kernel::Kernel& kernel);

}  // namespace moat::fs::procfuse
