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
//    the sandbox starts; once sentry/sandbox has confined the sentry it resolves inside the
//    host tree fd handed over by UseHostTree (openat2 RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS),
//    the sentry's own "/" being an empty directory;
//  - metadata and link targets are read from the O_PATH fd itself (AT_EMPTY_PATH, "");
//  - changes (writable binds) name at most ONE component relative to a directory fd the
//    sentry holds, never following a symlink (mkdirat, unlinkat, renameat2, symlinkat,
//    openat(O_CREAT|O_EXCL|O_NOFOLLOW)), or act on an fd of the file itself (fchmodat2/
//    fchownat/utimensat/linkat with AT_EMPTY_PATH on the O_PATH fd; pwrite, ftruncate,
//    fallocate, fsync, f*xattr on a data fd). Device nodes are never created.

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
    // From now on OpenRoot resolves its path inside `tree` (an O_PATH fd of the host's root,
    // or of a detached clone of its mount tree) instead of the process's "/", which
    // confinement replaces by an empty directory. Call before the first OpenRoot.
    static void UseHostTree(UniqueFd tree);

    // Opens the root of a host mount — a directory, or a regular file for a file bind: O_PATH
    // (follows symlinks in `path`, which comes from the sandbox's configuration, never from
    // the app).
    virtual Result<UniqueFd> OpenRoot(const std::string& path) = 0;
    // realpath(3) of a configuration path (never an app's), so that a file bind's parent
    // directory and name are the file's real ones.
    virtual Result<std::string> CanonicalPath(const std::string& path) = 0;
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
    // fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW) of one component.
    virtual Result<struct stat> FstatAt(int dirfd, const std::string& name) = 0;

    // ---- Changes (writable host mounts). `name` is always ONE component (EINVAL otherwise). ----
    // openat(dirfd, name, O_CREAT|O_EXCL|O_RDWR|O_NOFOLLOW|O_CLOEXEC, mode): a new regular file.
    virtual Result<UniqueFd> CreateFile(int dirfd, const std::string& name, uint32_t mode) = 0;
    // openat(dirfd, ".", O_TMPFILE|O_RDWR|O_CLOEXEC, mode): a new unnamed regular file in the
    // directory open at `dirfd`.
    virtual Result<UniqueFd> CreateTmpFile(int dirfd, uint32_t mode) = 0;
    // fcntl(fd, F_DUPFD_CLOEXEC): a second handle on an fd the sentry holds.
    virtual Result<UniqueFd> Dup(int fd) = 0;
    // lseek(fd, offset, SEEK_DATA / SEEK_HOLE) on a data fd (the file's own holes).
    virtual Result<int64_t> SeekHole(int fd, int64_t offset, int whence) = 0;
    // mkdirat(dirfd, name, mode).
    virtual Result<void> Mkdir(int dirfd, const std::string& name, uint32_t mode) = 0;
    // mknodat(dirfd, name, mode, 0) for S_IFIFO and S_IFSOCK only (EPERM for anything else).
    virtual Result<void> MknodSpecial(int dirfd, const std::string& name, uint32_t mode) = 0;
    // symlinkat(target, dirfd, name): the target is stored as text, never resolved.
    virtual Result<void> Symlink(const std::string& target, int dirfd, const std::string& name) = 0;
    // linkat(fd, "", dirfd, name, AT_EMPTY_PATH): a new name for the very file open at `fd`.
    virtual Result<void> Link(int fd, int dirfd, const std::string& name) = 0;
    // unlinkat(dirfd, name, is_dir ? AT_REMOVEDIR : 0).
    virtual Result<void> Unlink(int dirfd, const std::string& name, bool is_dir) = 0;
    // renameat2(old_dirfd, old_name, new_dirfd, new_name, flags).
    virtual Result<void> Rename(int old_dirfd, const std::string& old_name, int new_dirfd,
                                const std::string& new_name, unsigned flags) = 0;
    // Attributes of the file open at `fd` (O_PATH is fine), never following a symlink:
    // fchmodat2(fd, "", mode, AT_EMPTY_PATH) (ENOSYS before Linux 6.6: then fchmod(fd), which
    // needs an fd that is not O_PATH), fchownat(fd, "", uid, gid, AT_EMPTY_PATH|
    // AT_SYMLINK_NOFOLLOW) (-1 = unchanged), utimensat(fd, "", times, AT_EMPTY_PATH|
    // AT_SYMLINK_NOFOLLOW).
    virtual Result<void> Chmod(int fd, uint32_t mode) = 0;
    virtual Result<void> Chown(int fd, uint32_t uid, uint32_t gid) = 0;
    virtual Result<void> SetTimes(int fd, const struct timespec times[2]) = 0;
    // On a data fd of a regular file (opened for writing): pwrite (retries EINTR), ftruncate,
    // fallocate, fsync/fdatasync.
    virtual Result<size_t> Pwrite(int fd, const void* buf, size_t len, uint64_t offset) = 0;
    virtual Result<void> Truncate(int fd, uint64_t size) = 0;
    virtual Result<void> Fallocate(int fd, int mode, int64_t offset, int64_t len) = 0;
    virtual Result<void> Fsync(int fd, bool data_only) = 0;
    // Extended attributes through an fd that is not O_PATH (fgetxattr, fsetxattr, flistxattr,
    // fremovexattr).
    virtual Result<std::string> GetXattr(int fd, const std::string& name) = 0;
    virtual Result<void> SetXattr(int fd, const std::string& name, const std::string& value, int flags) = 0;
    virtual Result<std::vector<std::string>> ListXattr(int fd) = 0;
    virtual Result<void> RemoveXattr(int fd, const std::string& name) = 0;
};

}  // namespace moat::fs
