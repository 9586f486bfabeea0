#include "fs/host/host_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
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

// Runs a host call returning -1/errno, retrying EINTR.
template <typename Fn>
Result<void> Call(Fn&& fn) {
    long r;
    do {
        r = fn();
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return HostErrno();
    return {};
}

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

// The host's mount tree (an O_PATH fd of its root) once sentry/sandbox has taken it.
std::atomic<int> g_host_tree{-1};

class DirectHostIo final : public HostIo {
public:
    Result<UniqueFd> OpenRoot(const std::string& path) override {
        int tree = g_host_tree.load();
        int fd;
        if (tree < 0) {
            fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
        } else {
            // Inside the host tree confinement cloned: the path is the host's, its symlinks
            // stay inside the tree, and /proc magic links are refused.
            struct open_how how = {};
            how.flags = O_PATH | O_CLOEXEC;
            how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
            fd = static_cast<int>(::syscall(SYS_openat2, tree, path.c_str(), &how, sizeof(how)));
        }
        if (fd < 0)
            return HostErrno();
        return UniqueFd(fd);
    }

    Result<std::string> CanonicalPath(const std::string& path) override {
        char* real = ::realpath(path.c_str(), nullptr);
        if (!real)
            return HostErrno();
        std::string out(real);
        ::free(real);
        return out;
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

    Result<struct stat> FstatAt(int dirfd, const std::string& name) override {
        if (!IsSingleComponent(name, false))
            return Error(EINVAL);
        struct stat st;
        if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
            return HostErrno();
        return st;
    }

    // ---- Changes ----

    Result<UniqueFd> CreateFile(int dirfd, const std::string& name, uint32_t mode) override {
        if (!IsSingleComponent(name, false))
            return Error(EINVAL);
        int fd;
        do {
            fd = ::openat(dirfd, name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                          mode & 07777);
        } while (fd < 0 && errno == EINTR);
        if (fd < 0)
            return HostErrno();
        return UniqueFd(fd);
    }

    Result<UniqueFd> CreateTmpFile(int dirfd, uint32_t mode) override {
        int fd;
        do {
            fd = ::openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC | O_NOFOLLOW, mode & 07777);
        } while (fd < 0 && errno == EINTR);
        if (fd < 0)
            return HostErrno();
        return UniqueFd(fd);
    }

    Result<UniqueFd> Dup(int fd) override {
        int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (copy < 0)
            return HostErrno();
        return UniqueFd(copy);
    }

    Result<int64_t> SeekHole(int fd, int64_t offset, int whence) override {
        if (whence != SEEK_DATA && whence != SEEK_HOLE)
            return Error(EINVAL);
        off_t r = ::lseek(fd, offset, whence);
        if (r < 0)
            return HostErrno();
        return static_cast<int64_t>(r);
    }

    Result<void> Mkdir(int dirfd, const std::string& name, uint32_t mode) override {
        if (!IsSingleComponent(name, false))
            return Error(EINVAL);
        return Call([&] { return ::mkdirat(dirfd, name.c_str(), mode & 07777); });
    }

    Result<void> MknodSpecial(int dirfd, const std::string& name, uint32_t mode) override {
        if (!IsSingleComponent(name, false))
            return Error(EINVAL);
        if ((mode & S_IFMT) != S_IFIFO && (mode & S_IFMT) != S_IFSOCK)
            return Error(EPERM);  // never a device node on the host
        return Call([&] { return ::mknodat(dirfd, name.c_str(), mode & (S_IFMT | 07777), 0); });
    }

    Result<void> Symlink(const std::string& target, int dirfd, const std::string& name) override {
        if (!IsSingleComponent(name, false) || target.find('\0') != std::string::npos)
            return Error(EINVAL);
        return Call([&] { return ::symlinkat(target.c_str(), dirfd, name.c_str()); });
    }

    Result<void> Link(int fd, int dirfd, const std::string& name) override {
        if (!IsSingleComponent(name, false))
            return Error(EINVAL);
        return Call([&] { return ::linkat(fd, "", dirfd, name.c_str(), AT_EMPTY_PATH); });
    }

    Result<void> Unlink(int dirfd, const std::string& name, bool is_dir) override {
        if (!IsSingleComponent(name, false))
            return Error(EINVAL);
        return Call([&] { return ::unlinkat(dirfd, name.c_str(), is_dir ? AT_REMOVEDIR : 0); });
    }

    Result<void> Rename(int old_dirfd, const std::string& old_name, int new_dirfd, const std::string& new_name,
                        unsigned flags) override {
        if (!IsSingleComponent(old_name, false) || !IsSingleComponent(new_name, false))
            return Error(EINVAL);
        return Call([&] {
            return ::syscall(SYS_renameat2, old_dirfd, old_name.c_str(), new_dirfd, new_name.c_str(), flags);
        });
    }

    Result<void> Chmod(int fd, uint32_t mode) override {
        auto r = Call([&] { return ::syscall(SYS_fchmodat2, fd, "", mode & 07777, AT_EMPTY_PATH); });
        if (r.ok() || r.error() != ENOSYS)
            return r;
        return Call([&] { return ::fchmod(fd, mode & 07777); });
    }

    Result<void> Chown(int fd, uint32_t uid, uint32_t gid) override {
        return Call([&] { return ::fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW); });
    }

    Result<void> SetTimes(int fd, const struct timespec times[2]) override {
        return Call([&] { return ::utimensat(fd, "", times, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW); });
    }

    Result<size_t> Pwrite(int fd, const void* buf, size_t len, uint64_t offset) override {
        ssize_t n;
        do {
            n = ::pwrite(fd, buf, len, static_cast<off_t>(offset));
        } while (n < 0 && errno == EINTR);
        if (n < 0)
            return HostErrno();
        return static_cast<size_t>(n);
    }

    Result<void> Truncate(int fd, uint64_t size) override {
        return Call([&] { return ::ftruncate(fd, static_cast<off_t>(size)); });
    }

    Result<void> Fallocate(int fd, int mode, int64_t offset, int64_t len) override {
        return Call([&] { return ::fallocate(fd, mode, offset, len); });
    }

    Result<void> Fsync(int fd, bool data_only) override {
        // fsync for both: it does all fdatasync does, and keeps fdatasync off the host filter.
        (void)data_only;
        return Call([&] { return ::fsync(fd); });
    }

    Result<std::string> GetXattr(int fd, const std::string& name) override {
        for (;;) {
            ssize_t n = ::fgetxattr(fd, name.c_str(), nullptr, 0);
            if (n < 0)
                return HostErrno();
            std::string value(static_cast<size_t>(n), '\0');
            ssize_t got = ::fgetxattr(fd, name.c_str(), value.data(), value.size());
            if (got >= 0) {
                value.resize(static_cast<size_t>(got));
                return value;
            }
            if (errno != ERANGE)  // ERANGE: it grew in between; ask again
                return HostErrno();
        }
    }

    Result<void> SetXattr(int fd, const std::string& name, const std::string& value, int flags) override {
        return Call([&] { return ::fsetxattr(fd, name.c_str(), value.data(), value.size(), flags); });
    }

    Result<std::vector<std::string>> ListXattr(int fd) override {
        std::string buf;
        for (;;) {
            ssize_t n = ::flistxattr(fd, nullptr, 0);
            if (n < 0)
                return HostErrno();
            buf.assign(static_cast<size_t>(n), '\0');
            ssize_t got = ::flistxattr(fd, buf.data(), buf.size());
            if (got >= 0) {
                buf.resize(static_cast<size_t>(got));
                break;
            }
            if (errno != ERANGE)
                return HostErrno();
        }
        std::vector<std::string> names;
        for (size_t pos = 0; pos < buf.size();) {
            size_t end = buf.find('\0', pos);
            if (end == std::string::npos)
                end = buf.size();
            if (end > pos)
                names.push_back(buf.substr(pos, end - pos));
            pos = end + 1;
        }
        return names;
    }

    Result<void> RemoveXattr(int fd, const std::string& name) override {
        return Call([&] { return ::fremovexattr(fd, name.c_str()); });
    }
};

}  // namespace

void HostIo::UseHostTree(UniqueFd tree) {
    UniqueFd old(g_host_tree.exchange(tree.release()));
}

HostIo& HostIo::Direct() {
    static DirectHostIo io;
    return io;
}

}  // namespace moat::fs
