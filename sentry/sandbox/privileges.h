#pragma once
// The privilege half of confinement (confinement.h, step 2).

#include "platform/base/result.h"

#include <cstdint>

namespace moat::sandbox {

// The capabilities the sentry keeps: it serves the sandbox's files with its own permission
// checks, so on the host it must still read, write, chown and chmod files of any owner
// (CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID). Nothing else.
uint64_t KeptCapabilities();

// Drops every other capability: bounding set (PR_CAPBSET_DROP), ambient set, then capset with
// inheritable = 0 and permitted = effective = KeptCapabilities() ∩ what we had. Per thread:
// call before any other thread exists.
Result<void> DropCapabilities();

// PR_SET_NO_NEW_PRIVS; the sentry stays dumpable so that it may still ptrace its own stubs
// (dropping capabilities made it non-dumpable, and the stubs inherit that).
Result<void> SetNoNewPrivs();

// Limits on the sentry itself: no core dumps (they would hold app memory), no POSIX message
// queues, no real-time priority, no locked memory; the soft fd limit raised to the hard one
// (the sentry holds one host fd per open host file).
Result<void> LimitResources();

// Keeps the sentry — so every thread and stub it makes later — on the first `n` CPUs it may
// run on now (--cpus). EINVAL for n == 0.
Result<void> LimitCpus(unsigned n);

// Closes every inherited fd >= 3 (the sentry's own are opened later): at the very start.
void CloseInheritedFds();

}  // namespace moat::sandbox
