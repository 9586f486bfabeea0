// Mapping PT_LOAD segments (Linux fs/binfmt_elf.c: elf_map, elf_load, padzero,
// load_elf_interp). ParseProgramHeaders has already checked every sum used here.

#include "sentry/loader/load_elf.h"

#include "platform/base/log.h"

#include <sys/mman.h>

#include <algorithm>

namespace moat::loader {

namespace {

using mm::kPageSize;
using mm::PageDown;
using mm::PageUp;

// Linux: mmap_rnd_bits = 28 pages of randomisation for the PIE base (1 TiB).
constexpr uint64_t kPieRandomRange = 1ull << 40;
// An alignment request beyond this (hostile or absurd p_align) is ignored.
constexpr uint64_t kMaxHonouredAlign = 1ull << 30;

// Chooses the address of the first page of an ET_DYN main program.
Result<uint64_t> ChooseMainDynBase(mm::MemoryManager& mm, uint64_t span, uint64_t align, LayoutRandom& random) {
    uint64_t lo = mm.min_address(), hi = mm.max_address();
    if (span > hi - lo)
        return Error(ENOMEM);
    uint64_t base = DynBase(hi) + random.PageOffset(std::min(kPieRandomRange, (hi - lo) / 16));
    if (align > kPageSize && align <= kMaxHonouredAlign)
        base &= ~(align - 1);
    if (base < lo || base > hi - span)
        base = std::max(lo, PageDown((hi - span) / 2));  // tiny address spaces (tests)
    return base;
}

// MAP_FIXED replaces what is there: make sure a program never lands on the stack (mapped
// first) because of a hostile link address or a huge span.
bool RangeIsFree(mm::MemoryManager& mm, uint64_t start, uint64_t end) {
    for (const mm::VmaInfo& v : mm.Vmas())
        if (v.start < end && start < v.end)
            return false;
    return true;
}

// Reserves `span` bytes wherever mmap puts them (the interpreter).
Result<uint64_t> ReserveAnywhere(mm::MemoryManager& mm, uint64_t span) {
    mm::MmapRequest req;
    req.length = span;
    req.prot = PROT_NONE;
    req.flags = MAP_PRIVATE | MAP_ANONYMOUS;
    return mm.Mmap(req);
}

Result<void> MapSegment(mm::MemoryManager& mm, ExecFile& file, const ElfLoadSegment& seg, uint64_t start) {
    uint64_t page_start = PageDown(start);
    uint64_t file_map_end = page_start;  // end of the file-backed pages
    if (seg.filesz > 0) {
        file_map_end = PageUp(start + seg.filesz);
        mm::MmapRequest req;
        req.addr = page_start;
        req.length = file_map_end - page_start;
        req.prot = seg.prot;
        req.flags = MAP_PRIVATE | MAP_FIXED;
        req.file = file.mappable();
        req.offset = PageDown(seg.offset);
        TRY(mm.Mmap(req));
    }
    if (seg.memsz <= seg.filesz)
        return {};
    // bss: the file's bytes past p_filesz in the last file page must read as zero (they are
    // whatever follows in the file), then whole zero pages up to p_memsz.
    uint64_t file_end = start + seg.filesz;
    if (seg.filesz > 0 && file_end < file_map_end)
        TRY(mm.ForceZero(mm::UserAddr(file_end), file_map_end - file_end));
    uint64_t mem_end = PageUp(start + seg.memsz);
    if (mem_end > file_map_end) {
        mm::MmapRequest req;
        req.addr = file_map_end;
        req.length = mem_end - file_map_end;
        req.prot = seg.prot;
        req.flags = MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS;
        TRY(mm.Mmap(req));
    }
    return {};
}

}  // namespace

uint64_t DynBase(uint64_t max_address) { return PageDown(max_address / 3 * 2); }

Result<MappedElf> MapElf(mm::MemoryManager& mm, ExecFile& file, const ElfImage& image, ElfRole role,
                         LayoutRandom& random) {
    const uint64_t span_start = image.span_start();
    const uint64_t span = image.span_end() - span_start;
    uint64_t base;
    bool reserved = false;
    if (image.type == ET_EXEC) {
        if (span_start < mm.min_address() || image.span_end() > mm.max_address())
            return Error(ENOEXEC);
        base = span_start;
    } else if (role == ElfRole::Main) {
        base = TRY(ChooseMainDynBase(mm, span, image.max_align, random));
    } else {
        // Like Linux's total_mapping_size: claim the whole span first so the segments keep
        // their relative distances, then map them over it with MAP_FIXED.
        base = TRY(ReserveAnywhere(mm, span));
        reserved = true;
    }
    if (!reserved && !RangeIsFree(mm, base, base + span))
        return Error(image.type == ET_EXEC ? ENOEXEC : ENOMEM);

    MappedElf out;
    out.load_base = base;
    out.bias = base - span_start;  // wraps for ET_DYN linked above its load address: fine
    out.start_code = UINT64_MAX;
    for (const ElfLoadSegment& seg : image.loads) {
        uint64_t start = base + (seg.vaddr - span_start);
        if (seg.memsz > 0)
            TRY(MapSegment(mm, file, seg, start));
        if ((seg.prot & PROT_EXEC) && start < out.start_code)
            out.start_code = start;
        out.start_data = std::max(out.start_data, start);
        if (seg.prot & PROT_EXEC)
            out.end_code = std::max(out.end_code, start + seg.filesz);
        out.end_data = std::max(out.end_data, start + seg.filesz);
        out.end = std::max(out.end, start + seg.memsz);
    }
    if (out.start_code == UINT64_MAX)
        out.start_code = 0;

    if (reserved) {
        // Linux unmaps what the segments do not cover: gaps between segments are holes.
        uint64_t prev_end = base + (PageUp(image.loads.front().vaddr + image.loads.front().memsz) - span_start);
        for (size_t i = 1; i < image.loads.size(); ++i) {
            const ElfLoadSegment& seg = image.loads[i];
            uint64_t page_start = base + (PageDown(seg.vaddr) - span_start);
            if (page_start > prev_end)
                TRY(mm.Munmap(prev_end, page_start - prev_end));
            prev_end = std::max(prev_end, base + (PageUp(seg.vaddr + seg.memsz) - span_start));
        }
    }

    out.entry = image.entry + out.bias;
    if (out.entry < mm.min_address() || out.entry >= mm.max_address())
        return Error(ENOEXEC);  // Linux: BAD_ADDR(e_entry)
    if (image.has_phdr_vaddr)
        out.phdr_addr = image.phdr_vaddr + out.bias;
    log::debug("loader: {} {} at {:#x}-{:#x} entry {:#x}", role == ElfRole::Main ? "program" : "interpreter",
               file.path(), base, base + span, out.entry);
    return out;
}

}  // namespace moat::loader
