// LoadProgram: execve's work after the caller has made a fresh MemoryManager. The order
// is Linux's: resolve `#!` interpreters (fs/binfmt_script.c), check the argument limits,
// reserve the stack (setup_arg_pages), map the program, its brk, its interpreter and the
// vDSO (load_elf_binary), then write argv/envp/auxv (create_elf_tables).
//
// On error the MemoryManager may hold a partial image; the caller throws it away (execve
// has not yet passed the point of no return when this fails).

#include "sentry/loader/loader.h"

#include "platform/base/log.h"
#include "sentry/loader/elf.h"
#include "sentry/loader/layout_random.h"
#include "sentry/loader/load_elf.h"
#include "sentry/loader/shebang.h"
#include "sentry/loader/stack.h"
#include "sentry/loader/vdso.h"

#include <algorithm>

namespace moat::loader {

namespace {

// Linux arch_randomize_brk on x86-64: the heap starts up to 32 MiB above the program.
constexpr uint64_t kBrkRandomRange = 32ull << 20;

// The first min(size, 256) bytes of the file.
Result<std::vector<uint8_t>> ReadHead(ExecFile& file) {
    std::vector<uint8_t> head(kBinprmBufSize);
    size_t done = 0;
    while (done < head.size()) {
        size_t n = TRY(file.ReadAt(std::span(head).subspan(done), done));
        if (n == 0)
            break;
        done += n;
    }
    head.resize(done);
    return head;
}

struct Resolved {
    std::shared_ptr<ExecFile> file;  // the ELF file to run
    std::vector<std::string> argv;   // after `#!` rewrites
};

// Follows `#!` lines until an ELF file.
Result<Resolved> ResolveScripts(const LoadRequest& req) {
    Resolved r;
    // Linux >= 5.18: an empty argv gets "" as argv[0], so argc is never 0.
    r.argv = req.argv.empty() ? std::vector<std::string>{""} : req.argv;
    std::string path = req.filename;
    r.file = TRY(req.open(path));
    for (int depth = 0;; ++depth) {
        if (!r.file)
            return Error(ENOENT);
        std::vector<uint8_t> head = TRY(ReadHead(*r.file));
        if (HasElfMagic(head))
            return r;
        if (!HasShebangMagic(head))
            return Error(ENOEXEC);
        if (depth >= kMaxShebangDepth)
            return Error(ELOOP);
        Shebang shebang = TRY(ParseShebang(head));
        r.argv = ShebangArgv(shebang, path, r.argv);
        path = shebang.interpreter;
        r.file = TRY(req.open(path));
    }
}

// PT_INTERP: an ELF file without its own PT_INTERP. Linux reports a bad interpreter as
// ELIBBAD, not ENOEXEC (which would send the caller looking for another format).
Result<ElfImage> ReadInterpreter(ExecFile& file) {
    std::vector<uint8_t> head = TRY(ReadHead(file));
    if (!HasElfMagic(head))
        return Error(ELIBBAD);
    auto image = ReadElf(file);
    if (!image.ok())
        return Error(image.error() == ENOEXEC ? ELIBBAD : image.error());
    if (image->has_interp)
        return Error(ELIBBAD);
    return image;
}

}  // namespace

Result<LoadResult> LoadProgram(mm::MemoryManager& mm, const LoadRequest& req) {
    if (!req.open)
        return Error(ENOENT);
    LayoutRandom random = TRY(LayoutRandom::Create(req.random_seed));

    Resolved resolved = TRY(ResolveScripts(req));
    ExecFile& file = *resolved.file;
    const std::vector<std::string>& argv = resolved.argv;
    ElfImage image = TRY(ReadElf(file));

    std::shared_ptr<ExecFile> interp_file;
    ElfImage interp_image;
    if (image.has_interp) {
        interp_file = TRY(req.open(image.interp));
        if (!interp_file)
            return Error(ENOENT);
        interp_image = TRY(ReadInterpreter(*interp_file));
    }

    uint64_t strings = TRY(CheckArgLimits(req.filename, argv, req.envp, req.stack_size_limit));
    // The stack rlimit decides both how far "[stack]" may grow and where mmap_base is.
    mm.set_stack_limit(req.stack_size_limit);
    uint64_t stack_top =
        TRY(MapStack(mm, strings, argv.size(), req.envp.size(), image.exec_stack, req.stack_size_limit, random));

    MappedElf main = TRY(MapElf(mm, file, image, ElfRole::Main, random));
    uint64_t brk_start = mm::PageUp(main.end);
    if (brk_start < mm.max_address() - kBrkRandomRange)
        brk_start += random.PageOffset(kBrkRandomRange);
    mm.SetBrkStart(brk_start);

    uint64_t entry = main.entry;
    uint64_t interp_base = 0;
    if (interp_file) {
        MappedElf interp = TRY(MapElf(mm, *interp_file, interp_image, ElfRole::Interpreter, random));
        entry = interp.entry;
        interp_base = interp.bias;  // Linux's interp_load_addr
    }

    AuxvInputs aux;
    if (req.vdso)
        aux.sysinfo_ehdr = TRY(req.vdso->MapInto(mm));
    aux.phdr = main.phdr_addr;
    aux.phnum = image.phnum;
    aux.base = interp_base;
    aux.entry = main.entry;
    aux.uid = req.uid;
    aux.euid = req.euid;
    aux.gid = req.gid;
    aux.egid = req.egid;
    aux.secure = req.secure ? 1 : 0;
    StackResult stack = TRY(WriteStack(mm, stack_top, req.filename, argv, req.envp, aux, random));

    mm::MmLayout& layout = mm.layout();
    layout.start_code = main.start_code;
    layout.end_code = main.end_code;
    layout.start_data = main.start_data;
    layout.end_data = main.end_data;
    layout.start_brk = brk_start;
    layout.brk = brk_start;
    layout.start_stack = stack.sp;
    layout.arg_start = stack.arg_start;
    layout.arg_end = stack.arg_end;
    layout.env_start = stack.env_start;
    layout.env_end = stack.env_end;
    layout.auxv = std::move(stack.auxv);
    layout.exe_path = file.path();
    layout.exe_write_guard = file.DenyWrite();

    LoadResult result;
    result.entry = entry;
    result.stack_pointer = stack.sp;
    result.exe_path = file.path();
    log::debug("loader: {} entry {:#x} sp {:#x} brk {:#x}", result.exe_path, entry, stack.sp, brk_start);
    return result;
}

}  // namespace moat::loader
