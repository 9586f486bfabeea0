#pragma once
// Test-only helpers for the loader tests: in-memory and host-backed ExecFiles whose
// Mappable copies file pages into memory-file frames, a platform whose AddressSpace
// does nothing (the tests read app memory through the MemoryManager), and a tiny ELF
// builder for hostile and synthetic images.

#include "platform/platform.h"
#include "sentry/loader/exec_file.h"
#include "sentry/mm/memory_file.h"
#include "sentry/mm/memory_manager.h"

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace moat::loader::testing {

using Bytes = std::vector<uint8_t>;

// Pages of an in-memory file, copied into memory-file frames on first use.
class BytesMappable final : public mm::Mappable {
public:
    BytesMappable(std::shared_ptr<const Bytes> bytes, mm::MemoryFile* mf, std::string name)
        : m_bytes(std::move(bytes)), m_mf(mf), m_name(std::move(name)) {}
    ~BytesMappable() override {
        for (auto& [index, frame] : m_frames)
            m_mf->DecRef(frame);
    }
    Result<uint64_t> PageFrame(uint64_t page_index) override {
        std::lock_guard lock(m_lock);
        if (page_index >= (m_bytes->size() + mm::kPageSize - 1) / mm::kPageSize)
            return Error(EFAULT);
        if (auto it = m_frames.find(page_index); it != m_frames.end())
            return it->second;
        if (!m_mf)
            return Error(ENOMEM);
        uint64_t frame = TRY(m_mf->Allocate(1));
        uint64_t off = page_index * mm::kPageSize;
        size_t n = std::min<uint64_t>(mm::kPageSize, m_bytes->size() - off);
        memcpy(m_mf->Ptr(frame), m_bytes->data() + off, n);
        m_frames.emplace(page_index, frame);
        return frame;
    }
    uint64_t size() const override { return m_bytes->size(); }
    std::string map_name() const override { return m_name; }

private:
    std::shared_ptr<const Bytes> m_bytes;
    mm::MemoryFile* m_mf;
    std::string m_name;
    std::mutex m_lock;
    std::map<uint64_t, uint64_t> m_frames;
};

class BytesExecFile final : public ExecFile {
public:
    BytesExecFile(std::string path, Bytes bytes, mm::MemoryFile* mf)
        : m_path(std::move(path)), m_bytes(std::make_shared<const Bytes>(std::move(bytes))),
          m_mappable(std::make_shared<BytesMappable>(m_bytes, mf, m_path)) {}
    Result<size_t> ReadAt(std::span<uint8_t> dst, uint64_t offset) override {
        if (offset >= m_bytes->size())
            return size_t(0);
        size_t n = std::min<uint64_t>(dst.size(), m_bytes->size() - offset);
        memcpy(dst.data(), m_bytes->data() + offset, n);
        return n;
    }
    std::shared_ptr<mm::Mappable> mappable() override { return m_mappable; }
    std::string path() const override { return m_path; }
    const Bytes& bytes() const { return *m_bytes; }

private:
    std::string m_path;
    std::shared_ptr<const Bytes> m_bytes;
    std::shared_ptr<BytesMappable> m_mappable;
};

inline bool ReadHostFile(const std::string& path, Bytes* out) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    out->clear();
    uint8_t buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        out->insert(out->end(), buf, buf + n);
    }
    ::close(fd);
    return true;
}

// Opens files from a table first, then (if `host` is set) from the host filesystem.
class TestOpener {
public:
    explicit TestOpener(mm::MemoryFile* mf, bool host = false) : m_mf(mf), m_host(host) {}
    void Add(const std::string& path, Bytes bytes) { m_files[path] = std::move(bytes); }
    void Add(const std::string& path, const std::string& text) { m_files[path] = Bytes(text.begin(), text.end()); }
    std::vector<std::string>& opened() { return m_opened; }

