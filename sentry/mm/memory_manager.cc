// MemoryManager: creation, teardown, layout, introspection, fork, and the VMA/pma helpers
// the other aspects share. See README.md for the invariants.

#include "sentry/mm/memory_manager.h"

#include "platform/base/log.h"
#include "sentry/mm/mm_impl.h"

#include <algorithm>

namespace moat::mm {

namespace {

// The platform's way to rewrite app code and map its own areas (platform::CodeWriter),
// reaching the manager through the same link as the reader.
class MmCodeWriter final : public platform::CodeWriter {
public:
    explicit MmCodeWriter(std::shared_ptr<ReaderLink> link) : m_link(std::move(link)) {}

    Result<void> WriteCode(uint64_t addr, const void* src, size_t len) override {
        std::lock_guard lock(m_link->lock);
        if (!m_link->mm)
            return Error(ESRCH);
        return m_link->mm->WriteCodeForPlatform(addr, src, len);
    }

    Result<void> MapPlatformArea(uint64_t addr, uint64_t len, std::string_view name) override {
        std::lock_guard lock(m_link->lock);
        if (!m_link->mm)
            return Error(ESRCH);
        MmapRequest req;
        req.addr = addr;
        req.length = len;
        req.prot = PROT_READ | PROT_EXEC;
        req.flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
        req.name = std::string(name);
        uint64_t at = TRY(m_link->mm->Mmap(req));
        if (at != addr)
            return Error(EEXIST);
        return {};
    }

private:
    std::shared_ptr<ReaderLink> m_link;
};

}  // namespace

MemoryManager::MemoryManager(MemoryFile& mf, std::shared_ptr<platform::AddressSpace> as, uint64_t min, uint64_t max)
    : m_mf(mf), m_as(std::move(as)), m_min(min), m_max(max), m_impl(std::make_unique<Impl>(*this)) {}

Result<std::shared_ptr<MemoryManager>> MemoryManager::Create(MemoryFile& memory_file, platform::Platform& platform) {
    // The reader must exist before the AddressSpace, which exists before us: it reaches us
    // through a link we fill in below and clear in the destructor.
    auto link = std::make_shared<ReaderLink>();
    platform::MemoryReader reader = [link](uint64_t addr, void* buf, size_t len) -> size_t {
        std::lock_guard lock(link->lock);
        return link->mm ? link->mm->ReadForPlatform(addr, buf, len) : 0;
    };
    auto as = TRY(platform.NewAddressSpace(std::move(reader)));
    uint64_t min = PageUp(platform.min_user_address());
    uint64_t max = PageDown(platform.max_user_address());
    if (min >= max)
        return Error(EINVAL);
    as->SetCodeWriter(std::make_shared<MmCodeWriter>(link));
    std::shared_ptr<MemoryManager> mm(new MemoryManager(memory_file, std::move(as), min, max));
    mm->m_impl->platform = &platform;
    mm->m_impl->reader_link = link;
    std::lock_guard lock(link->lock);
    link->mm = mm.get();
    return mm;
}

MemoryManager::~MemoryManager() {
    if (m_impl->reader_link) {
        std::lock_guard lock(m_impl->reader_link->lock);
        m_impl->reader_link->mm = nullptr;
    }
    std::lock_guard lock(m_impl->lock);
    for (auto& [start, vma] : m_impl->vmas)
        (void)m_impl->WritebackShared(vma, vma.start, vma.end);
    // The AddressSpace goes away with m_as; only the frame references need dropping.
    for (auto& [start, pma] : m_impl->pmas)
        m_mf.DecRef(pma.frame, (pma.end - start) / kPageSize);
    m_impl->pmas.clear();
    m_impl->vmas.clear();
}

// ---- pmas ----

std::map<uint64_t, Pma>::iterator MemoryManager::Impl::PmaNext(uint64_t addr) {
    auto it = pmas.upper_bound(addr);
    if (it != pmas.begin()) {
        auto prev = std::prev(it);
        if (prev->second.end > addr)
            return prev;
    }
    return it;
}

void MemoryManager::Impl::SplitPmaAt(uint64_t addr) {
    auto it = PmaNext(addr);
    if (it == pmas.end() || it->first >= addr)
        return;
    Pma upper = it->second;
    upper.frame += addr - it->first;
    it->second.end = addr;
    pmas.emplace(addr, upper);
}

bool MemoryManager::Impl::DropPmas(uint64_t start, uint64_t end) {
    if (start >= end)
        return false;
    SplitPmaAt(start);
    SplitPmaAt(end);
    bool any_mapped = false;
    for (auto it = pmas.lower_bound(start); it != pmas.end() && it->first < end;) {
        uint64_t n = (it->second.end - it->first) / kPageSize;
        any_mapped |= it->second.mapped;
        mm.m_mf.DecRef(it->second.frame, n);
        resident -= n;
        it = pmas.erase(it);
    }
    return any_mapped;
}

// ---- VMAs ----

Result<void> MemoryManager::Impl::UnmapRange(uint64_t start, uint64_t end) {
    if (!vmas.Intersects(start, end))
        return {};
    for (const Vma& removed : vmas.Remove(start, end))
        (void)WritebackShared(removed, removed.start, removed.end);
    if (DropPmas(start, end))
        TRY(mm.m_as->Unmap(start, end - start));
    return {};
}

Result<void> MemoryManager::Impl::WritebackShared(const Vma& vma, uint64_t start, uint64_t end) {
    if (!vma.shared || vma.anonymous || !vma.file || !(vma.max_prot & PROT_WRITE))
        return {};
    start = std::max(start, vma.start);
    end = std::min(end, vma.end);
    if (start >= end)
        return {};
    return vma.file->Writeback(vma.offset_of(start), end - start);
}

Vma* MemoryManager::Impl::FindOrGrow(uint64_t addr) {
    auto it = vmas.FindNext(addr);
    if (it == vmas.end())
        return nullptr;
    if (it->second.contains(addr))
        return &it->second;
    // Linux's expand_stack: only the area right above the address, only if it grows down.
    Vma& stack = it->second;
    if (!stack.growsdown)
        return nullptr;
    uint64_t new_start = PageDown(addr);
    if (new_start < mm.m_min || stack.end - new_start > stack_limit)
        return nullptr;
    if (it != vmas.begin()) {
        const Vma& prev = std::prev(it)->second;
        if (!prev.growsdown && prev.prot != PROT_NONE && new_start - prev.end < kStackGuardGap)
            return nullptr;
    }
    return &vmas.ExtendDown(it, new_start)->second;
}

uint64_t MemoryManager::Impl::MmapBase() const {
    // Linux's mmap_base without randomization: the stack rlimit (at least 128 MiB) plus
    // the guard gap below the top of the address space.
    uint64_t gap = std::max<uint64_t>(stack_limit + kStackGuardGap, 128ull << 20);
    gap = std::min(gap, (mm.m_max / 6) * 5);
    uint64_t base = PageDown(mm.m_max - gap);
    return base > mm.m_min ? base : mm.m_max;
}

Result<uint64_t> MemoryManager::Impl::GetUnmappedArea(uint64_t addr, uint64_t len, int flags) {
    const uint64_t min = mm.m_min, max = mm.m_max;
    if (len > max)
        return Error(ENOMEM);
    if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
        if (addr > max - len)
            return Error(ENOMEM);
        if (!IsPageAligned(addr))
            return Error(EINVAL);
        if (addr < min)
            return Error(EPERM);  // security_mmap_addr: below mmap_min_addr
        return addr;
    }
    if (addr) {
        addr = PageDown(addr);
        if (addr >= min && addr <= max - len && vmas.IsFreeForHint(addr, len))
            return addr;
    }
    if (flags & MAP_32BIT) {
        if (auto a = vmas.FindGapBottomUp(len, std::max<uint64_t>(min, 0x40000000), std::min<uint64_t>(max, 0x80000000)))
            return *a;
        return Error(ENOMEM);
    }
    if (auto a = vmas.FindGapTopDown(len, min, MmapBase()))
        return *a;
    // Linux falls back to a bottom-up search from TASK_UNMAPPED_BASE.
    if (auto a = vmas.FindGapBottomUp(len, std::max(min, PageDown(max / 3)), max))
        return *a;
    if (auto a = vmas.FindGapTopDown(len, min, max))
        return *a;
    return Error(ENOMEM);
}

