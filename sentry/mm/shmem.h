#pragma once
// ShmemMappable: the pages behind a MAP_SHARED|MAP_ANONYMOUS mapping (Linux's shmem file
// from shmem_zero_setup). Every mapping of it (after fork, or an mremap duplicate) sees the
// same frames. Pages are allocated on first use; the object holds one reference per page.

#include "sentry/mm/mappable.h"
#include "sentry/mm/memory_file.h"

#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace moat::mm {

class ShmemMappable final : public Mappable {
public:
    ShmemMappable(MemoryFile& mf, uint64_t size) : m_mf(mf), m_size(size) {}
    ~ShmemMappable() override;

    Result<uint64_t> PageFrame(uint64_t page_index) override;
    uint64_t size() const override { return m_size; }
    std::string map_name() const override { return "/dev/zero (deleted)"; }
    // MADV_REMOVE: frees the pages of [first, first+count) so they read as zeros again.
    void Remove(uint64_t first_page, uint64_t count);

private:
    MemoryFile& m_mf;
    const uint64_t m_size;
    std::mutex m_lock;                              // before MemoryFile's lock
    std::unordered_map<uint64_t, uint64_t> m_pages; // guarded by m_lock: page index → frame
};

}  // namespace moat::mm
