// Task CPU time and resource usage (usage.h), and the sandbox's CPU count (sched.h).

#include "platform/base/log.h"
#include "sentry/kernel/sched.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/kernel/usage.h"
#include "sentry/mm/memory_manager.h"

#include <sched.h>
#include <unistd.h>

namespace moat::kernel {

int SandboxCpuCount() {
    // The CPUs the sentry may run on: all of the host's, or the --cpus the sandbox was given
    // (sentry/sandbox LimitCpus). Read from the affinity mask, not /sys, which the confined
    // sentry no longer sees.
    static const int count = [] {
        cpu_set_t set;
        CPU_ZERO(&set);
        if (::sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
            return CPU_COUNT(&set);
        long n = ::sysconf(_SC_NPROCESSORS_ONLN);
        return n > 0 ? static_cast<int>(n) : 1;
    }();
    return count;
}

void Task::SetContext(std::unique_ptr<platform::Context> ctx) {
    std::lock_guard lock(m_context_lock);
    m_context = std::move(ctx);
}

void Task::ReleaseContext() {
    // On the task's own thread (the context's owner). The group's account lock first: the
    // task moves from "live" to "exited" atomically for GroupUsage.
    UsageAccount& account = m_tg->usage;
    std::lock_guard account_lock(account.m_lock);
    std::lock_guard lock(m_context_lock);
    if (m_context_released)
        return;
    if (m_context)
        m_cpu_final = m_context->CpuTime();
    m_context.reset();
    m_context_released = true;
    account.m_exited.user_ns += m_cpu_final.user_ns;
    account.m_exited.sys_ns += m_cpu_final.sys_ns;
    account.m_exited.minflt += minflt.load(std::memory_order_relaxed);
    if (m_mm)
        account.m_exited.maxrss_kb = std::max(account.m_exited.maxrss_kb, m_mm->resident_pages() * mm::kPageSize / 1024);
}

platform::Context::CpuTimes Task::CpuTime() {
    std::lock_guard lock(m_context_lock);
    if (m_context)
        return m_context->CpuTime();
    return m_cpu_final;
}

ResourceUsage TaskUsage(Task& task) {
    ResourceUsage u;
    auto cpu = task.CpuTime();
    u.user_ns = cpu.user_ns;
    u.sys_ns = cpu.sys_ns;
    u.minflt = task.minflt.load(std::memory_order_relaxed);
    return u;
}

ResourceUsage GroupUsage(ThreadGroup& tg, bool including_children) {
    UsageAccount& account = tg.usage;
    std::lock_guard lock(account.m_lock);
    ResourceUsage total = account.m_exited;
    for (Task* task : tg.tasks()) {
        // Tasks that released their context are already in m_exited (see ReleaseContext);
        // TaskUsage of one of them would count it twice.
        std::lock_guard task_lock(task->m_context_lock);
        if (task->m_context_released || !task->m_context)
            continue;
        auto cpu = task->m_context->CpuTime();
        total.user_ns += cpu.user_ns;
        total.sys_ns += cpu.sys_ns;
        total.minflt += task->minflt.load(std::memory_order_relaxed);
    }
    if (including_children)
        total += account.m_children;
    return total;
}

struct rusage ResourceUsage::ToRusage() const {
    struct rusage ru{};
    auto tv = [](uint64_t ns) {
        return timeval{static_cast<time_t>(ns / 1000000000), static_cast<suseconds_t>(ns % 1000000000 / 1000)};
    };
    ru.ru_utime = tv(user_ns);
    ru.ru_stime = tv(sys_ns);
    ru.ru_maxrss = static_cast<long>(maxrss_kb);
    ru.ru_minflt = static_cast<long>(minflt);
    ru.ru_majflt = static_cast<long>(majflt);
    ru.ru_nvcsw = static_cast<long>(nvcsw);
    ru.ru_nivcsw = static_cast<long>(nivcsw);
    return ru;
}

}  // namespace moat::kernel
