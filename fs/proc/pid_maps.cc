// /proc/[pid]/maps and smaps from the process's MemoryManager VMAs. smaps' sizes are the
// memory manager's own accounting: Rss is the pages with a frame, Private_* the frames this
// mapping owns (anonymous or copied on write), Shared_Clean the rest (page cache, COW-shared).

#include "fs/proc/pid_text.h"

#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"

#include <fmt/format.h>

#include <sys/mman.h>
#include <sys/sysmacros.h>

namespace moat::fs::proc {

namespace {

// Linux pads the fixed part of a maps line to 25 + 6 * sizeof(void*) - 1 columns before the name.
constexpr size_t kNameColumn = 25 + 6 * 8 - 1;

std::string MapsLine(const mm::VmaInfo& v) {
    std::string line = fmt::format("{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ", v.start, v.end,
                                   (v.prot & PROT_READ) ? 'r' : '-', (v.prot & PROT_WRITE) ? 'w' : '-',
                                   (v.prot & PROT_EXEC) ? 'x' : '-', v.shared ? 's' : 'p', v.offset,
                                   major(v.device), minor(v.device), v.inode);
    if (!v.name.empty()) {
        if (line.size() < kNameColumn)
            line.append(kNameColumn - line.size(), ' ');
        line += ' ';
        line += v.name;
    }
    line += '\n';
    return line;
}

std::shared_ptr<mm::MemoryManager> MmOf(const ProcessRef& p) { return p.task ? p.task->mm_ptr() : nullptr; }

std::string Kb(const char* name, uint64_t bytes) { return fmt::format("{:<16}{:>8} kB\n", name, bytes / 1024); }

std::string VmFlags(const mm::VmaInfo& v) {
    std::string f = "VmFlags: ";
    if (v.prot & PROT_READ)
        f += "rd ";
    if (v.prot & PROT_WRITE)
        f += "wr ";
    if (v.prot & PROT_EXEC)
        f += "ex ";
    if (v.shared)
        f += "sh ";
    f += "mr mw me ";
    if (v.shared)
        f += "ms ";
    if (v.name == "[stack]")
        f += "gd ";
    if (v.anonymous && !v.shared && (v.prot & PROT_WRITE))
        f += "ac ";
    f += "\n";
    return f;
}

}  // namespace

Result<std::string> MapsText(const FsCaller&, const ProcessRef& p) {
    std::string out;
    if (auto mm = MmOf(p))
        for (const auto& v : mm->Vmas())
            out += MapsLine(v);
    return out;
}

Result<std::string> SmapsText(const FsCaller&, const ProcessRef& p) {
    std::string out;
    auto mm = MmOf(p);
    if (!mm)
        return out;
    for (const auto& v : mm->Vmas()) {
        uint64_t shared = v.resident - v.private_resident;
        bool anon_private = v.anonymous && !v.shared;
        out += MapsLine(v);
        out += Kb("Size:", v.end - v.start);
        out += Kb("KernelPageSize:", 4096);
        out += Kb("MMUPageSize:", 4096);
        out += Kb("Rss:", v.resident);
        out += Kb("Pss:", v.resident);
        out += Kb("Pss_Dirty:", v.private_resident);
        out += Kb("Shared_Clean:", shared);
        out += Kb("Shared_Dirty:", 0);
        out += Kb("Private_Clean:", 0);
        out += Kb("Private_Dirty:", v.private_resident);
        out += Kb("Referenced:", v.resident);
        out += Kb("Anonymous:", anon_private || !v.anonymous ? v.private_resident : 0);
        out += Kb("KSM:", 0);
        out += Kb("LazyFree:", 0);
        out += Kb("AnonHugePages:", 0);
        out += Kb("ShmemPmdMapped:", 0);
        out += Kb("FilePmdMapped:", 0);
        out += Kb("Shared_Hugetlb:", 0);
        out += Kb("Private_Hugetlb:", 0);
        out += Kb("Swap:", 0);
        out += Kb("SwapPss:", 0);
        out += Kb("Locked:", 0);
        out += fmt::format("THPeligible:    {:>8}\n", 0);
        out += VmFlags(v);
    }
    return out;
}

}  // namespace moat::fs::proc
