#pragma once
// The stub's seccomp filters (classic BPF, written by hand: libseccomp cannot test the
// instruction pointer).
//
// Both filters trap (SECCOMP_RET_TRAP: SIGSYS, the call not run) every system call made from
// outside the stub's code or for another architecture, and allow from the stub's code only
// the calls listed. The stub's filter, installed by the helper, allows what the helper and a
// starting thread need; the thread filter, stacked on it by each application thread before
// it runs application code, allows only what the signal handler needs. Application code can
// jump to the stub's `syscall` instructions, so these lists are what it could reach.

#include <linux/filter.h>

#include <vector>

namespace moat::platform::systrap {

std::vector<sock_filter> StubFilter();
std::vector<sock_filter> ThreadFilter();

}  // namespace moat::platform::systrap