// ---- layout and introspection ----

void MemoryManager::SetBrkStart(uint64_t start) {
    std::lock_guard lock(m_impl->lock);
    // Linux page-aligns the break's start (ELF_PAGEALIGN of the end of the bss).
    m_layout.start_brk = PageUp(start);
    m_layout.brk = m_layout.start_brk;
}

void MemoryManager::set_stack_limit(uint64_t bytes) {
    std::lock_guard lock(m_impl->lock);
    m_impl->stack_limit = bytes;
}

uint64_t MemoryManager::mmap_base() const {
    std::lock_guard lock(m_impl->lock);
    return m_impl->MmapBase();
}

std::vector<VmaInfo> MemoryManager::Vmas() const {
    std::lock_guard lock(m_impl->lock);
    std::vector<VmaInfo> out;
    out.reserve(m_impl->vmas.size());
    for (const auto& [start, v] : m_impl->vmas) {
        VmaInfo info;
        info.start = v.start;
        info.end = v.end;
        info.prot = v.prot;
        info.shared = v.shared;
        info.offset = v.file && !v.anonymous ? v.offset : 0;
        if (v.file) {
            info.device = v.file->device();
            info.inode = v.file->inode();
        }
        info.name = !v.name.empty() ? v.name : (v.file ? v.file->map_name() : std::string());
        info.anonymous = v.anonymous;
        // Pmas never cross a VMA boundary.
        for (auto it = m_impl->pmas.lower_bound(v.start); it != m_impl->pmas.end() && it->first < v.end; ++it) {
            info.resident += it->second.end - it->first;
            if (it->second.priv)
                info.private_resident += it->second.end - it->first;
        }
        out.push_back(std::move(info));
    }
    return out;
}

