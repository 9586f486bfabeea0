// The table is generated from syscall_names.inc; handlers plug in through the weak
// declarations in handlers.h; notes for partial support live in kNotes below.

#include "syscalls/table.h"

#include "syscalls/handlers.h"

#include <array>
#include <cstring>
#include <mutex>
#include <vector>

namespace moat::syscalls {
namespace {

struct NameEntry {
    uint32_t nr;
    const char* name;
};

constexpr NameEntry kNames[] = {
#define X(nr, name) {nr, #name},
#include "syscalls/syscall_names.inc"
#undef X
};

constexpr bool NamesSorted() {
    for (size_t i = 1; i < std::size(kNames); ++i)
        if (kNames[i - 1].nr >= kNames[i].nr)
            return false;
    return true;
}
static_assert(NamesSorted(), "syscall_names.inc must be in strictly increasing number order");

// Handlers, parallel to kNames (weak: null when no family file defines it).
const Handler kHandlers[] = {
#define X(nr, name) &sys_##name,
#include "syscalls/syscall_names.inc"
#undef X
};
static_assert(std::size(kHandlers) == std::size(kNames));

struct Note {
    const char* name;
    Support support;
    const char* text;
};

// What is served but not completely, and what is refused on purpose.
constexpr Note kNotes[] = {
    {"rseq", Support::Unimplemented, "ENOSYS by design: glibc falls back cleanly"},
    {"rt_sigaction", Support::Partial, "actions recorded; delivery arrives with signals (#3)"},
    {"rt_sigprocmask", Support::Partial, "mask recorded; delivery arrives with signals (#3)"},
    {"sigaltstack", Support::Partial, "recorded only"},
    {"nanosleep", Support::Partial, "not interruptible by signals yet (#3)"},
    {"clock_nanosleep", Support::Partial, "not interruptible by signals yet (#3)"},
    {"ioctl", Support::Partial, "terminal and fd-flag requests only"},
    {"fcntl", Support::Partial, "fd flags and status flags; no locks yet (#4)"},
    {"madvise", Support::Partial, "MADV_DONTNEED honoured; other advice accepted"},
    {"msync", Support::Partial, "no writeback needed: no writable file mappings yet"},
    {"openat", Support::Partial, "host root read-only until the overlay lands (#4)"},
    {"open", Support::Partial, "host root read-only until the overlay lands (#4)"},
    {"prctl", Support::Partial, "PR_SET_NAME/PR_GET_NAME and a few flags"},
};

std::vector<SyscallEntry> BuildTable() {
    std::vector<SyscallEntry> t;
    t.reserve(std::size(kNames));
    for (size_t i = 0; i < std::size(kNames); ++i) {
        SyscallEntry e{kNames[i].nr, kNames[i].name, kHandlers[i], kHandlers[i] ? Support::Full : Support::Unimplemented, ""};
        for (const Note& n : kNotes) {
            if (strcmp(n.name, e.name) == 0) {
                e.note = n.text;
                if (e.handler || n.support == Support::Unimplemented)
                    e.support = n.support;
            }
        }
        t.push_back(e);
    }
    return t;
}

struct Tables {
    std::vector<SyscallEntry> entries;
    std::array<const SyscallEntry*, 512> by_nr{};
};

const Tables& GetTables() {
    // Built once, immutable afterwards (a function-local static, not mutable global state).
    static const Tables tables = [] {
        Tables t;
        t.entries = BuildTable();
        for (const SyscallEntry& e : t.entries)
            if (e.nr < t.by_nr.size())
                t.by_nr[e.nr] = &e;
        return t;
    }();
    return tables;
}

}  // namespace

std::span<const SyscallEntry> Table() { return GetTables().entries; }

const SyscallEntry* Lookup(uint64_t nr) {
    const Tables& t = GetTables();
    return nr < t.by_nr.size() ? t.by_nr[nr] : nullptr;
}

std::string_view SupportName(Support s) {
    switch (s) {
    case Support::Full:
        return "full";
    case Support::Partial:
        return "partial";
    case Support::Unimplemented:
        return "unimplemented";
    }
    return "?";
}

}  // namespace moat::syscalls
