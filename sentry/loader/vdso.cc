// Vdso: Moat's vDSO image (built from sentry/loader/vdso/vdso.c) in memory-file frames, and
// its mapping into each new address space as [vvar][vdso]. See sentry/loader/vdso/README.md.

#include "sentry/loader/vdso.h"

#include "sentry/kernel/timekeeper.h"
#include "sentry/loader/vdso/vdso_image.h"
#include "sentry/mm/user_addr.h"

#include <elf.h>
#include <sys/mman.h>

#include <cstring>
#include <string>

namespace moat::loader {
namespace {

// A run of memory-file frames offered to mmap as a file: the vDSO's text, or the vvar page.
// Holds one reference on its frames for as long as any VMA holds the Mappable.
class FrameMappable final : public mm::Mappable {
public:
    // Takes over one reference the caller holds on [first_frame, first_frame + npages pages).
    FrameMappable(mm::MemoryFile& mf, uint64_t first_frame, uint64_t npages, uint64_t size, std::string name)
        : m_mf(mf), m_first(first_frame), m_npages(npages), m_size(size), m_name(std::move(name)) {}
    ~FrameMappable() override { m_mf.DecRef(m_first, m_npages); }

    Result<uint64_t> PageFrame(uint64_t page_index) override {
        if (page_index >= m_npages)
            return Error(EFAULT);
        return m_first + page_index * mm::kPageSize;
    }
    uint64_t size() const override { return m_size; }
    std::string map_name() const override { return m_name; }

private:
    mm::MemoryFile& m_mf;
    uint64_t m_first, m_npages, m_size;
    std::string m_name;
};

}  // namespace

struct Vdso::Impl {
    uint64_t npages = 0;
    std::shared_ptr<FrameMappable> vdso;
    std::shared_ptr<FrameMappable> vvar;
};

Result<std::unique_ptr<Vdso>> Vdso::Create(mm::MemoryFile& memory_file, kernel::Timekeeper& timekeeper) {
    // The build checked the image (embed_vdso.cmake); this only guards against a bad embed.
    if (moat_vdso_image_size < sizeof(Elf64_Ehdr) || std::memcmp(moat_vdso_image, ELFMAG, SELFMAG) != 0)
        return Error(ENOEXEC);

    uint64_t npages = mm::PageUp(moat_vdso_image_size) / mm::kPageSize;
    uint64_t frames = TRY(memory_file.Allocate(npages));
    std::memcpy(memory_file.Ptr(frames), moat_vdso_image, moat_vdso_image_size);

    std::unique_ptr<Vdso> vdso(new Vdso());
    vdso->m_impl = std::make_unique<Impl>();
    vdso->m_impl->npages = npages;
    vdso->m_impl->vdso =
        std::make_shared<FrameMappable>(memory_file, frames, npages, moat_vdso_image_size, "[vdso]");
    memory_file.IncRef(timekeeper.vvar_frame());
    vdso->m_impl->vvar =
        std::make_shared<FrameMappable>(memory_file, timekeeper.vvar_frame(), 1, mm::kPageSize, "[vvar]");
    return vdso;
}

Vdso::~Vdso() = default;

Result<uint64_t> Vdso::MapInto(mm::MemoryManager& mm) {
    uint64_t vdso_len = m_impl->npages * mm::kPageSize;
    uint64_t total = mm::kPageSize + vdso_len;

    // Reserve [vvar][vdso] in one piece wherever the address space has room, then replace
    // the reservation: the vDSO finds the vvar page at a fixed offset before itself.
    mm::MmapRequest reserve;
    reserve.length = total;
    reserve.prot = PROT_NONE;
    reserve.flags = MAP_PRIVATE | MAP_ANONYMOUS;
    uint64_t base = TRY(mm.Mmap(reserve));

    mm::MmapRequest vvar;
    vvar.addr = base;
    vvar.length = mm::kPageSize;
    vvar.prot = PROT_READ;
    vvar.flags = MAP_SHARED | MAP_FIXED;
    vvar.file = m_impl->vvar;
    vvar.max_prot = PROT_READ;  // shared with every process: never writable by the app
    vvar.name = "[vvar]";

    mm::MmapRequest text;
    text.addr = base + mm::kPageSize;
    text.length = vdso_len;
    text.prot = PROT_READ | PROT_EXEC;
    text.flags = MAP_PRIVATE | MAP_FIXED;  // a debugger's breakpoint copies the page
    text.file = m_impl->vdso;
    text.name = "[vdso]";

    auto vvar_mapped = mm.Mmap(vvar);
    if (!vvar_mapped.ok()) {
        (void)mm.Munmap(base, total);
        return Error(vvar_mapped.error());
    }
    auto text_mapped = mm.Mmap(text);
    if (!text_mapped.ok()) {
        (void)mm.Munmap(base, total);
        return Error(text_mapped.error());
    }
    return base + mm::kPageSize;
}

}  // namespace moat::loader
