// ELF64 parsing and validation (see elf.h). Matches the checks of Linux's
// fs/binfmt_elf.c (load_elf_binary, load_elf_phdrs) and adds the ones Linux leaves to the
// MMU: segments must be sorted, disjoint, inside the file and inside the address space.

#include "sentry/loader/elf.h"

#include "sentry/mm/user_addr.h"

#include <sys/mman.h>

#include <cstring>

namespace moat::loader {

namespace {

bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

int ProtFromFlags(uint32_t flags) {
    int prot = 0;
    if (flags & PF_R)
        prot |= PROT_READ;
    if (flags & PF_W)
        prot |= PROT_WRITE;
    if (flags & PF_X)
        prot |= PROT_EXEC;
    return prot;
}

Result<uint64_t> FileSize(ExecFile& file) {
    auto mappable = file.mappable();
    if (!mappable)
        return Error(ENOEXEC);  // Linux: a file without ->mmap cannot be executed
    return mappable->size();
}

// The PT_INTERP path: 2..PATH_MAX bytes inside the file, NUL-terminated, no inner NUL.
Result<std::string> ReadInterp(const Elf64_Phdr& ph, ExecFile& file, uint64_t file_size) {
    if (ph.p_filesz < 2 || ph.p_filesz > kPathMax)
        return Error(ENOEXEC);
    uint64_t end;
    if (__builtin_add_overflow(ph.p_offset, ph.p_filesz, &end) || end > file_size)
        return Error(ENOEXEC);
    std::string path(ph.p_filesz, '\0');
    TRY(ReadFull(file, std::span(reinterpret_cast<uint8_t*>(path.data()), path.size()), ph.p_offset));
    if (path.back() != '\0')
        return Error(ENOEXEC);
    path.pop_back();
    if (path.find('\0') != std::string::npos)
        return Error(ENOEXEC);  // Linux would open a truncated path; refuse the ambiguity
    return path;
}

}  // namespace

uint64_t ElfImage::span_start() const { return mm::PageDown(loads.front().vaddr); }

// Validated in ParseProgramHeaders: the page-up of the last end does not overflow.
uint64_t ElfImage::span_end() const { return mm::PageUp(loads.back().vaddr + loads.back().memsz); }

bool HasElfMagic(std::span<const uint8_t> head) {
    return head.size() >= SELFMAG && memcmp(head.data(), ELFMAG, SELFMAG) == 0;
}

Result<void> ReadFull(ExecFile& file, std::span<uint8_t> dst, uint64_t offset) {
    size_t done = 0;
    while (done < dst.size()) {
        uint64_t at;
        if (__builtin_add_overflow(offset, done, &at))
            return Error(ENOEXEC);
        size_t n = TRY(file.ReadAt(dst.subspan(done), at));
        if (n == 0)
            return Error(ENOEXEC);  // the file is shorter than its headers claim
        done += n;
    }
    return {};
}

Result<Elf64_Ehdr> ParseElfHeader(std::span<const uint8_t> bytes, uint64_t file_size) {
    Elf64_Ehdr ehdr;
    if (bytes.size() < sizeof(ehdr) || file_size < sizeof(ehdr))
        return Error(ENOEXEC);
    memcpy(&ehdr, bytes.data(), sizeof(ehdr));
    if (memcmp(ehdr.e_ident, ELFMAG, SELFMAG) != 0)
        return Error(ENOEXEC);
    if (ehdr.e_ident[EI_CLASS] != ELFCLASS64 || ehdr.e_ident[EI_DATA] != ELFDATA2LSB)
        return Error(ENOEXEC);
    if (ehdr.e_ident[EI_VERSION] != EV_CURRENT)
        return Error(ENOEXEC);
    if (ehdr.e_machine != EM_X86_64)
        return Error(ENOEXEC);
    if (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN)
        return Error(ENOEXEC);
    if (ehdr.e_phentsize != sizeof(Elf64_Phdr))
        return Error(ENOEXEC);
    // e_phnum is 16 bits, so the product cannot overflow; PN_XNUM (extended numbering in
    // section 0) is not something Linux's exec supports either.
    uint64_t table = uint64_t(ehdr.e_phnum) * sizeof(Elf64_Phdr);
    if (table == 0 || table > kMaxPhdrTableSize)
        return Error(ENOEXEC);
    uint64_t table_end;
    if (__builtin_add_overflow(ehdr.e_phoff, table, &table_end) || table_end > file_size)
        return Error(ENOEXEC);
    return ehdr;
}

Result<ElfImage> ParseProgramHeaders(const Elf64_Ehdr& ehdr, std::span<const Elf64_Phdr> phdrs,
                                     ExecFile& file, uint64_t file_size) {
    ElfImage image;
    image.type = ehdr.e_type;
    image.entry = ehdr.e_entry;
    image.phnum = ehdr.e_phnum;
    if (phdrs.size() != ehdr.e_phnum)
        return Error(ENOEXEC);

    bool have_pt_phdr = false;
    uint64_t pt_phdr_vaddr = 0;
    for (const Elf64_Phdr& ph : phdrs) {
        switch (ph.p_type) {
        case PT_LOAD: {
            if (ph.p_filesz > ph.p_memsz)
                return Error(ENOEXEC);
            if ((ph.p_offset & (mm::kPageSize - 1)) != (ph.p_vaddr & (mm::kPageSize - 1)))
                return Error(ENOEXEC);
            uint64_t mem_end, file_end;
            if (__builtin_add_overflow(ph.p_vaddr, ph.p_memsz, &mem_end) ||
                mem_end > UINT64_MAX - (mm::kPageSize - 1))
                return Error(ENOEXEC);
            if (__builtin_add_overflow(ph.p_offset, ph.p_filesz, &file_end) || file_end > file_size)
                return Error(ENOEXEC);
            // The ELF spec requires PT_LOADs sorted by p_vaddr; overlapping byte ranges are
            // corrupt. (Two segments may share a page: the later mapping wins, as in Linux.)
            if (!image.loads.empty()) {
                const ElfLoadSegment& prev = image.loads.back();
                if (ph.p_vaddr < prev.vaddr + prev.memsz)
                    return Error(ENOEXEC);
            }
            image.loads.push_back({ph.p_vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz, ProtFromFlags(ph.p_flags)});
            if (IsPowerOfTwo(ph.p_align) && ph.p_align > image.max_align)
                image.max_align = ph.p_align;
            break;
        }
        case PT_INTERP:
            if (image.has_interp)
                break;  // Linux uses the first one
            image.interp = TRY(ReadInterp(ph, file, file_size));
            image.has_interp = true;
            break;
        case PT_GNU_STACK:
            image.exec_stack = (ph.p_flags & PF_X) != 0;  // the last one wins, as in Linux
            break;
        case PT_PHDR:
            have_pt_phdr = true;
            pt_phdr_vaddr = ph.p_vaddr;
            break;
        default:
            break;
        }
    }
    if (image.loads.empty())
        return Error(ENOEXEC);

    // Where the program headers are in memory (AT_PHDR). Prefer PT_PHDR when it lies in a
    // segment's file-backed part; otherwise find the PT_LOAD whose file range holds e_phoff
    // (Linux >= 5.18 does the latter only).
    uint64_t table = uint64_t(ehdr.e_phnum) * sizeof(Elf64_Phdr);
    for (const ElfLoadSegment& seg : image.loads) {
        if (have_pt_phdr && pt_phdr_vaddr >= seg.vaddr && pt_phdr_vaddr - seg.vaddr <= seg.filesz &&
            seg.filesz - (pt_phdr_vaddr - seg.vaddr) >= table) {
            image.has_phdr_vaddr = true;
            image.phdr_vaddr = pt_phdr_vaddr;
            break;
        }
    }
    if (!image.has_phdr_vaddr) {
        for (const ElfLoadSegment& seg : image.loads) {
            if (ehdr.e_phoff >= seg.offset && ehdr.e_phoff - seg.offset <= seg.filesz &&
                seg.filesz - (ehdr.e_phoff - seg.offset) >= table) {
                image.has_phdr_vaddr = true;
                image.phdr_vaddr = seg.vaddr + (ehdr.e_phoff - seg.offset);
                break;
            }
        }
    }
    return image;
}

Result<ElfImage> ReadElf(ExecFile& file) {
    uint64_t file_size = TRY(FileSize(file));
    uint8_t head[sizeof(Elf64_Ehdr)];
    if (file_size < sizeof(head))
        return Error(ENOEXEC);
    TRY(ReadFull(file, head, 0));
    Elf64_Ehdr ehdr = TRY(ParseElfHeader(head, file_size));
    std::vector<Elf64_Phdr> phdrs(ehdr.e_phnum);
    TRY(ReadFull(file, std::span(reinterpret_cast<uint8_t*>(phdrs.data()), phdrs.size() * sizeof(Elf64_Phdr)),
                 ehdr.e_phoff));
    return ParseProgramHeaders(ehdr, phdrs, file, file_size);
}

}  // namespace moat::loader
