#include "net/sockopt_values.h"

#include <sys/time.h>

namespace moat::net {

Result<int> IntOptionValue(const std::string& value) {
    if (value.size() < sizeof(int))
        return Error(EINVAL);
    int v;
    memcpy(&v, value.data(), sizeof(v));
    return v;
}

Result<std::optional<std::chrono::nanoseconds>> TimeoutValue(const std::string& value) {
    if (value.size() < sizeof(timeval))
        return Error(EINVAL);
    timeval tv;
    memcpy(&tv, value.data(), sizeof(tv));
    if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
        return Error(EDOM);
    if (tv.tv_sec < 0 || (tv.tv_sec == 0 && tv.tv_usec == 0))
        return std::optional<std::chrono::nanoseconds>();
    return std::optional(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
}

std::string TimeoutBytes(const std::optional<std::chrono::nanoseconds>& t) {
    timeval tv{};
    if (t) {
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(*t).count();
        tv.tv_sec = us / 1000000;
        tv.tv_usec = us % 1000000;
    }
    return OptionBytes(tv);
}

}  // namespace moat::net
