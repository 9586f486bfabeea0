#pragma once
// SystrapAddressSpace: an application address space, backed by one stub process whose helper
// thread makes the mmap/munmap/mprotect calls the sentry asks for through the shared mailbox.
// Any sentry thread may call Map/Unmap/Protect (they block until the change is made).

#include "platform/platform.h"
#include "platform/systrap/stub_process.h"
#include "platform/systrap/syscall_patcher.h"

#include <memory>

namespace moat::platform::systrap {

class SystrapAddressSpace final : public AddressSpace {
public:
    SystrapAddressSpace(std::shared_ptr<SystrapStub> stub, MemoryReader reader, bool patch_syscalls)
        : m_stub(std::move(stub)), m_patcher(std::move(reader), patch_syscalls) {}
    // Kills the stub without waiting (exec and exit must not wait for a reap): the monitor
    // reaps it; the shared region goes with the last reference.
    ~SystrapAddressSpace() override { m_stub->Kill(); }

    [[nodiscard]] Result<void> Map(uint64_t addr, uint64_t len, uint64_t file_offset, int prot) override;
    [[nodiscard]] Result<void> Unmap(uint64_t addr, uint64_t len) override;
    [[nodiscard]] Result<void> Protect(uint64_t addr, uint64_t len, int prot) override;
    void SetCodeWriter(std::shared_ptr<CodeWriter> writer) override { m_patcher.SetWriter(std::move(writer)); }

    SyscallPatcher& patcher() { return m_patcher; }

    const std::shared_ptr<SystrapStub>& stub() const { return m_stub; }
    pid_t stub_pid() const { return m_stub->pid(); }

private:
    std::shared_ptr<SystrapStub> m_stub;
    SyscallPatcher m_patcher;
};

}  // namespace moat::platform::systrap
