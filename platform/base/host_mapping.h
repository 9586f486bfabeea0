#pragma once
// HostMapping: RAII owner of a mapping in the sentry's own address space.

#include <sys/mman.h>

#include <cstddef>
#include <utility>

namespace moat {

class HostMapping {
public:
    HostMapping() = default;
    HostMapping(void* addr, size_t len) : m_addr(addr), m_len(len) {}
    HostMapping(const HostMapping&) = delete;
    HostMapping& operator=(const HostMapping&) = delete;
    HostMapping(HostMapping&& o) noexcept : m_addr(std::exchange(o.m_addr, nullptr)), m_len(std::exchange(o.m_len, 0)) {}
    HostMapping& operator=(HostMapping&& o) noexcept {
        if (this != &o) {
            reset();
            m_addr = std::exchange(o.m_addr, nullptr);
            m_len = std::exchange(o.m_len, 0);
        }
        return *this;
    }
    ~HostMapping() { reset(); }

    void* addr() const { return m_addr; }
    unsigned char* bytes() const { return static_cast<unsigned char*>(m_addr); }
    size_t size() const { return m_len; }
    bool valid() const { return m_addr != nullptr; }
    void reset() {
        if (m_addr)
            ::munmap(m_addr, m_len);
        m_addr = nullptr;
        m_len = 0;
    }

private:
    void* m_addr = nullptr;
    size_t m_len = 0;
};

}  // namespace moat
