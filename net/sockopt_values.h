#pragma once
// Option values every socket family decodes the same way (Linux's sock_setsockopt helpers):
// SO_RCVTIMEO/SO_SNDTIMEO as a struct timeval, and an option value's bytes.

#include "platform/base/result.h"

#include <chrono>
#include <cstring>
#include <optional>
#include <string>

namespace moat::net {

// The bytes of `v`, as getsockopt returns them.
template <typename T>
std::string OptionBytes(const T& v) {
    return std::string(reinterpret_cast<const char*>(&v), sizeof(v));
}

// An int option value (the first sizeof(int) bytes); EINVAL when shorter.
Result<int> IntOptionValue(const std::string& value);

// sock_set_timeout: EINVAL for a short value, EDOM for bad microseconds; a negative time is
// zero, and zero means forever (nullopt).
Result<std::optional<std::chrono::nanoseconds>> TimeoutValue(const std::string& value);
// The timeval getsockopt returns for a timeout (zero for forever).
std::string TimeoutBytes(const std::optional<std::chrono::nanoseconds>& t);

}  // namespace moat::net
