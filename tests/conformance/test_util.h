#pragma once
// Small helpers shared by the conformance suites. Guest programs only: no sentry headers here.

#include "tests/conformance/syscall_matchers.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace moat::conformance {

inline size_t PageSize() {
    static size_t const size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    return size;
}

// Addresses no process may touch: the first page, an odd low address, the start of the kernel
// half, and the first non-canonical user address.
inline void* const kNullAddr = nullptr;
inline void* const kLowAddr = reinterpret_cast<void*>(1);
inline void* const kKernelAddr = reinterpret_cast<void*>(0xffff800000000000ull);
inline void* const kNonCanonicalAddr = reinterpret_cast<void*>(0x0000800000000000ull);

// An owned anonymous mapping, unmapped on scope exit (raw syscalls so the test controls errno).
class Mapping {
public:
    Mapping() = default;
    Mapping(size_t length, int prot, int flags = MAP_PRIVATE | MAP_ANONYMOUS, int fd = -1,
            off_t offset = 0) {
        void* p = mmap(nullptr, length, prot, flags, fd, offset);
        if (p != MAP_FAILED) {
            m_addr = static_cast<char*>(p);
            m_length = length;
        }
    }
    Mapping(Mapping&& other) noexcept : m_addr(other.m_addr), m_length(other.m_length) {
        other.m_addr = nullptr;
        other.m_length = 0;
    }
    Mapping& operator=(Mapping&& other) noexcept {
        if (this != &other) {
            Reset();
            m_addr = other.m_addr;
            m_length = other.m_length;
            other.m_addr = nullptr;
            other.m_length = 0;
        }
        return *this;
    }
    Mapping(Mapping const&) = delete;
    Mapping& operator=(Mapping const&) = delete;
    ~Mapping() { Reset(); }

    // Forget the range without unmapping it (after the test unmapped or moved it itself).
    void Release() {
        m_addr = nullptr;
        m_length = 0;
    }
    void Reset() {
        if (m_addr) munmap(m_addr, m_length);
        Release();
    }
    bool ok() const { return m_addr != nullptr; }
    char* addr() const { return m_addr; }
    uintptr_t start() const { return reinterpret_cast<uintptr_t>(m_addr); }
    size_t length() const { return m_length; }

private:
    char* m_addr = nullptr;
    size_t m_length = 0;
};

// An address range of `pages` pages that was just unmapped: nothing lives there (the suites are
// single-threaded, so nothing maps it again behind the test's back).
inline char* UnmappedRange(size_t pages) {
    void* p = mmap(nullptr, pages * PageSize(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    munmap(p, pages * PageSize());
    return static_cast<char*>(p);
}

// Owned fd.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : m_fd(fd) {}
    Fd(Fd&& other) noexcept : m_fd(other.m_fd) { other.m_fd = -1; }
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            Reset();
            m_fd = other.m_fd;
            other.m_fd = -1;
        }
        return *this;
    }
    Fd(Fd const&) = delete;
    Fd& operator=(Fd const&) = delete;
    ~Fd() { Reset(); }
    void Reset() {
        if (m_fd >= 0) close(m_fd);
        m_fd = -1;
    }
    int get() const { return m_fd; }
    bool ok() const { return m_fd >= 0; }

private:
    int m_fd = -1;
};

// The whole content of a file read with read(2), or "" on error.
inline std::string ReadWholeFile(char const* path) {
    Fd fd(open(path, O_RDONLY | O_CLOEXEC));
    if (!fd.ok()) return {};
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd.get(), buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

}  // namespace moat::conformance
