#pragma once
// Test fixture for the systrap platform: a memory file, the platform, and address spaces
// whose pages the test can see through its own mapping of the memory file.

#include "platform/base/host_mapping.h"
#include "platform/base/unique_fd.h"
#include "platform/systrap/systrap_address_space.h"
#include "platform/systrap/systrap_platform.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace moat::platform::testing {

// Exits and reaps are asynchronous on systrap (nobody waits for them): true once `done()`
// holds, within a few seconds.
template <typename Done>
bool Eventually(Done done) {
    for (int i = 0; i < 5000; ++i) {
        if (done())
            return true;
        ::usleep(1000);
    }
    return false;
}
// True once `pid` no longer exists (reaped).
inline bool GoneSoon(pid_t pid) {
    return Eventually([pid] { return ::kill(pid, 0) == -1 && errno == ESRCH; });
}

// Hand-assembled snippets (`as` syntax in the comments).
inline const std::vector<uint8_t> kSyscall = {0x0f, 0x05};                       // syscall
inline const std::vector<uint8_t> kStoreEax = {0x89, 0x03, 0x0f, 0x05};           // mov %eax,(%rbx); syscall
inline const std::vector<uint8_t> kLoadEax = {0x8b, 0x03, 0x0f, 0x05};            // mov (%rbx),%eax; syscall
inline const std::vector<uint8_t> kJumpRbx = {0xff, 0xe3};                        // jmp *%rbx
inline const std::vector<uint8_t> kSpin = {0xeb, 0xfe};                           // 1: jmp 1b
inline const std::vector<uint8_t> kSyscallLoop = {0x0f, 0x05, 0xeb, 0xfc};        // 1: syscall; jmp 1b
// 1: mov %rdi,(%rbx); syscall; jmp 1b
inline const std::vector<uint8_t> kStoreRdiLoop = {0x48, 0x89, 0x3b, 0x0f, 0x05, 0xeb, 0xf9};
// movdqu %xmm0,(%rbx); syscall
inline const std::vector<uint8_t> kStoreXmm0 = {0xf3, 0x0f, 0x7f, 0x03, 0x0f, 0x05};

inline constexpr uint64_t kCode = 0x400000;
inline constexpr uint64_t kData = 0x500000;
inline constexpr uint64_t kPage = 0x1000;
inline constexpr size_t kMemorySize = 1 << 20;

class SystrapTest : public ::testing::Test {
protected:
    void SetUp() override {
        m_memfd = UniqueFd(::memfd_create("moat-systrap-test", MFD_CLOEXEC));
        ASSERT_TRUE(m_memfd.valid());
        ASSERT_EQ(::ftruncate(m_memfd.get(), kMemorySize), 0);
        void* p = ::mmap(nullptr, kMemorySize, PROT_READ | PROT_WRITE, MAP_SHARED, m_memfd.get(), 0);
        ASSERT_NE(p, MAP_FAILED);
        m_memory = HostMapping(p, kMemorySize);
        auto platform = CreateSystrapPlatform(m_memfd.get());
        ASSERT_TRUE(platform.ok()) << platform.error();
        m_platform = platform.release_value();
    }

    // An address space whose reader translates through the pages this fixture mapped in it.
    std::shared_ptr<AddressSpace> NewAddressSpace() {
        auto table = std::make_shared<Table>();
        auto as = m_platform->NewAddressSpace([this, table](uint64_t addr, void* buf, size_t len) -> size_t {
            std::lock_guard lock(table->lock);
            size_t done = 0;
            while (done < len) {
                uint64_t a = addr + done;
                auto it = table->pages.find(a & ~(kPage - 1));
                if (it == table->pages.end())
                    break;
                size_t chunk = std::min<size_t>(len - done, kPage - (a & (kPage - 1)));
                std::memcpy(static_cast<uint8_t*>(buf) + done, m_memory.bytes() + it->second + (a & (kPage - 1)), chunk);
                done += chunk;
            }
            return done;
        });
        EXPECT_TRUE(as.ok()) << as.error();
        if (!as.ok())
            return nullptr;
        m_tables[as->get()] = table;
        return as.release_value();
    }

    // Gives `addr` a fresh page of the memory file holding `bytes`, mapped with `prot`.
    uint8_t* MapPage(AddressSpace& as, uint64_t addr, const std::vector<uint8_t>& bytes, int prot) {
        uint64_t offset = m_next_offset;
        m_next_offset += kPage;
        EXPECT_LE(m_next_offset, kMemorySize);
        if (!bytes.empty())
            std::memcpy(m_memory.bytes() + offset, bytes.data(), bytes.size());
        auto mapped = as.Map(addr, kPage, offset, prot);
        EXPECT_TRUE(mapped.ok()) << mapped.error();
        auto& table = *m_tables[&as];
        std::lock_guard lock(table.lock);
        table.pages[addr] = offset;
        return m_memory.bytes() + offset;
    }

    static Registers Regs(uint64_t rip) {
        Registers r{};
        r.rip = rip;
        r.rbx = kData;
        return r;
    }

    static pid_t StubPid(AddressSpace& as) { return static_cast<systrap::SystrapAddressSpace&>(as).stub_pid(); }

    struct Table {
        std::mutex lock;
        std::map<uint64_t, uint64_t> pages;  // app page -> memory file offset
    };

    UniqueFd m_memfd;
    HostMapping m_memory;
    std::unique_ptr<Platform> m_platform;
    std::map<AddressSpace*, std::shared_ptr<Table>> m_tables;
    uint64_t m_next_offset = 0;
};

}  // namespace moat::platform::testing
