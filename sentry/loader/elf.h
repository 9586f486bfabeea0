#pragma once
// ELF64 x86-64 parsing and validation. Everything read from the file is hostile input: every
// field is range-checked and every sum overflow-checked before it is used, so that the
// mapping code (load_elf.cc) can do plain arithmetic on an ElfImage.

#include "platform/base/result.h"
#include "sentry/loader/exec_file.h"

#include <elf.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace moat::loader {

// Linux BINPRM_BUF_SIZE: what execve reads to recognise a format (`#!` line, ELF header).
inline constexpr size_t kBinprmBufSize = 256;
// Linux's bound on the program header table (load_elf_phdrs).
inline constexpr uint64_t kMaxPhdrTableSize = 64 * 1024;
inline constexpr size_t kPathMax = 4096;

// One validated PT_LOAD, in file order (which is also ascending, non-overlapping vaddr order).
struct ElfLoadSegment {
    uint64_t vaddr = 0;   // link-time address (add the load bias for ET_DYN)
    uint64_t memsz = 0;
    uint64_t offset = 0;  // file offset; offset % page == vaddr % page
    uint64_t filesz = 0;  // <= memsz; offset + filesz <= file size
    int prot = 0;         // PROT_* from p_flags
};

struct ElfImage {
    uint16_t type = 0;   // ET_EXEC or ET_DYN
    uint64_t entry = 0;  // link-time e_entry
    uint16_t phnum = 0;
    std::vector<ElfLoadSegment> loads;  // at least one, sorted, disjoint
    bool has_interp = false;
    std::string interp;                  // PT_INTERP path without its NUL
    bool exec_stack = false;             // PT_GNU_STACK with PF_X
    bool has_phdr_vaddr = false;
    uint64_t phdr_vaddr = 0;             // link-time address of the program headers, if mapped
    uint64_t max_align = 0;              // largest power-of-two PT_LOAD p_align (for PIE bias)

    // Page-aligned link-time span of all PT_LOADs: [span_start(), span_end()).
    uint64_t span_start() const;
    uint64_t span_end() const;
};

// Is this the start of an ELF file (magic only)?
bool HasElfMagic(std::span<const uint8_t> head);

// Validates the ELF header (64 bytes) on its own: magic, class, data, machine, type,
// e_phentsize and the size and bounds of the program header table. ENOEXEC on failure.
Result<Elf64_Ehdr> ParseElfHeader(std::span<const uint8_t> bytes, uint64_t file_size);

// Validates a program header table read from the file (as ParseElfHeader allowed) and
// builds the image description. `file` is read for PT_INTERP only.
Result<ElfImage> ParseProgramHeaders(const Elf64_Ehdr& ehdr, std::span<const Elf64_Phdr> phdrs,
                                     ExecFile& file, uint64_t file_size);

// Reads and validates the whole description of an ELF file: header, program headers, and
// the PT_INTERP path. ENOEXEC for anything malformed, EIO if the file cannot be read.
Result<ElfImage> ReadElf(ExecFile& file);

// Reads exactly dst.size() bytes at `offset` (ENOEXEC if the file is shorter).
Result<void> ReadFull(ExecFile& file, std::span<uint8_t> dst, uint64_t offset);

}  // namespace moat::loader
