#include "platform/ptrace/ptrace_platform.h"

#include "platform/base/unique_fd.h"
#include "platform/ptrace/ptrace_address_space.h"
#include "platform/ptrace/ptrace_context.h"
#include "platform/ptrace/stub_layout.h"
#include "platform/ptrace/stub_process.h"

#include <fcntl.h>

namespace moat::platform {

namespace {

class PtracePlatform final : public Platform {
public:
    explicit PtracePlatform(UniqueFd memory) : m_memory(std::move(memory)) {}

    std::string_view name() const override { return "ptrace"; }
    uint64_t max_user_address() const override { return stub::kBase; }

    Result<std::shared_ptr<AddressSpace>> NewAddressSpace(MemoryReader reader) override {
        auto stub = TRY(StubProcess::Create(m_memory.get()));
        return std::shared_ptr<AddressSpace>(std::make_shared<PtraceAddressSpace>(std::move(stub), std::move(reader)));
    }

    Result<std::unique_ptr<Context>> NewContext() override {
        return std::unique_ptr<Context>(std::make_unique<PtraceContext>());
    }

private:
    UniqueFd m_memory;  // our own dup of the memory file; each stub gets it as stub::kMemoryFd
};

}  // namespace

Result<std::unique_ptr<Platform>> CreatePtracePlatform(int memory_fd) {
    if (memory_fd < 0)
        return Errno(EBADF);
    UniqueFd memory(::fcntl(memory_fd, F_DUPFD_CLOEXEC, 0));
    if (!memory)
        return HostErrno();
    return std::unique_ptr<Platform>(std::make_unique<PtracePlatform>(std::move(memory)));
}

}  // namespace moat::platform
