#pragma once
// SyscallPatcher: rewrites the application's hot `mov $nr,%eax; syscall` sites so that they
// enter the sentry through the stub's fast path (stub.S) instead of a seccomp SIGSYS: no
// signal delivery, no XSAVE, no rt_sigreturn. One per address space.
//
// A site (7 bytes, decoded and checked with Capstone) becomes `jmp *entry` (ff 24 25 <entry>),
// an indirect jump through the first word of its 64-byte entry in the trap table, an r-x
// mapping of the application's at SYSTRAP_TABLE_BASE (stub_layout.h). The entry's code does
// `mov $entry,%r11d; jmp *(SYSTRAP_TABLE_BASE)`, and the table's first word is the stub's
// fast entry; the entry also holds the number and the return address. The table's header
// (its first entry) says how many entries are used, so a forked copy carries on with it.
//
// Racing threads stay correct: the patch is written in three steps so that every mix of old
// and new bytes another thread can fetch is either the old sequence or faults on the 0x06
// (an invalid opcode) at the site's syscall offset, which is the third byte of every entry
// address. Such a SIGILL, and the restart of an interrupted call (rip moved back onto that
// byte), are resolved by ResolvePatchedFault.

#include "platform/platform.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace moat::platform::systrap {

class SyscallPatcher {
public:
    SyscallPatcher(MemoryReader reader, bool enabled);
    ~SyscallPatcher();
    SyscallPatcher(const SyscallPatcher&) = delete;
    SyscallPatcher& operator=(const SyscallPatcher&) = delete;

    void SetWriter(std::shared_ptr<CodeWriter> writer);

    // A system call trapped by seccomp returned to the sentry with `rip` after its syscall
    // instruction: count the site's hits and patch it once it is hot.
    void OnTrappedSyscall(uint64_t rip, uint64_t nr);

    struct EntryInfo {
        uint64_t nr = 0;
        uint64_t ret = 0;  // where the call returns: after the site's syscall instruction
    };
    // The entry the fast path was entered with (its r11), when it is one of ours.
    std::optional<EntryInfo> ReadEntry(uint64_t entry);

    // A SIGILL at `rip`: if it is the 0x06 inside a patched site, the site's address (the app
    // either fetched a half-written patch, or the sentry moved rip back to restart a call).
    std::optional<uint64_t> PatchedSiteAt(uint64_t rip);

    // Sites patched so far (tests, logs).
    uint32_t patched() const { return m_patched; }

    static constexpr uint32_t kHitsBeforePatch = 2;

private:
    bool ReadTableHeaderLocked();
    bool EnsureTableLocked();
    bool PatchLocked(uint64_t site, uint32_t nr);
    bool IsPatchableSite(uint64_t site, uint32_t nr);

    MemoryReader m_reader;
    bool m_enabled;
    std::mutex m_lock;
    std::shared_ptr<CodeWriter> m_writer;
    bool m_table_ready = false;
    bool m_table_failed = false;
    uint32_t m_next = 0;  // the next free entry
    uint32_t m_patched = 0;
    std::unordered_map<uint64_t, uint32_t> m_hits;
    size_t m_capstone = 0;  // csh
};

}  // namespace moat::platform::systrap
