#pragma once
// UserAddr: an address in the application's address space. It cannot be dereferenced or
// mixed with host pointers; arithmetic is checked (overflow is EFAULT). Only the memory
// manager's copy functions touch the memory behind it.

#include "platform/base/result.h"

#include <cstdint>

namespace moat::mm {

inline constexpr uint64_t kPageSize = 4096;
inline constexpr uint64_t kPageMask = ~(kPageSize - 1);
constexpr uint64_t PageDown(uint64_t v) { return v & kPageMask; }
// Rounds up; callers check for overflow with PageUpChecked where v comes from the app.
constexpr uint64_t PageUp(uint64_t v) { return (v + kPageSize - 1) & kPageMask; }
constexpr bool IsPageAligned(uint64_t v) { return (v & (kPageSize - 1)) == 0; }
inline Result<uint64_t> PageUpChecked(uint64_t v) {
    if (v > UINT64_MAX - (kPageSize - 1))
        return Error(ENOMEM);
    return PageUp(v);
}

class UserAddr {
public:
    constexpr UserAddr() = default;
    constexpr explicit UserAddr(uint64_t value) : m_value(value) {}
    constexpr uint64_t get() const { return m_value; }
    constexpr bool is_null() const { return m_value == 0; }
    Result<UserAddr> offset(uint64_t n) const {
        uint64_t r;
        if (__builtin_add_overflow(m_value, n, &r))
            return Error(EFAULT);
        return UserAddr(r);
    }
    constexpr bool operator==(const UserAddr&) const = default;

private:
    uint64_t m_value = 0;
};

}  // namespace moat::mm
