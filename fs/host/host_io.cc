#include "fs/host/host_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace moat::fs {

namespace {

bool IsSingleComponent(const std::string& name, bool allow_dot) {
    if (name.empty() || name == "..")
        return false;
    if (name == ".")
        return allow_dot;
    return name.find('/') == std::string::npos && name.find('\0') == std::string::npos;
}

class DirectHostIo final : public HostIo {
public:
    Result<UniqueFd> OpenRoot(const std::string& path) override {
        int fd = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return HostErrno();
        return UniqueFd(fd);
    }

    Result<UniqueFd> OpenAt(int dirfd, const std::string& name, int flags) override {
        if (!IsSingleComponent(name, /*allow_dot=*/(flags & O_DIRECTORY) != 0))
            return Error(EINVAL);
        int fd;
        do {
            fd = ::openat(dirfd, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        } while (fd < 0 && errno == EINTR);
        if (fd < 0)
            return HostErrno();
        return UniqueFd(fd);
    }

    Result<struct stat> Fstat(int fd) override {
        struct stat st;
        if (::fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
            return HostErrno();
        return st;
    }

    Result<std::string> ReadLink(int fd) override {
        std::string buf(256, '\0');
        for (;;) {
            ssize_t n = ::readlinkat(fd, "", buf.data(), buf.size());
            if (n < 0)
                return HostErrno();
            if (static_cast<size_t>(n) < buf.size()) {
                buf.resize(static_cast<size_t>(n));
                return buf;
            }
            if (buf.size() >= 4096)
                return Error(ENAMETOOLONG);
            buf.resize(buf.size() * 2);
        }
    }

    Result<size_t> Pread(int fd, void* buf, size_t len, uint64_t offset) override {
        ssize_t n;
        do {
            n = ::pread(fd, buf, len, static_cast<off_t>(offset));
        } while (n < 0 && errno == EINTR);
        if (n < 0)
            return HostErrno();
        return static_cast<size_t>(n);
    }

    Result<std::vector<HostDirEntry>> ReadDir(int dirfd) override {
        // Reopen the directory itself ("." from its own fd: one component, never a symlink).
        UniqueFd fd = TRY(OpenAt(dirfd, ".", O_RDONLY | O_DIRECTORY));
        std::vector<HostDirEntry> out;
        alignas(8) char buf[16384];
        for (;;) {
            long n = ::syscall(SYS_getdents64, fd.get(), buf, sizeof(buf));
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return HostErrno();
            }
            if (n == 0)
                break;
            for (long pos = 0; pos < n;) {
                auto* d = reinterpret_cast<struct dirent64*>(buf + pos);
                pos += d->d_reclen;
                if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
                    continue;
                out.push_back({d->d_name, d->d_ino, d->d_type});
            }
        }
        return out;
    }
};

}  // namespace

HostIo& HostIo::Direct() {
    static DirectHostIo io;
    return io;
}

}  // namespace moat::fs
