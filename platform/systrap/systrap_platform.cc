#include "platform/systrap/systrap_platform.h"

#include "platform/base/unique_fd.h"
#include "platform/systrap/stub_layout.h"
#include "platform/systrap/stub_monitor.h"
#include "platform/systrap/stub_process.h"
#include "platform/systrap/systrap_address_space.h"
#include "platform/systrap/systrap_context.h"

#include <fcntl.h>

namespace moat::platform {

namespace {

class SystrapPlatform final : public Platform {
public:
    SystrapPlatform(UniqueFd memory, std::unique_ptr<systrap::StubMonitor> monitor,
                    std::shared_ptr<systrap::SystrapStub> zygote, SystrapOptions options, int pool_fd)
        : m_memory(std::move(memory)), m_monitor(std::move(monitor)), m_zygote(std::move(zygote)), m_options(options),
          m_pool_fd(pool_fd) {}

    std::string_view name() const override { return "systrap"; }
    uint64_t max_user_address() const override { return systrap::kCodeBase; }
    std::vector<int> host_mapped_fds() const override { return {m_pool_fd}; }

    // The reader serves the syscall patcher (faults come with the page-fault error code).
    Result<std::shared_ptr<AddressSpace>> NewAddressSpace(MemoryReader reader) override {
        auto stub = TRY(systrap::SystrapStub::Create(*m_monitor, *m_zygote));
        return std::shared_ptr<AddressSpace>(
            std::make_shared<systrap::SystrapAddressSpace>(std::move(stub), std::move(reader), m_options.patch_syscalls));
    }

    Result<std::unique_ptr<Context>> NewContext() override {
        return std::unique_ptr<Context>(std::make_unique<systrap::SystrapContext>());
    }

private:
    UniqueFd m_memory;  // our own dup of the memory file; each stub gets it as kMemoryFd
    std::unique_ptr<systrap::StubMonitor> m_monitor;  // kills and reaps every stub when it goes
    std::shared_ptr<systrap::SystrapStub> m_zygote;   // forks every other stub
    SystrapOptions m_options;
    int m_pool_fd;  // the shared-region pool's memfd (owned by the pool, which the zygote holds)
};

}  // namespace

Result<std::unique_ptr<Platform>> CreateSystrapPlatform(int memory_fd, SystrapOptions options) {
    if (memory_fd < 0)
        return Errno(EBADF);
    UniqueFd memory(::fcntl(memory_fd, F_DUPFD_CLOEXEC, 0));
    if (!memory)
        return HostErrno();
    auto monitor = TRY(systrap::StubMonitor::Create());
    auto pool = TRY(systrap::SharedRegionPool::Create());
    int pool_fd = pool->fd();
    auto zygote = TRY(systrap::SystrapStub::CreateZygote(*monitor, std::move(pool), memory.get()));
    return std::unique_ptr<Platform>(
        std::make_unique<SystrapPlatform>(std::move(memory), std::move(monitor), std::move(zygote), options, pool_fd));
}

}  // namespace moat::platform
