#pragma once
// Test doubles for sentry/mm unit tests and benchmarks: a platform whose AddressSpace
// records every call and keeps a page-level model of what is mapped, optionally mirroring
// the mappings into this process (app address A at mirror_base + A) so a test can look at
// memory exactly as the app would; and a file Mappable backed by memory-file frames.

#include "platform/platform.h"
#include "sentry/mm/mappable.h"
#include "sentry/mm/memory_file.h"
#include "sentry/mm/user_addr.h"

#include <sys/mman.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace moat::mm::testing {

class FakeAddressSpace final : public platform::AddressSpace {
public:
    struct Call {
        char op;  // 'M'ap, 'U'nmap, 'P'rotect
        uint64_t addr, len, offset;
        int prot;
    };
    struct Page {
        uint64_t offset;
        int prot;
    };

    FakeAddressSpace(int memfd, uint64_t max, bool mirror) : m_memfd(memfd), m_max(max) {
        if (mirror) {
            void* p = ::mmap(nullptr, max, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (p != MAP_FAILED)
                m_mirror = static_cast<uint8_t*>(p);
        }
    }
    ~FakeAddressSpace() override {
        if (m_mirror)
            ::munmap(m_mirror, m_max);
    }

    Result<void> Map(uint64_t addr, uint64_t len, uint64_t file_offset, int prot) override {
        calls.push_back({'M', addr, len, file_offset, prot});
        if (!Valid(addr, len) || !IsPageAligned(file_offset))
            return Error(EINVAL);
        for (uint64_t i = 0; i < len; i += kPageSize)
            pages[addr + i] = {file_offset + i, prot};
        if (m_mirror && ::mmap(m_mirror + addr, len, prot, MAP_SHARED | MAP_FIXED, m_memfd,
                               static_cast<off_t>(file_offset)) == MAP_FAILED)
            return Error(errno);
        return {};
    }
    Result<void> Unmap(uint64_t addr, uint64_t len) override {
        calls.push_back({'U', addr, len, 0, 0});
        if (!Valid(addr, len))
            return Error(EINVAL);
        pages.erase(pages.lower_bound(addr), pages.lower_bound(addr + len));
        if (m_mirror)
            ::mmap(m_mirror + addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
        return {};
    }
    Result<void> Protect(uint64_t addr, uint64_t len, int prot) override {
        calls.push_back({'P', addr, len, 0, prot});
        if (!Valid(addr, len))
            return Error(EINVAL);
        // Like mprotect(2) on the stub: every page must be mapped.
        for (uint64_t a = addr; a < addr + len; a += kPageSize)
            if (!pages.count(a))
                return Error(ENOMEM);
        for (uint64_t a = addr; a < addr + len; a += kPageSize)
            pages[a].prot = prot;
        if (m_mirror)
            ::mprotect(m_mirror + addr, len, prot);
        return {};
    }

    // The app's view through the mirror (null without one).
    uint8_t* mirror(uint64_t addr) const { return m_mirror ? m_mirror + addr : nullptr; }
    size_t count(char op) const {
        size_t n = 0;
        for (const auto& c : calls)
            n += c.op == op;
        return n;
    }
    const Page* page(uint64_t addr) const {
        auto it = pages.find(PageDown(addr));
        return it == pages.end() ? nullptr : &it->second;
    }

    std::vector<Call> calls;
    std::map<uint64_t, Page> pages;  // what is mapped, per page

private:
    bool Valid(uint64_t addr, uint64_t len) const {
        return IsPageAligned(addr) && IsPageAligned(len) && len > 0 && addr + len <= m_max;
    }
    int m_memfd;
    uint64_t m_max;
    uint8_t* m_mirror = nullptr;
};

class FakePlatform final : public platform::Platform {
public:
    FakePlatform(int memfd, uint64_t max = 1ull << 32, bool mirror = false)
        : m_memfd(memfd), m_max(max), m_mirror(mirror) {}
    std::string_view name() const override { return "fake"; }
    uint64_t max_user_address() const override { return m_max; }
    Result<std::shared_ptr<platform::AddressSpace>> NewAddressSpace(platform::MemoryReader reader) override {
        auto as = std::make_shared<FakeAddressSpace>(m_memfd, m_max, m_mirror);
        last = as.get();
        readers.push_back(std::move(reader));
        return std::shared_ptr<platform::AddressSpace>(as);
    }
    Result<std::unique_ptr<platform::Context>> NewContext() override { return Error(ENOSYS); }

    FakeAddressSpace* last = nullptr;
    std::vector<platform::MemoryReader> readers;

private:
    int m_memfd;
    uint64_t m_max;
    bool m_mirror;
};

// A file of `content`, its page cache in memory-file frames filled on first use.
class FakeMappable final : public Mappable {
public:
    FakeMappable(MemoryFile& mf, std::string content) : m_mf(mf), m_content(std::move(content)) {}
    ~FakeMappable() override {
        for (auto& [index, frame] : m_frames)
            m_mf.DecRef(frame);
    }
    Result<uint64_t> PageFrame(uint64_t index) override {
        if (index >= PageUp(m_content.size()) / kPageSize)
            return Error(EFAULT);
        if (auto it = m_frames.find(index); it != m_frames.end())
            return it->second;
        uint64_t frame = TRY(m_mf.Allocate(1));
        uint64_t off = index * kPageSize;
        std::memcpy(m_mf.Ptr(frame), m_content.data() + off, std::min<uint64_t>(kPageSize, m_content.size() - off));
        m_frames[index] = frame;
        ++page_faults;
        return frame;
    }
    uint64_t size() const override { return m_content.size(); }
    std::string map_name() const override { return "/fake/file"; }
    // What the page cache holds now (a shared mapping writes here).
    const uint8_t* cached(uint64_t index) const {
        auto it = m_frames.find(index);
        return it == m_frames.end() ? nullptr : m_mf.Ptr(it->second);
    }
    int page_faults = 0;

private:
    MemoryFile& m_mf;
    std::string m_content;
    std::map<uint64_t, uint64_t> m_frames;
};

}  // namespace moat::mm::testing

#include "sentry/mm/memory_manager.h"

namespace moat::mm::testing {

// A MemoryManager over a fake platform. Members are destroyed bottom-up: the manager (and
// whatever a test declares after this) before the memory file.
struct TestMm {
    std::unique_ptr<MemoryFile> mf;
    std::unique_ptr<FakePlatform> platform;
    std::shared_ptr<MemoryManager> mm;
    FakeAddressSpace* as = nullptr;
};

inline TestMm MakeTestMm(bool mirror = false, uint64_t max = 1ull << 32) {
    TestMm t;
    t.mf = MemoryFile::Create(1ull << 30).release_value();
    t.platform = std::make_unique<FakePlatform>(t.mf->fd(), max, mirror);
    t.mm = MemoryManager::Create(*t.mf, *t.platform).release_value();
    t.as = t.platform->last;
    return t;
}

inline MmapRequest Anon(uint64_t length, int prot = PROT_READ | PROT_WRITE, int flags = MAP_PRIVATE | MAP_ANONYMOUS,
                        uint64_t addr = 0) {
    MmapRequest r;
    r.addr = addr;
    r.length = length;
    r.prot = prot;
    r.flags = flags;
    return r;
}

inline MmapRequest FileMap(std::shared_ptr<Mappable> file, uint64_t length, int prot, int flags, uint64_t offset = 0,
                           uint64_t addr = 0) {
    MmapRequest r;
    r.addr = addr;
    r.length = length;
    r.prot = prot;
    r.flags = flags;
    r.file = std::move(file);
    r.offset = offset;
    return r;
}

}  // namespace moat::mm::testing

// EXPECT_ERRNO(expr, ENOENT): expr is a Result that failed with exactly that errno.
#define EXPECT_ERRNO(expr, err)                                     \
    do {                                                            \
        auto _r = (expr);                                           \
        EXPECT_FALSE(_r.ok()) << #expr << " succeeded";             \
        if (!_r.ok()) {                                             \
            EXPECT_EQ(_r.error(), err) << #expr << ": " << strerror(_r.error()); \
        }                                                           \
    } while (0)
