#pragma once
// Randomness for the address-space layout (PIE base, brk, stack top, stack alignment). A
// non-zero seed (LoadRequest::random_seed) makes the layout reproducible for tests and
// debugging; AT_RANDOM is always drawn from the host's getrandom.

#include "platform/base/result.h"

#include <cstdint>
#include <span>

namespace moat::loader {

class LayoutRandom {
public:
    // seed 0: seeds itself from getrandom.
    static Result<LayoutRandom> Create(uint64_t seed);

    uint64_t Next();
    // Uniform-enough in [0, bound); 0 when bound is 0.
    uint64_t Below(uint64_t bound) { return bound == 0 ? 0 : Next() % bound; }
    // A page-aligned offset in [0, range).
    uint64_t PageOffset(uint64_t range);

private:
    explicit LayoutRandom(uint64_t state) : m_state(state) {}
    uint64_t m_state;
};

// Fills `dst` from the host's getrandom (blocking only before the host pool is ready).
Result<void> HostRandomBytes(std::span<uint8_t> dst);

}  // namespace moat::loader
