#include "sentry/loader/layout_random.h"

#include "sentry/mm/user_addr.h"

#include <sys/random.h>

namespace moat::loader {

Result<void> HostRandomBytes(std::span<uint8_t> dst) {
    size_t done = 0;
    while (done < dst.size()) {
        ssize_t n = getrandom(dst.data() + done, dst.size() - done, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return HostErrno();
        }
        done += static_cast<size_t>(n);
    }
    return {};
}

Result<LayoutRandom> LayoutRandom::Create(uint64_t seed) {
    if (seed == 0) {
        uint8_t bytes[8];
        TRY(HostRandomBytes(bytes));
        for (uint8_t b : bytes)
            seed = (seed << 8) | b;
    }
    return LayoutRandom(seed);
}

// splitmix64: tiny, good statistical quality, and every state is valid. This only spreads
// addresses; nothing secret depends on it.
uint64_t LayoutRandom::Next() {
    uint64_t z = (m_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t LayoutRandom::PageOffset(uint64_t range) { return Below(range / mm::kPageSize) * mm::kPageSize; }

}  // namespace moat::loader
