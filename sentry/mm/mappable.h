#pragma once
// Mappable: what a file offers to mmap. Its pages are frames of the memory file (the page
// cache); a private mapping maps them read-only and copies on the first write, a shared
// mapping maps them as they are.

#include "platform/base/result.h"

#include <cstdint>
#include <string>

namespace moat::mm {

class Mappable {
public:
    virtual ~Mappable() = default;
    // The memory-file offset of the frame holding the file's page `page_index` (file offset
    // page_index * kPageSize), filled from the file on first use. The Mappable keeps its own
    // reference; the caller takes another with MemoryFile::IncRef if it maps it.
    // A page wholly beyond the end of the file is Error(EFAULT) (the fault becomes SIGBUS).
    // The part of the last page beyond end of file reads as zeros.
    virtual Result<uint64_t> PageFrame(uint64_t page_index) = 0;
    virtual uint64_t size() const = 0;
    // For /proc/[pid]/maps: device, inode and the path shown.
    virtual uint64_t device() const { return 0; }
    virtual uint64_t inode() const { return 0; }
    virtual std::string map_name() const = 0;
    // Writes what MAP_SHARED writable mappings changed in [offset, offset+length) back to
    // where the file keeps it. The MemoryManager calls it (under its lock) on msync, and when
    // a shared mapping of a file opened for writing goes away (munmap, exec, exit). Default:
    // nothing to do (the frames are the file, as for shmem).
    virtual Result<void> Writeback(uint64_t /*offset*/, uint64_t /*length*/) { return {}; }
};

}  // namespace moat::mm
