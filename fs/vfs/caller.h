#pragma once
// FsCaller: who is asking — the credentials permission checks use and the task (for /proc).

#include "sentry/kernel/credentials.h"
#include "sentry/kernel/forward.h"

namespace moat::fs {

struct FsCaller {
    // Null means the sentry itself (CLI PATH search, FsContext set-up): permission checks
    // behave as for root (CAP_DAC_OVERRIDE), so only exec's "some x bit" rule applies.
    const kernel::Credentials* creds = nullptr;
    // The calling task; null for sentry-side walks. /proc/self needs it.
    kernel::Task* task = nullptr;
};

}  // namespace moat::fs
