// /proc/[pid]/oom_score and oom_score_adj (fs/proc/base.c): the OOM killer's view of a
// process (sentry/kernel/oom_killer.h) and its adjustment.

#include "fs/proc/pid_text.h"
#include "sentry/kernel/credentials.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/oom_killer.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"

#include <linux/capability.h>

#include <cerrno>
#include <cstdlib>
#include <string>

namespace moat::fs::proc {

Result<std::string> OomScoreText(const FsCaller&, const ProcessRef& p) {
    if (!p.task)
        return std::string("0\n");  // a zombie has no memory left
    kernel::OomKiller& oom = p.task->kernel().oom_killer();
    return std::to_string(kernel::OomScore(oom.CandidateOf(*p.group, p.task), oom.total_pages())) + "\n";
}

Result<std::string> OomScoreAdjText(const FsCaller&, const ProcessRef& p) {
    return std::to_string(p.group->oom_score_adj.load()) + "\n";
}

Result<void> WriteOomScoreAdj(const FsCaller& caller, const ProcessRef& p, std::string_view data) {
    // Linux reads at most PROC_NUMBUF - 1 bytes and parses them with kstrtoint(strstrip(), 0).
    std::string text(data.substr(0, 12));
    const char* ws = " \t\n\v\f\r";
    size_t first = text.find_first_not_of(ws);
    if (first == std::string::npos)
        return Error(EINVAL);
    text = text.substr(first, text.find_last_not_of(ws) - first + 1);
    errno = 0;
    char* end = nullptr;
    long value = std::strtol(text.c_str(), &end, 0);
    if (end == text.c_str() || *end != '\0')
        return Error(EINVAL);
    if (errno == ERANGE || value < kernel::kOomScoreAdjMin || value > kernel::kOomScoreAdjMax)
        return Error(EINVAL);
    // Below the floor set by a privileged writer only with CAP_SYS_RESOURCE (__set_oom_adj).
    const bool privileged = !caller.creds || caller.creds->HasCapability(CAP_SYS_RESOURCE);
    if (value < p.group->oom_score_adj_min.load() && !privileged)
        return Error(EACCES);
    p.group->oom_score_adj.store(static_cast<int>(value));
    if (privileged)
        p.group->oom_score_adj_min.store(static_cast<int>(value));
    return {};
}

}  // namespace moat::fs::proc
