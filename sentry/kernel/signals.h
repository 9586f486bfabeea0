#pragma once
// Signal semantics shared by the kernel: default actions and sending. Full delivery (frames,
// handlers, masks honoured, sigreturn) arrives with the signals issue (#3); until then a
// signal whose action is a handler is recorded as pending and not run.

#include "sentry/kernel/forward.h"
#include "platform/base/result.h"

namespace moat::kernel {

enum class DefaultAction { Terminate, CoreDump, Stop, Continue, Ignore };

DefaultAction DefaultActionOf(int signo);

// Sends `signo` (1..64) to the thread group of `target` as kill(2) does: ignored signals are
// dropped, default-fatal ones end the group with the right wait status.
void SendSignalToGroup(Task& target, int signo);

}  // namespace moat::kernel
