#pragma once
// Loads Moat's vDSO image into the calling process, the way an app sees it — [vvar][vdso],
// the vvar page a live MAP_SHARED view of the Timekeeper's frame — and finds its exported
// functions by parsing .dynsym (through the DT_HASH table, as a minimal ld.so would).
// For tests and benchmarks only.

#include "platform/base/host_mapping.h"
#include "sentry/loader/vdso/vdso_image.h"

#include <elf.h>
#include <sys/mman.h>
#include <time.h>

#include <cstdint>
#include <cstring>
#include <string_view>

namespace moat::loader::testing {

class LoadedVdso {
public:
    using ClockGettime = int (*)(clockid_t, struct timespec*);
    using Gettimeofday = int (*)(struct timeval*, void*);
    using Time = time_t (*)(time_t*);
    using Getcpu = long (*)(unsigned*, unsigned*, void*);
    using ClockGetres = int (*)(clockid_t, struct timespec*);

    // `vvar_fd`/`vvar_offset`: where the vvar frame lives (the memory file and the
    // Timekeeper's frame). Returns false on failure.
    bool Load(int vvar_fd, uint64_t vvar_offset) {
        size_t image_len = (moat_vdso_image_size + 4095) & ~size_t(4095);
        size_t total = 4096 + image_len;
        void* p = mmap(nullptr, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return false;
        m_mapping = HostMapping(p, total);
        auto* bytes = static_cast<uint8_t*>(p);
        if (mmap(bytes, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, vvar_fd, off_t(vvar_offset)) == MAP_FAILED)
            return false;
        m_base = bytes + 4096;
        if (mprotect(m_base, image_len, PROT_READ | PROT_WRITE) != 0)
            return false;
        std::memcpy(m_base, moat_vdso_image, moat_vdso_image_size);
        if (mprotect(m_base, image_len, PROT_READ | PROT_EXEC) != 0)
            return false;
        clock_gettime = reinterpret_cast<ClockGettime>(Lookup("__vdso_clock_gettime"));
        gettimeofday = reinterpret_cast<Gettimeofday>(Lookup("__vdso_gettimeofday"));
        time = reinterpret_cast<Time>(Lookup("__vdso_time"));
        getcpu = reinterpret_cast<Getcpu>(Lookup("__vdso_getcpu"));
        clock_getres = reinterpret_cast<ClockGetres>(Lookup("__vdso_clock_getres"));
        return clock_gettime && gettimeofday && time && getcpu && clock_getres;
    }

    // The address of an exported symbol, via PT_DYNAMIC → DT_HASH/DT_SYMTAB/DT_STRTAB.
    void* Lookup(std::string_view name) const {
        auto* ehdr = reinterpret_cast<const Elf64_Ehdr*>(m_base);
        auto* phdr = reinterpret_cast<const Elf64_Phdr*>(m_base + ehdr->e_phoff);
        const Elf64_Dyn* dyn = nullptr;
        for (int i = 0; i < ehdr->e_phnum; ++i) {
            if (phdr[i].p_type == PT_DYNAMIC)
                dyn = reinterpret_cast<const Elf64_Dyn*>(m_base + phdr[i].p_vaddr);
        }
        if (!dyn)
            return nullptr;
        const Elf64_Sym* symtab = nullptr;
        const char* strtab = nullptr;
        const uint32_t* hash = nullptr;
        for (; dyn->d_tag != DT_NULL; ++dyn) {
            if (dyn->d_tag == DT_SYMTAB)
                symtab = reinterpret_cast<const Elf64_Sym*>(m_base + dyn->d_un.d_ptr);
            else if (dyn->d_tag == DT_STRTAB)
                strtab = reinterpret_cast<const char*>(m_base + dyn->d_un.d_ptr);
            else if (dyn->d_tag == DT_HASH)
                hash = reinterpret_cast<const uint32_t*>(m_base + dyn->d_un.d_ptr);
        }
        if (!symtab || !strtab || !hash)
            return nullptr;
        uint32_t nsyms = hash[1];  // nchain
        for (uint32_t i = 1; i < nsyms; ++i) {
            const Elf64_Sym& s = symtab[i];
            if (s.st_shndx != SHN_UNDEF && ELF64_ST_TYPE(s.st_info) == STT_FUNC && name == strtab + s.st_name)
                return m_base + s.st_value;
        }
        return nullptr;
    }

    const uint8_t* base() const { return m_base; }
    // The vvar page as the vDSO sees it.
    const void* vvar() const { return m_base - 4096; }

    ClockGettime clock_gettime = nullptr;
    Gettimeofday gettimeofday = nullptr;
    Time time = nullptr;
    Getcpu getcpu = nullptr;
    ClockGetres clock_getres = nullptr;

private:
    HostMapping m_mapping;
    uint8_t* m_base = nullptr;
};

}  // namespace moat::loader::testing