uint64_t MemoryManager::resident_pages() const {
    std::lock_guard lock(m_impl->lock);
    return m_impl->resident;
}

uint64_t MemoryManager::virtual_size() const {
    std::lock_guard lock(m_impl->lock);
    return m_impl->vmas.total_size();
}

// ---- fork ----

Result<std::shared_ptr<MemoryManager>> MemoryManager::Fork() {
    if (!m_impl->platform)
        return Error(EINVAL);
    auto child = TRY(Create(m_mf, *m_impl->platform));
    std::lock_guard lock(m_impl->lock);
    std::lock_guard child_lock(child->m_impl->lock);
    Impl& p = *m_impl;
    Impl& c = *child->m_impl;
    child->m_layout = m_layout;
    c.stack_limit = p.stack_limit;
    for (const auto& [start, v] : p.vmas)
        c.vmas.Insert(v);
    for (auto& [start, pma] : p.pmas) {
        m_mf.IncRef(pma.frame, (pma.end - start) / kPageSize);
        if (pma.priv && pma.writable) {
            // Both sides now share the frame copy-on-write; write-protect the parent's mapping.
            pma.writable = false;
            if (pma.mapped) {
                const Vma* v = p.vmas.Find(start);
                if (v && (v->prot & PROT_WRITE))
                    TRY(m_as->Protect(start, pma.end - start, p.EffectiveProt(*v, pma)));
            }
        }
        Pma copy = pma;
        copy.mapped = false;
        c.pmas.emplace(start, copy);
        c.resident += (pma.end - start) / kPageSize;
    }
    return child;
}

}  // namespace moat::mm
