// MemoryManager: the sentry's access to application memory, through its own mapping of the
// memory file. Pages are populated exactly as a fault would (a copy into a page never
// touched allocates it; a write to a COW page copies it), but nothing is mapped on the
// platform: the app's own fault does that later.

#include "sentry/mm/memory_manager.h"
#include "sentry/mm/mm_impl.h"

#include <algorithm>
#include <cstring>

namespace moat::mm {

namespace {
constexpr uint64_t kCopyChunk = 1ull << 20;
}  // namespace

template <typename Fn>
std::pair<size_t, int> MemoryManager::Impl::ForEachPiece(uint64_t addr, size_t len, Access access, Fn&& fn) {
    if (len == 0)
        return {0, 0};
    uint64_t end;
    if (__builtin_add_overflow(addr, len, &end))
        return {0, EFAULT};
    const bool write = access == Access::Write || access == Access::ForceWrite;
    const bool force = access == Access::ForceRead || access == Access::ForceWrite;
    uint64_t at = addr;
    while (at < end) {
        const Vma* vma = FindOrGrow(at);
        if (!vma)
            return {at - addr, EFAULT};
        if (!force) {
            int need = write ? PROT_WRITE : (PROT_READ | PROT_WRITE);
            if (!(vma->prot & need))
                return {at - addr, EFAULT};
        }
        // Bounded chunks: a huge copy populates as it goes, not all up front.
        uint64_t chunk_end = std::min({end, vma->end, PageDown(at) + kCopyChunk});
        auto populated = Populate(*vma, PageDown(at), PageUp(chunk_end), write);
        if (!populated.ok())
            return {at - addr, EFAULT};
        uint64_t limit = std::min(chunk_end, *populated);
        for (auto it = PmaNext(at); at < limit; ++it) {
            // Populate left no holes below `limit`.
            uint64_t n = std::min(limit, it->second.end) - at;
            fn(mm.m_mf.Ptr(it->second.frame + (at - it->first)), static_cast<size_t>(n));
            at += n;
        }
        if (limit < chunk_end)
            return {at - addr, EFAULT};  // past end of file
    }
    return {len, 0};
}

Result<void> MemoryManager::CopyIn(UserAddr src, void* dst, size_t len) {
    std::lock_guard lock(m_impl->lock);
    auto* out = static_cast<uint8_t*>(dst);
    auto [done, err] = m_impl->ForEachPiece(src.get(), len, Impl::Access::Read, [&](uint8_t* p, size_t n) {
        std::memcpy(out, p, n);
        out += n;
    });
    if (err)
        return Error(err);
    return {};
}

Result<void> MemoryManager::CopyOut(UserAddr dst, const void* src, size_t len) {
    std::lock_guard lock(m_impl->lock);
    auto* in = static_cast<const uint8_t*>(src);
    auto [done, err] = m_impl->ForEachPiece(dst.get(), len, Impl::Access::Write, [&](uint8_t* p, size_t n) {
        std::memcpy(p, in, n);
        in += n;
    });
    if (err)
        return Error(err);
    return {};
}

Result<std::string> MemoryManager::CopyInString(UserAddr src, size_t max_len) {
    std::string out;
    uint64_t at = src.get();
    // Read a page at a time so a string ending just before an unmapped page is fine.
    while (true) {
        size_t want = kPageSize - (at & (kPageSize - 1));
        size_t remaining = max_len - out.size();
        if (remaining != SIZE_MAX)
            ++remaining;  // room for the NUL
        want = std::min(want, remaining);
        char buf[kPageSize];
        {
            std::lock_guard lock(m_impl->lock);
            size_t got = 0;
            auto [done, err] = m_impl->ForEachPiece(at, want, Impl::Access::Read, [&](uint8_t* p, size_t n) {
                std::memcpy(buf + got, p, n);
                got += n;
            });
            if (err)
                return Error(err);
        }
        if (auto* nul = static_cast<char*>(std::memchr(buf, 0, want))) {
            out.append(buf, static_cast<size_t>(nul - buf));
            return out;
        }
        out.append(buf, want);
        if (out.size() > max_len)
            return Error(ENAMETOOLONG);
        uint64_t next;
        if (__builtin_add_overflow(at, want, &next))
            return Error(EFAULT);
        at = next;
    }
}

size_t MemoryManager::ReadForPlatform(uint64_t addr, void* dst, size_t len) {
    std::lock_guard lock(m_impl->lock);
    auto* out = static_cast<uint8_t*>(dst);
    // A read can stop anywhere; keep what was read up to the first bad page.
    auto [done, err] = m_impl->ForEachPiece(addr, len, Impl::Access::ForceRead, [&](uint8_t* p, size_t n) {
        std::memcpy(out, p, n);
        out += n;
    });
    (void)err;
    return done;
}

Result<void> MemoryManager::ForceWrite(UserAddr dst, const void* src, size_t len) {
    std::lock_guard lock(m_impl->lock);
    auto* in = static_cast<const uint8_t*>(src);
    auto [done, err] = m_impl->ForEachPiece(dst.get(), len, Impl::Access::ForceWrite, [&](uint8_t* p, size_t n) {
        std::memcpy(p, in, n);
        in += n;
    });
    if (err)
        return Error(err);
    return {};
}

Result<void> MemoryManager::WriteCodeForPlatform(uint64_t addr, const void* src, size_t len) {
    std::lock_guard lock(m_impl->lock);
    const Vma* vma = m_impl->vmas.Find(addr);
    if (!vma || len == 0 || len > vma->end - addr)
        return Error(EFAULT);
    // Never a file's shared pages, nor code the application itself may be rewriting (JITs).
    if (vma->shared || !(vma->prot & PROT_EXEC) || (vma->prot & PROT_WRITE))
        return Error(EPERM);
    auto* in = static_cast<const uint8_t*>(src);
    auto [done, err] = m_impl->ForEachPiece(addr, len, Impl::Access::ForceWrite, [&](uint8_t* p, size_t n) {
        std::memcpy(p, in, n);
        in += n;
    });
    if (err)
        return Error(err);
    return {};
}

Result<void> MemoryManager::ForceZero(UserAddr dst, size_t len) {
    std::lock_guard lock(m_impl->lock);
    auto [done, err] = m_impl->ForEachPiece(dst.get(), len, Impl::Access::ForceWrite,
                                            [&](uint8_t* p, size_t n) { std::memset(p, 0, n); });
    if (err)
        return Error(err);
    return {};
}

Result<std::optional<uint64_t>> MemoryManager::FutexWord(UserAddr addr, bool write,
                                                         const std::function<void(uint32_t*)>& fn) {
    if (addr.get() % sizeof(uint32_t))
        return Error(EINVAL);
    std::lock_guard lock(m_impl->lock);
    uint8_t* word = nullptr;
    auto [done, err] = m_impl->ForEachPiece(addr.get(), sizeof(uint32_t), write ? Impl::Access::Write : Impl::Access::Read,
                                            [&](uint8_t* p, size_t) { word = p; });
    if (err)
        return Error(err);
    if (fn)
        fn(reinterpret_cast<uint32_t*>(word));
    const Vma* vma = m_impl->vmas.Find(addr.get());
    if (vma && vma->shared)
        return std::optional<uint64_t>(static_cast<uint64_t>(word - m_mf.Ptr(0)));
    return std::optional<uint64_t>();
}

}  // namespace moat::mm
