#pragma once
// Maps a validated ElfImage into a MemoryManager the way Linux's load_elf_binary and
// load_elf_interp do: file pages MAP_PRIVATE|MAP_FIXED, the partial page past p_filesz
// zeroed, anonymous zero pages for the rest of the bss.

#include "platform/base/result.h"
#include "sentry/loader/elf.h"
#include "sentry/loader/exec_file.h"
#include "sentry/loader/layout_random.h"
#include "sentry/mm/memory_manager.h"

#include <cstdint>

namespace moat::loader {

enum class ElfRole {
    Main,         // the program: ET_EXEC at its addresses, ET_DYN near 2/3 of the space
    Interpreter,  // PT_INTERP: ET_DYN wherever the memory manager's mmap puts it
};

struct MappedElf {
    uint64_t load_base = 0;   // address of the first page (span_start() + bias)
    uint64_t bias = 0;        // load address minus link address (0 for ET_EXEC), mod 2^64
    uint64_t entry = 0;       // e_entry + bias
    uint64_t phdr_addr = 0;   // AT_PHDR; 0 when the headers are not in any segment
    uint64_t end = 0;         // highest vaddr + memsz + bias (brk starts at its page-up)
    uint64_t start_code = 0, end_code = 0, start_data = 0, end_data = 0;
};

// Where an ET_DYN main program goes without randomisation: Linux's ELF_ET_DYN_BASE,
// 2/3 of the address space (0x555555554000 for a 47-bit space).
uint64_t DynBase(uint64_t max_address);

Result<MappedElf> MapElf(mm::MemoryManager& mm, ExecFile& file, const ElfImage& image, ElfRole role,
                         LayoutRandom& random);

}  // namespace moat::loader