    ExecOpener opener() {
        return [this](const std::string& path) -> Result<std::shared_ptr<ExecFile>> {
            m_opened.push_back(path);
            if (auto it = m_files.find(path); it != m_files.end())
                return std::shared_ptr<ExecFile>(std::make_shared<BytesExecFile>(path, it->second, m_mf));
            Bytes bytes;
            if (m_host && ReadHostFile(path, &bytes))
                return std::shared_ptr<ExecFile>(std::make_shared<BytesExecFile>(path, std::move(bytes), m_mf));
            return Error(ENOENT);
        };
    }

private:
    mm::MemoryFile* m_mf;
    bool m_host;
    std::map<std::string, Bytes> m_files;
    std::vector<std::string> m_opened;
};

class NullAddressSpace final : public platform::AddressSpace {
public:
    Result<void> Map(uint64_t, uint64_t, uint64_t, int) override { return {}; }
    Result<void> Unmap(uint64_t, uint64_t) override { return {}; }
    Result<void> Protect(uint64_t, uint64_t, int) override { return {}; }
};

class NullPlatform final : public platform::Platform {
public:
    std::string_view name() const override { return "null"; }
    uint64_t max_user_address() const override { return 0x7ffffffff000ull; }
    Result<std::shared_ptr<platform::AddressSpace>> NewAddressSpace(platform::MemoryReader) override {
        return std::shared_ptr<platform::AddressSpace>(std::make_shared<NullAddressSpace>());
    }
    Result<std::unique_ptr<platform::Context>> NewContext() override { return Error(ENOSYS); }
};

// ---- a tiny ELF builder ----

struct ElfSpec {
    uint16_t type = ET_EXEC;
    uint16_t machine = EM_X86_64;
    uint64_t entry = 0x401000;
    std::vector<Elf64_Phdr> phdrs;
    size_t file_size = 0x3000;
};

inline Elf64_Phdr Phdr(uint32_t type, uint32_t flags, uint64_t offset, uint64_t vaddr, uint64_t filesz,
                       uint64_t memsz, uint64_t align = 0x1000) {
    Elf64_Phdr p{};
    p.p_type = type;
    p.p_flags = flags;
    p.p_offset = offset;
    p.p_vaddr = p.p_paddr = vaddr;
    p.p_filesz = filesz;
    p.p_memsz = memsz;
    p.p_align = align;
    return p;
}

// Header at 0, program headers at 64, the rest filled with a recognisable pattern
// (byte i of the file is (i * 7 + 1) & 0xff) that the caller may overwrite.
inline Bytes BuildElf(const ElfSpec& spec) {
    size_t size = std::max(spec.file_size, sizeof(Elf64_Ehdr) + spec.phdrs.size() * sizeof(Elf64_Phdr));
    Bytes out(size);
    for (size_t i = 0; i < size; ++i)
        out[i] = uint8_t(i * 7 + 1);
    Elf64_Ehdr eh{};
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = spec.type;
    eh.e_machine = spec.machine;
    eh.e_version = EV_CURRENT;
    eh.e_entry = spec.entry;
    eh.e_phoff = sizeof(Elf64_Ehdr);
    eh.e_ehsize = sizeof(Elf64_Ehdr);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = uint16_t(spec.phdrs.size());
    memcpy(out.data(), &eh, sizeof(eh));
    if (!spec.phdrs.empty())
        memcpy(out.data() + sizeof(eh), spec.phdrs.data(), spec.phdrs.size() * sizeof(Elf64_Phdr));
    return out;
}

// A static ET_EXEC: text at 0x400000 (file 0..0x1000, the headers included), data at
// 0x402000 (file 0x2000..0x2800) with bss up to 0x404800.
inline ElfSpec StaticSpec() {
    ElfSpec s;
    s.phdrs = {
        Phdr(PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x1800, 0x1800),
        Phdr(PT_LOAD, PF_R | PF_W, 0x2000, 0x402000, 0x800, 0x2800),
        Phdr(PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 16),
    };
    s.entry = 0x400100;
    return s;
}

inline void SetPhdr(Bytes& elf, size_t index, const Elf64_Phdr& p) {
    memcpy(elf.data() + sizeof(Elf64_Ehdr) + index * sizeof(Elf64_Phdr), &p, sizeof(p));
}

template <typename T>
void Poke(Bytes& bytes, size_t offset, T v) {
    memcpy(bytes.data() + offset, &v, sizeof(v));
}

}  // namespace moat::loader::testing
