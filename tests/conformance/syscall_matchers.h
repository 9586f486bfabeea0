#pragma once
// gtest matchers for the Linux "-1 and errno" convention, so a conformance test reads like the
// man page:
//
//     EXPECT_THAT(syscall(SYS_close, -1), SyscallFailsWithErrno(EBADF));
//     EXPECT_THAT(syscall(SYS_getpid), SyscallSucceedsWithValue(Gt(0)));
//     EXPECT_THAT(mmap(nullptr, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
//                 SyscallFailsWithErrno(EINVAL));
//
// They work on the value returned by raw syscall(2) (long) and by libc wrappers that follow the same
// convention (int, ssize_t, and pointers where MAP_FAILED == (void*)-1). errno is read when the
// matcher runs, which EXPECT_THAT/ASSERT_THAT do immediately after evaluating the expression, so
// always put the call inside the EXPECT_THAT rather than storing the result first.
//
// Failure messages name the errno symbolically (strerrorname_np) and with its description:
//     Expected: fails with errno EBADF (Bad file descriptor)
//       Actual: -1, failed with errno ENOENT (No such file or directory)

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <type_traits>

namespace moat::conformance {

// "ENOENT (No such file or directory)"; tolerates numbers glibc has no name for.
inline std::string ErrnoName(int e) {
    const char* name = strerrorname_np(e);
    std::string out = name ? name : ("errno " + std::to_string(e));
    out += " (";
    out += strerror(e);
    out += ")";
    return out;
}

namespace internal {

// The return value as a signed integer: pointers (mmap, shmat, sbrk) become their address, so
// MAP_FAILED is -1 like every other failure.
template <typename T>
long AsSyscallValue(T value) {
    if constexpr (std::is_pointer_v<T>) {
        return static_cast<long>(reinterpret_cast<intptr_t>(value));
    } else {
        return static_cast<long>(value);
    }
}

class SyscallSuccessMatcher {
public:
    explicit SyscallSuccessMatcher(::testing::Matcher<long> value) : m_value(std::move(value)) {}

    template <typename T>
    bool MatchAndExplain(T result, ::testing::MatchResultListener* listener) const {
        int const saved_errno = errno;  // read first: anything below may clobber it
        long const value = AsSyscallValue(result);
        if (value == -1) {
            *listener << "failed with errno " << ErrnoName(saved_errno);
            return false;
        }
        ::testing::StringMatchResultListener inner;
        if (!m_value.MatchAndExplain(value, &inner)) {
            *listener << "succeeded with value " << value;
            if (!inner.str().empty()) *listener << ", " << inner.str();
            return false;
        }
        return true;
    }
    void DescribeTo(std::ostream* os) const {
        *os << "succeeds with a value that ";
        m_value.DescribeTo(os);
    }
    void DescribeNegationTo(std::ostream* os) const {
        *os << "fails or returns a value that ";
        m_value.DescribeNegationTo(os);
    }

private:
    ::testing::Matcher<long> m_value;
};

class SyscallFailureMatcher {
public:
    // expected_errno < 0 means "any errno".
    explicit SyscallFailureMatcher(int expected_errno) : m_errno(expected_errno) {}

    template <typename T>
    bool MatchAndExplain(T result, ::testing::MatchResultListener* listener) const {
        int const saved_errno = errno;
        long const value = AsSyscallValue(result);
        if (value != -1) {
            *listener << "succeeded with value " << value;
            return false;
        }
        if (m_errno >= 0 && saved_errno != m_errno) {
            *listener << "failed with errno " << ErrnoName(saved_errno);
            return false;
        }
        return true;
    }
    void DescribeTo(std::ostream* os) const {
        if (m_errno < 0) {
            *os << "fails with any errno";
        } else {
            *os << "fails with errno " << ErrnoName(m_errno);
        }
    }
    void DescribeNegationTo(std::ostream* os) const {
        if (m_errno < 0) {
            *os << "succeeds";
        } else {
            *os << "does not fail with errno " << ErrnoName(m_errno);
        }
    }

private:
    int m_errno;
};

}  // namespace internal

// The call did not return -1.
inline auto SyscallSucceeds() {
    return ::testing::MakePolymorphicMatcher(internal::SyscallSuccessMatcher(::testing::_));
}

// The call did not return -1 and its value matches `value` (a number or a matcher such as Gt(0)).
template <typename T>
auto SyscallSucceedsWithValue(T const& value) {
    return ::testing::MakePolymorphicMatcher(
        internal::SyscallSuccessMatcher(::testing::MatcherCast<long>(value)));
}

// The call returned -1 with errno == expected_errno.
inline auto SyscallFailsWithErrno(int expected_errno) {
    return ::testing::MakePolymorphicMatcher(internal::SyscallFailureMatcher(expected_errno));
}

// The call returned -1 (any errno).
inline auto SyscallFails() {
    return ::testing::MakePolymorphicMatcher(internal::SyscallFailureMatcher(-1));
}

}  // namespace moat::conformance
