#include "fs/user_io.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <sys/random.h>

#include <algorithm>
#include <array>

namespace moat::syscalls {

// Implements Linux getrandom(2). Bytes come from the host's CSPRNG (the sentry's own
// getrandom); the pool is always initialised, so GRND_NONBLOCK never gives EAGAIN.
SyscallResult sys_getrandom(kernel::Task& t, const SyscallArgs& a) {
    constexpr unsigned kGrndInsecure = 0x0004;
    unsigned flags = arg_uint(a, 2);
    if (flags & ~(GRND_NONBLOCK | GRND_RANDOM | kGrndInsecure))
        return Error(EINVAL);
    if ((flags & kGrndInsecure) && (flags & GRND_RANDOM))
        return Error(EINVAL);
    constexpr uint64_t kMaxRwCount = 0x7ffff000;
    uint64_t len = std::min<uint64_t>(a[1], kMaxRwCount);
    // Into the app's buffer as Linux's copy_to_iter does: a buffer that runs into a bad page
    // gets the bytes that fit, and the call reports those (EFAULT only when none landed).
    fs::UserIoDst dst(t.mm(), TRY(fs::ImportBuffer(arg_addr(a, 0), len)));
    std::array<uint8_t, 4096> buf;
    uint64_t done = 0;
    while (done < len) {
        size_t chunk = static_cast<size_t>(std::min<uint64_t>(len - done, buf.size()));
        ssize_t got = ::getrandom(buf.data(), chunk, 0);
        if (got <= 0)
            return done ? SyscallResult(done) : Error(EIO);
        auto put = dst.Put({buf.data(), static_cast<size_t>(got)});
        if (!put.ok())
            return done ? SyscallResult(done) : Error(EFAULT);
        done += *put;
        if (*put < static_cast<size_t>(got))
            break;
    }
    return done;
}

}  // namespace moat::syscalls
