#pragma once
// Result<T>: a value or a Linux errno. Errors inside the sentry are values, never exceptions.
// TRY(expr) returns the error to the caller; MUST(expr) aborts on error (sentry invariants only).

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <type_traits>
#include <utility>
#include <variant>

namespace moat {

// Restart codes stay inside the sentry; signal delivery turns them into EINTR or a restart.
inline constexpr int ERESTARTSYS = 512;
inline constexpr int ERESTARTNOINTR = 513;
inline constexpr int ERESTARTNOHAND = 514;
inline constexpr int ERESTART_RESTARTBLOCK = 516;

class Error {
public:
    constexpr explicit Error(int code) : m_code(code) {}
    constexpr int code() const { return m_code; }
    constexpr bool operator==(const Error&) const = default;

private:
    int m_code;
};

template <typename T>
class [[nodiscard]] Result {
public:
    Result(const T& value) : m_value(value) {}
    Result(T&& value) : m_value(std::move(value)) {}
    Result(Error error) : m_value(error) {}
    template <typename U>
        requires(std::is_convertible_v<U, T> && !std::is_same_v<std::decay_t<U>, T> &&
                 !std::is_same_v<std::decay_t<U>, Error>)
    Result(U&& value) : m_value(T(std::forward<U>(value))) {}

    bool ok() const { return std::holds_alternative<T>(m_value); }
    explicit operator bool() const { return ok(); }
    int error() const { return std::get<Error>(m_value).code(); }

    T& value() & { return std::get<T>(m_value); }
    const T& value() const& { return std::get<T>(m_value); }
    T&& value() && { return std::get<T>(std::move(m_value)); }
    T release_value() { return std::get<T>(std::move(m_value)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }
    T value_or(T fallback) const { return ok() ? value() : fallback; }

private:
    std::variant<T, Error> m_value;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : m_error(error.code()) {}
    bool ok() const { return m_error == 0; }
    explicit operator bool() const { return ok(); }
    int error() const { return m_error; }
    void release_value() {}

private:
    int m_error = 0;
};

inline Error Errno(int code) { return Error(code); }
// The current host errno as an Error (for host calls made by the sentry itself).
inline Error HostErrno() { return Error(errno ? errno : EIO); }

}  // namespace moat

#define MOAT_CONCAT2(a, b) a##b
#define MOAT_CONCAT(a, b) MOAT_CONCAT2(a, b)

// TRY(expr): evaluates to the value of a Result, or returns its error from the current function.
#define TRY(expr)                                                          \
    ({                                                                     \
        auto _moat_try_result = (expr);                                    \
        if (!_moat_try_result.ok()) [[unlikely]]                           \
            return ::moat::Error(_moat_try_result.error());                \
        _moat_try_result.release_value();                                  \
    })

// MUST(expr): for sentry invariants whose failure means a sentry bug.
#define MUST(expr)                                                         \
    ({                                                                     \
        auto _moat_must_result = (expr);                                   \
        if (!_moat_must_result.ok()) [[unlikely]]                          \
            ::moat::detail::must_failed(#expr, _moat_must_result.error(), __FILE__, __LINE__); \
        _moat_must_result.release_value();                                 \
    })

namespace moat::detail {
[[noreturn]] void must_failed(const char* expr, int err, const char* file, int line);
}
