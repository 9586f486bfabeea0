#pragma once
// HostIo: ALL access to host files goes through this interface, so that it can move into a
// separate, tightly filtered process (a gofer) later. Nothing else in the sentry opens,
// stats or reads host files (the sentry's own stdio dups excepted, see stdio_file.h).
//
// The rules it enforces:
//  - a host file is reached only by OpenAt(dirfd, name) with ONE component (no '/', never
//    ".."; "." only to reopen a directory for reading) and O_NOFOLLOW always added: the host
//    never resolves a multi-component path or a symlink for us;
//  - the only multi-component open is OpenRoot, once, for the root of a host mount, before
//    the sandbox starts;
//  - metadata and link targets are read from the O_PATH fd itself (AT_EMPTY_PATH, "").

#include "platform/base/result.h"
#include "platform/base/unique_fd.h"

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <vector>

namespace moat::fs {

struct HostDirEntry {
    std::string name;
    uint64_t ino = 0;
    uint8_t type = 0;  // DT_*
};

class HostIo {
public:
    virtual ~HostIo() = default;

    // The in-process implementation (direct host syscalls).
    static HostIo& Direct();

    // Opens the root directory of a host mount: O_PATH|O_DIRECTORY (follows symlinks in
    // `path`, which comes from the sandbox's configuration, never from the app).
    virtual Result<UniqueFd> OpenRoot(const std::string& path) = 0;
    // openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY). EINVAL for a name that is
    // not a single component.
    virtual Result<UniqueFd> OpenAt(int dirfd, const std::string& name, int flags) = 0;
    // fstatat(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW).
    virtual Result<struct stat> Fstat(int fd) = 0;
    // readlinkat(fd, "") on an O_PATH fd of a symlink.
    virtual Result<std::string> ReadLink(int fd) = 0;
    // pread(2); retries EINTR.
    virtual Result<size_t> Pread(int fd, void* buf, size_t len, uint64_t offset) = 0;
    // Every entry of the directory open (O_PATH is fine) at `dirfd`, except "." and "..".
    virtual Result<std::vector<HostDirEntry>> ReadDir(int dirfd) = 0;
};

}  // namespace moat::fs
