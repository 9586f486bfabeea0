#pragma once
// PtraceAddressSpace: an application address space, backed by one stub process.
// Map/Unmap/Protect are injected into the stub by its address-space thread; any sentry
// thread may call them (they block until the stub has made the change).

#include "platform/platform.h"
#include "platform/ptrace/stub_process.h"

#include <memory>

namespace moat::platform {

class PtraceAddressSpace final : public AddressSpace {
public:
    PtraceAddressSpace(std::shared_ptr<StubProcess> stub, MemoryReader reader)
        : m_stub(std::move(stub)), m_reader(std::move(reader)) {}
    // Kills the stub at once; it is reaped when the last context with a thread in it lets go.
    ~PtraceAddressSpace() override { m_stub->Kill(); }

    [[nodiscard]] Result<void> Map(uint64_t addr, uint64_t len, uint64_t file_offset, int prot) override;
    [[nodiscard]] Result<void> Unmap(uint64_t addr, uint64_t len) override;
    [[nodiscard]] Result<void> Protect(uint64_t addr, uint64_t len, int prot) override;

    const std::shared_ptr<StubProcess>& stub() const { return m_stub; }
    pid_t stub_pid() const { return m_stub->pid(); }
    // Reads app memory through the memory manager (never through the stub).
    size_t ReadMemory(uint64_t addr, void* buf, size_t len) const {
        return m_reader ? m_reader(addr, buf, len) : 0;
    }

private:
    std::shared_ptr<StubProcess> m_stub;
    MemoryReader m_reader;
};

}  // namespace moat::platform
