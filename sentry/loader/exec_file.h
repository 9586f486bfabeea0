#pragma once
// ExecFile: what the loader needs of a file it loads (the executable, its interpreter, a
// `#!` interpreter). The VFS provides it; the loader knows nothing else of files.

#include "platform/base/result.h"
#include "sentry/mm/mappable.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace moat::loader {

class ExecFile {
public:
    virtual ~ExecFile() = default;
    // Reads up to dst.size() bytes at `offset`; short only at end of file.
    virtual Result<size_t> ReadAt(std::span<uint8_t> dst, uint64_t offset) = 0;
    // The file's pages for mmap (never null for a regular file).
    virtual std::shared_ptr<mm::Mappable> mappable() = 0;
    // The absolute path inside the sandbox (for /proc/self/exe and AT_EXECFN resolution).
    virtual std::string path() const = 0;
    // Holds off writers of the file while the returned token lives (ETXTBSY, Linux's
    // deny_write_access for a running executable); null where there is nothing to hold.
    virtual std::shared_ptr<void> DenyWrite() { return nullptr; }
};

// Opens a path for execution inside the sandbox (follows symlinks; EACCES unless regular
// and executable; ENOENT, ENOTDIR, ELOOP… as execve(2) reports them).
using ExecOpener = std::function<Result<std::shared_ptr<ExecFile>>(const std::string& path)>;

}  // namespace moat::loader
