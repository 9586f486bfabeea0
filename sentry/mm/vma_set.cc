// VmaSet: sorted, non-overlapping application memory areas.

#include "sentry/mm/vma_set.h"

#include <algorithm>

namespace moat::mm {

bool Vma::CanMergeWith(const Vma& next) const {
    if (end != next.start || prot != next.prot || max_prot != next.max_prot || shared != next.shared ||
        growsdown != next.growsdown || anonymous != next.anonymous || file != next.file || name != next.name)
        return false;
    // File-backed (and shmem) areas must continue the same file contiguously.
    if (file && offset + size() != next.offset)
        return false;
    return true;
}

Vma* VmaSet::Find(uint64_t addr) {
    auto it = m_map.upper_bound(addr);
    if (it == m_map.begin())
        return nullptr;
    --it;
    return it->second.contains(addr) ? &it->second : nullptr;
}

const Vma* VmaSet::Find(uint64_t addr) const { return const_cast<VmaSet*>(this)->Find(addr); }

VmaSet::iterator VmaSet::FindNext(uint64_t addr) {
    auto it = m_map.upper_bound(addr);
    if (it != m_map.begin()) {
        auto prev = std::prev(it);
        if (prev->second.end > addr)
            return prev;
    }
    return it;
}

VmaSet::const_iterator VmaSet::FindNext(uint64_t addr) const { return const_cast<VmaSet*>(this)->FindNext(addr); }

VmaSet::const_iterator VmaSet::FindPrev(uint64_t addr) const {
    auto it = m_map.upper_bound(addr);
    while (it != m_map.begin()) {
        --it;
        if (it->second.end <= addr)
            return it;
    }
    return m_map.end();
}

bool VmaSet::Intersects(uint64_t start, uint64_t end) const {
    auto it = FindNext(start);
    return it != m_map.end() && it->second.start < end;
}

bool VmaSet::Covers(uint64_t start, uint64_t end) const {
    uint64_t at = start;
    for (auto it = FindNext(start); at < end; ++it) {
        if (it == m_map.end() || it->second.start > at)
            return false;
        at = it->second.end;
    }
    return true;
}

VmaSet::iterator VmaSet::Insert(Vma vma) {
    auto [it, inserted] = m_map.emplace(vma.start, std::move(vma));
    (void)inserted;
    return MergeAround(it);
}

VmaSet::iterator VmaSet::MergeAround(iterator it) {
    if (auto next = std::next(it); next != m_map.end() && it->second.CanMergeWith(next->second)) {
        it->second.end = next->second.end;
        m_map.erase(next);
    }
    if (it != m_map.begin()) {
        auto prev = std::prev(it);
        if (prev->second.CanMergeWith(it->second)) {
            prev->second.end = it->second.end;
            m_map.erase(it);
            it = prev;
        }
    }
    return it;
}

VmaSet::iterator VmaSet::ExtendDown(iterator it, uint64_t new_start) {
    auto node = m_map.extract(it);
    uint64_t delta = node.mapped().start - new_start;
    node.key() = new_start;
    node.mapped().start = new_start;
    node.mapped().offset -= std::min(node.mapped().offset, delta);
    return m_map.insert(std::move(node)).position;
}

void VmaSet::SplitAt(uint64_t addr) {
    Vma* v = Find(addr);
    if (!v || v->start == addr)
        return;
    Vma upper = *v;
    upper.start = addr;
    upper.offset = v->offset_of(addr);
    v->end = addr;
    // Only the lowest piece of a stack keeps growing down in Linux; both keep the flag
    // there too (VM_GROWSDOWN is per area), so we copy it.
    m_map.emplace(addr, std::move(upper));
}

std::vector<Vma> VmaSet::Remove(uint64_t start, uint64_t end) {
    std::vector<Vma> removed;
    if (start >= end)
        return removed;
    SplitAt(start);
    SplitAt(end);
    auto it = m_map.lower_bound(start);
    while (it != m_map.end() && it->second.start < end) {
        removed.push_back(std::move(it->second));
        it = m_map.erase(it);
    }
    return removed;
}

std::optional<uint64_t> VmaSet::FindGapTopDown(uint64_t length, uint64_t low, uint64_t high) const {
    if (length == 0 || high < low || high - low < length)
        return std::nullopt;
    // Walk gaps from the top: the gap below area `it` ends at it->start_gap().
    auto it = m_map.lower_bound(high);
    uint64_t gap_end = high;
    if (it != m_map.end())
        gap_end = std::min(gap_end, it->second.start_gap());
    while (true) {
        uint64_t gap_start = low;
        auto prev = it;
        bool has_prev = prev != m_map.begin();
        if (has_prev) {
            --prev;
            gap_start = std::max(low, prev->second.end);
        }
        if (gap_end > gap_start && gap_end - gap_start >= length)
            return gap_end - length;
        if (!has_prev || prev->second.end <= low)
            return std::nullopt;
        it = prev;
        gap_end = std::min(gap_end, it->second.start_gap());
    }
}

std::optional<uint64_t> VmaSet::FindGapBottomUp(uint64_t length, uint64_t low, uint64_t high) const {
    if (length == 0 || high < low || high - low < length)
        return std::nullopt;
    uint64_t gap_start = low;
    for (auto it = FindNext(low); it != m_map.end() && gap_start < high; ++it) {
        uint64_t gap_end = std::min(high, it->second.start_gap());
        if (gap_end > gap_start && gap_end - gap_start >= length)
            return gap_start;
        gap_start = std::max(gap_start, it->second.end);
    }
    if (gap_start < high && high - gap_start >= length)
        return gap_start;
    return std::nullopt;
}

bool VmaSet::IsFreeForHint(uint64_t addr, uint64_t length) const {
    auto it = FindNext(addr);
    return it == m_map.end() || addr + length <= it->second.start_gap();
}

uint64_t VmaSet::total_size() const {
    uint64_t total = 0;
    for (const auto& [start, v] : m_map)
        total += v.size();
    return total;
}

}  // namespace moat::mm
