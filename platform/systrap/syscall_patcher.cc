#include "platform/systrap/syscall_patcher.h"

#include "platform/base/log.h"
#include "platform/systrap/stub_layout.h"

#include <capstone/capstone.h>

#include <cstring>

namespace moat::platform::systrap {

namespace {

constexpr uint64_t kTableMagic = 0x70617274'74616f6dull;  // "moattrap"
constexpr uint32_t kMaxEntries = SYSTRAP_TABLE_SIZE / SYSTRAP_ENTRY_SIZE;
constexpr size_t kSiteSize = 7;     // mov $imm32,%eax (5) + syscall (2)
constexpr size_t kSyscallOffset = 5;
constexpr uint8_t kInvalidOpcode = 0x06;
constexpr size_t kMaxTrackedSites = 4096;

// The table's first entry.
struct TableHeader {
    uint64_t fast_entry;  // the word every entry's code jumps through
    uint64_t magic;
    uint32_t next;        // entries used (the header counts as one)
};

struct Entry {
    uint64_t cell;        // &code: the patched site jumps through this word
    uint32_t nr;
    uint32_t pad;
    uint8_t code[16];
    uint64_t ret;
    uint64_t site;
    uint8_t pad2[16];
};
static_assert(sizeof(Entry) == SYSTRAP_ENTRY_SIZE);
static_assert(offsetof(Entry, nr) == SYSTRAP_ENTRY_NR);
static_assert(offsetof(Entry, code) == SYSTRAP_ENTRY_CODE);
static_assert(offsetof(Entry, ret) == SYSTRAP_ENTRY_RET);
static_assert(offsetof(Entry, site) == SYSTRAP_ENTRY_SITE);
static_assert(((SYSTRAP_TABLE_BASE >> 16) & 0xff) == kInvalidOpcode && SYSTRAP_TABLE_BASE + SYSTRAP_TABLE_SIZE <= 0x70000,
              "every entry address must have 0x06 as its third byte");

uint64_t EntryAddress(uint32_t index) { return SYSTRAP_TABLE_BASE + uint64_t{index} * SYSTRAP_ENTRY_SIZE; }

Entry MakeEntry(uint64_t address, uint64_t site, uint32_t nr) {
    Entry e{};
    e.cell = address + SYSTRAP_ENTRY_CODE;
    e.nr = nr;
    e.ret = site + kSiteSize;
    e.site = site;
    const uint32_t self = static_cast<uint32_t>(address);
    const uint32_t table = SYSTRAP_TABLE_BASE;
    uint8_t* c = e.code;
    c[0] = 0x41, c[1] = 0xbb;  // mov $self,%r11d
    std::memcpy(c + 2, &self, 4);
    c[6] = 0xff, c[7] = 0x24, c[8] = 0x25;  // jmp *(table)
    std::memcpy(c + 9, &table, 4);
    return e;
}

}  // namespace

SyscallPatcher::SyscallPatcher(MemoryReader reader, bool enabled) : m_reader(std::move(reader)), m_enabled(enabled) {
    csh handle = 0;
    if (m_enabled && cs_open(CS_ARCH_X86, CS_MODE_64, &handle) == CS_ERR_OK) {
        cs_option(handle, CS_OPT_DETAIL, CS_OPT_ON);
        m_capstone = handle;
    } else {
        m_enabled = false;
    }
}

SyscallPatcher::~SyscallPatcher() {
    if (m_capstone) {
        csh handle = m_capstone;
        cs_close(&handle);
    }
}

void SyscallPatcher::SetWriter(std::shared_ptr<CodeWriter> writer) {
    std::lock_guard lock(m_lock);
    m_writer = std::move(writer);
}

void SyscallPatcher::OnTrappedSyscall(uint64_t rip, uint64_t nr) {
    if (!m_enabled || rip < kSiteSize || nr > 0xffff)
        return;
    const uint64_t site = rip - kSiteSize;
    std::lock_guard lock(m_lock);
    if (!m_writer || m_table_failed)
        return;
    auto it = m_hits.find(site);
    if (it == m_hits.end()) {
        if (m_hits.size() >= kMaxTrackedSites)
            return;
        it = m_hits.emplace(site, 0).first;
    }
    if (++it->second != kHitsBeforePatch)
        return;
    if (!IsPatchableSite(site, static_cast<uint32_t>(nr)))
        return;
    if (EnsureTableLocked() && PatchLocked(site, static_cast<uint32_t>(nr)))
        ++m_patched;
}

// The 7 bytes before rip must be exactly `mov $nr,%eax; syscall`, as Capstone decodes them.
bool SyscallPatcher::IsPatchableSite(uint64_t site, uint32_t nr) {
    uint8_t bytes[kSiteSize];
    if (m_reader(site, bytes, sizeof(bytes)) != sizeof(bytes))
        return false;
    if (bytes[0] != 0xb8 || bytes[5] != 0x0f || bytes[6] != 0x05)
        return false;
    // Never patch the table itself or the stub.
    if (site >= SYSTRAP_TABLE_BASE && site < SYSTRAP_TABLE_BASE + SYSTRAP_TABLE_SIZE)
        return false;
    csh handle = m_capstone;
    cs_insn* insn = nullptr;
    size_t count = cs_disasm(handle, bytes, sizeof(bytes), site, 2, &insn);
    bool ok = count == 2 && insn[0].id == X86_INS_MOV && insn[0].size == 5 && insn[1].id == X86_INS_SYSCALL &&
              insn[1].size == 2 && insn[0].detail && insn[0].detail->x86.op_count == 2 &&
              insn[0].detail->x86.operands[0].type == X86_OP_REG && insn[0].detail->x86.operands[0].reg == X86_REG_EAX &&
              insn[0].detail->x86.operands[1].type == X86_OP_IMM &&
              static_cast<uint64_t>(insn[0].detail->x86.operands[1].imm) == nr;
    if (count)
        cs_free(insn, count);
    return ok;
}

bool SyscallPatcher::ReadTableHeaderLocked() {
    TableHeader h{};
    if (m_reader(SYSTRAP_TABLE_BASE, &h, sizeof(h)) != sizeof(h) || h.magic != kTableMagic)
        return false;
    if (h.next == 0 || h.next > kMaxEntries || h.fast_entry != CodeAddress(moat_systrap_fast_entry))
        return false;
    m_next = h.next;
    return true;
}

// The table exists (made here, or inherited through fork) and m_next is its header's count.
bool SyscallPatcher::EnsureTableLocked() {
    if (m_table_ready)
        return true;
    if (!ReadTableHeaderLocked()) {
        if (auto mapped = m_writer->MapPlatformArea(SYSTRAP_TABLE_BASE, SYSTRAP_TABLE_SIZE, "[moat-trap]"); !mapped.ok()) {
            log::debug("systrap: no trap table (errno {}): syscall patching off in this address space", mapped.error());
            m_table_failed = true;
            return false;
        }
        TableHeader h{CodeAddress(moat_systrap_fast_entry), kTableMagic, 1};
        if (!m_writer->WriteCode(SYSTRAP_TABLE_BASE, &h, sizeof(h)).ok()) {
            m_table_failed = true;
            return false;
        }
        m_next = 1;
    }
    m_table_ready = true;
    return true;
}

bool SyscallPatcher::PatchLocked(uint64_t site, uint32_t nr) {
    if (m_next >= kMaxEntries)
        return false;
    const uint64_t address = EntryAddress(m_next);
    Entry e = MakeEntry(address, site, nr);
    if (!m_writer->WriteCode(address, &e, sizeof(e)).ok())
        return false;
    uint32_t next = m_next + 1;
    if (!m_writer->WriteCode(SYSTRAP_TABLE_BASE + offsetof(TableHeader, next), &next, sizeof(next)).ok())
        return false;
    m_next = next;
    uint8_t patch[kSiteSize] = {0xff, 0x24, 0x25};
    const uint32_t cell = static_cast<uint32_t>(address);
    std::memcpy(patch + 3, &cell, 4);
    // 1: the syscall's first byte becomes 0x06, so a thread past the old mov faults there;
    // 2: the rest but the opcode byte (a thread decoding the mov meanwhile gets a wrong
    //    immediate and faults on the 0x06 just after, and is restarted at the site);
    // 3: the opcode byte: from here on the jump.
    if (!m_writer->WriteCode(site + kSyscallOffset, &kInvalidOpcode, 1).ok())
        return false;  // the site is not private r-x code: untouched
    if (!m_writer->WriteCode(site + 1, patch + 1, kSiteSize - 1).ok() || !m_writer->WriteCode(site, patch, 1).ok()) {
        log::warn("systrap: patching the site at {:#x} failed half-way", site);
        return false;
    }
    return true;
}

std::optional<SyscallPatcher::EntryInfo> SyscallPatcher::ReadEntry(uint64_t entry) {
    if (entry < EntryAddress(1) || entry >= SYSTRAP_TABLE_BASE + SYSTRAP_TABLE_SIZE || entry % SYSTRAP_ENTRY_SIZE)
        return std::nullopt;
    Entry e{};
    if (m_reader(entry, &e, sizeof(e)) != sizeof(e) || e.cell != entry + SYSTRAP_ENTRY_CODE)
        return std::nullopt;
    return EntryInfo{e.nr, e.ret};
}

std::optional<uint64_t> SyscallPatcher::PatchedSiteAt(uint64_t rip) {
    if (rip < kSyscallOffset)
        return std::nullopt;
    const uint64_t site = rip - kSyscallOffset;
    uint8_t bytes[kSiteSize];
    if (m_reader(site, bytes, sizeof(bytes)) != sizeof(bytes))
        return std::nullopt;
    if (bytes[1] != 0x24 || bytes[2] != 0x25 || bytes[5] != kInvalidOpcode)
        return std::nullopt;
    uint32_t cell;
    std::memcpy(&cell, bytes + 3, 4);
    if (!ReadEntry(cell))
        return std::nullopt;
    return site;
}

}  // namespace moat::platform::systrap
