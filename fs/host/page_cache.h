#pragma once
// HostPageCache: the page cache of one host regular file — frames of the memory file filled
// with pread on first use and shared by every mapping of the file (the Mappable that
// sentry/mm maps). The host file is treated as immutable while cached (it is the read-only
// lower layer); FIXME(#fs-host-coherence): revalidate against the host's mtime.
//
// Lock: m_lock, then MemoryFile's lock (leaf). HostIo calls are made under m_lock.

#include "fs/host/host_io.h"
#include "sentry/mm/mappable.h"
#include "sentry/mm/memory_file.h"

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace moat::fs {

class HostPageCache final : public mm::Mappable {
public:
    HostPageCache(HostIo& io, std::shared_ptr<UniqueFd> fd, mm::MemoryFile& mf, uint64_t size, uint64_t dev,
                  uint64_t ino, std::string name)
        : m_io(io), m_fd(std::move(fd)), m_mf(mf), m_size(size), m_dev(dev), m_ino(ino), m_name(std::move(name)) {}
    ~HostPageCache() override;

    Result<uint64_t> PageFrame(uint64_t page_index) override;
    uint64_t size() const override { return m_size; }
    uint64_t device() const override { return m_dev; }
    uint64_t inode() const override { return m_ino; }
    std::string map_name() const override { return m_name; }

    // Copies cached bytes (filling pages as needed): for reads that want the cache.
    Result<size_t> ReadAt(void* dst, size_t len, uint64_t offset);
    size_t cached_pages() const;

private:
    HostIo& m_io;
    const std::shared_ptr<UniqueFd> m_fd;
    mm::MemoryFile& m_mf;
    const uint64_t m_size, m_dev, m_ino;
    const std::string m_name;
    mutable std::mutex m_lock;
    std::unordered_map<uint64_t, uint64_t> m_frames;  // guarded by m_lock: page index → memory-file offset
};

}  // namespace moat::fs
