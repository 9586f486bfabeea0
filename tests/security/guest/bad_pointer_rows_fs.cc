// Bad-pointer rows for files, directories, paths and fd I/O (see bad_pointer.h). Each row passes
// the bad pointer in one argument and good values everywhere else.

#include "tests/security/guest/bad_pointer.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace moat::security {
namespace {

using E = BadPointerEnv;

char const* Path(E& e) { return e.scratch_file.c_str(); }
std::string Child(E& e, char const* name) { return e.scratch + "/" + name; }

// An iovec array whose only entry is the bad buffer.
long ReadvBase(E& e, void* p) {
    iovec iov = {p, 8};
    return syscall(SYS_readv, e.pipe_r, &iov, 1);
}
long WritevBase(E& e, void* p) {
    iovec iov = {p, 8};
    return syscall(SYS_writev, e.pipe_w, &iov, 1);
}

}  // namespace

std::vector<Row> const& FsRows() {
    static std::vector<Row> const rows = {
        {"read_buf", [](E& e, void* p) { return syscall(SYS_read, e.file, p, 64); }},
        {"read_pipe_buf", [](E& e, void* p) { return syscall(SYS_read, e.pipe_r, p, 8); }},
        {"pread64_buf", [](E& e, void* p) { return syscall(SYS_pread64, e.file, p, 64, 0); }},
        {"write_pipe_buf", [](E& e, void* p) { return syscall(SYS_write, e.pipe_w, p, 8); }},
        {"write_file_buf", [](E& e, void* p) { return syscall(SYS_write, e.scratch_file_fd, p, 8); }},
        {"pwrite64_buf", [](E& e, void* p) { return syscall(SYS_pwrite64, e.scratch_file_fd, p, 8, 0); }},
        {"readv_iov", [](E& e, void* p) { return syscall(SYS_readv, e.pipe_r, p, 1); }},
        {"readv_base", ReadvBase},
        {"writev_iov", [](E& e, void* p) { return syscall(SYS_writev, e.pipe_w, p, 1); }},
        {"writev_base", WritevBase},
        {"open_path", [](E&, void* p) { return syscall(SYS_open, p, O_RDONLY | O_CLOEXEC); }},
        {"openat_path", [](E&, void* p) { return syscall(SYS_openat, AT_FDCWD, p, O_RDONLY | O_CLOEXEC); }},
        {"creat_path", [](E&, void* p) { return syscall(SYS_creat, p, 0600); }},
        {"stat_path", [](E& e, void* p) { return syscall(SYS_stat, p, e.good); }},
        {"stat_buf", [](E& e, void* p) { return syscall(SYS_stat, Path(e), p); }},
        {"lstat_path", [](E& e, void* p) { return syscall(SYS_lstat, p, e.good); }},
        {"lstat_buf", [](E& e, void* p) { return syscall(SYS_lstat, Path(e), p); }},
        {"fstat_buf", [](E& e, void* p) { return syscall(SYS_fstat, e.file, p); }},
        {"newfstatat_path", [](E& e, void* p) { return syscall(SYS_newfstatat, AT_FDCWD, p, e.good, 0); }},
        {"newfstatat_buf", [](E& e, void* p) { return syscall(SYS_newfstatat, AT_FDCWD, Path(e), p, 0); }},
        {"statx_path",
         [](E& e, void* p) { return syscall(SYS_statx, AT_FDCWD, p, 0, STATX_BASIC_STATS, e.good); }},
        {"statx_buf",
         [](E& e, void* p) { return syscall(SYS_statx, AT_FDCWD, Path(e), 0, STATX_BASIC_STATS, p); }},
        {"access_path", [](E&, void* p) { return syscall(SYS_access, p, F_OK); }},
        {"faccessat_path", [](E&, void* p) { return syscall(SYS_faccessat, AT_FDCWD, p, R_OK); }},
        {"readlink_path", [](E& e, void* p) { return syscall(SYS_readlink, p, e.good, 64); }},
        {"readlink_buf", [](E&, void* p) { return syscall(SYS_readlink, "/proc/self/exe", p, 64); }},
        {"readlinkat_buf",
         [](E&, void* p) { return syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", p, 64); }},
        {"getdents64_buf",
         [](E& e, void* p) {
             int dir = open(e.scratch.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
             long rc = syscall(SYS_getdents64, dir, p, 4096);
             int err = errno;
             close(dir);
             errno = err;
             return rc;
         }},
        {"getcwd_buf", [](E&, void* p) { return syscall(SYS_getcwd, p, 4096); }},
        {"chdir_path", [](E&, void* p) { return syscall(SYS_chdir, p); }},
        {"mkdir_path", [](E&, void* p) { return syscall(SYS_mkdir, p, 0700); }},
        {"mkdirat_path", [](E&, void* p) { return syscall(SYS_mkdirat, AT_FDCWD, p, 0700); }},
        {"rmdir_path", [](E&, void* p) { return syscall(SYS_rmdir, p); }},
        {"unlink_path", [](E&, void* p) { return syscall(SYS_unlink, p); }},
        {"unlinkat_path", [](E&, void* p) { return syscall(SYS_unlinkat, AT_FDCWD, p, 0); }},
        {"rename_old", [](E& e, void* p) { return syscall(SYS_rename, p, Child(e, "moved").c_str()); }},
        {"rename_new", [](E& e, void* p) { return syscall(SYS_rename, Path(e), p); }},
        {"renameat_old",
         [](E& e, void* p) { return syscall(SYS_renameat, AT_FDCWD, p, AT_FDCWD, Child(e, "moved").c_str()); }},
        {"renameat_new", [](E& e, void* p) { return syscall(SYS_renameat, AT_FDCWD, Path(e), AT_FDCWD, p); }},
        {"link_old", [](E& e, void* p) { return syscall(SYS_link, p, Child(e, "link").c_str()); }},
        {"link_new", [](E& e, void* p) { return syscall(SYS_link, Path(e), p); }},
        {"symlink_target", [](E& e, void* p) { return syscall(SYS_symlink, p, Child(e, "sym").c_str()); }},
        {"symlink_linkpath", [](E& e, void* p) { return syscall(SYS_symlink, Path(e), p); }},
        {"chmod_path", [](E&, void* p) { return syscall(SYS_chmod, p, 0600); }},
        {"fchmodat_path", [](E&, void* p) { return syscall(SYS_fchmodat, AT_FDCWD, p, 0600); }},
        {"truncate_path", [](E&, void* p) { return syscall(SYS_truncate, p, 0); }},
        // NULL with AT_FDCWD is still a path to read (only a NULL path with a real fd means the fd).
        {"utimensat_path", [](E&, void* p) { return syscall(SYS_utimensat, AT_FDCWD, p, nullptr, 0); }},
        // NULL times means "now".
        {"utimensat_times", [](E& e, void* p) { return syscall(SYS_utimensat, AT_FDCWD, Path(e), p, 0); },
         kEfault.With(kNull, kSucceeds)},
        {"pipe_fds", [](E&, void* p) { return syscall(SYS_pipe, p); }},
        {"pipe2_fds", [](E&, void* p) { return syscall(SYS_pipe2, p, O_CLOEXEC); }},
        {"ioctl_fionread", [](E& e, void* p) { return syscall(SYS_ioctl, e.pipe_r, FIONREAD, p); }},
        {"ioctl_tcgets", [](E& e, void* p) { return syscall(SYS_ioctl, e.PtyMaster(), TCGETS, p); }},
        {"ioctl_tcsets", [](E& e, void* p) { return syscall(SYS_ioctl, e.PtyMaster(), TCSETS, p); }},
        {"ioctl_tiocgwinsz", [](E& e, void* p) { return syscall(SYS_ioctl, e.PtyMaster(), TIOCGWINSZ, p); }},
    };
    return rows;
}

}  // namespace moat::security
