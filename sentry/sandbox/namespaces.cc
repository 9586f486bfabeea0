#include "sentry/sandbox/namespaces.h"

#include "platform/base/log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif

namespace moat::sandbox {
namespace {

// Writes `text` to a /proc/self file (uid_map, gid_map, setgroups).
Result<void> WriteProcSelf(const char* name, const std::string& text) {
    UniqueFd fd(::open((std::string("/proc/self/") + name).c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd)
        return HostErrno();
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        return HostErrno();
    return {};
}

// Our own uid and gid map to themselves: the sentry keeps its identity (host files of other
// owners read as the overflow id), and has every capability inside the namespace only.
Result<void> MapOwnIds(uid_t uid, gid_t gid) {
    TRY(WriteProcSelf("setgroups", "deny"));  // required before an unprivileged gid_map
    TRY(WriteProcSelf("uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1\n"));
    TRY(WriteProcSelf("gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1\n"));
    return {};
}

int NamespaceFlags(bool host_network) {
    int flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
    if (!host_network)
        flags |= CLONE_NEWNET;
    return flags;
}

// Mounts the FUSE connection `fuse` at /proc of the new root (cwd "/", still writable). The
// options: read-only; allow_other, since the reader (podman top, host root) is not the
// sentry's own uid when the sentry is rootless; default_permissions, so the host kernel checks
// the modes the server reports (a 0400 environ stays the owner's) and the server need not;
// rootmode is the procfs root's dr-xr-xr-x. user_id/group_id name the mount's owner: our own
// ids, the only ones mapped in a user namespace of our own.
Result<void> MountProcFuse(int fuse) {
    if (::mkdir("proc", 0555) != 0)
        return HostErrno();
    std::string data = fmt::format("fd={},rootmode=40555,user_id={},group_id={},allow_other,default_permissions",
                                   fuse, ::geteuid(), ::getegid());
    if (::mount("moat-proc", "proc", "fuse", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, data.c_str()) != 0) {
        int err = errno;
        ::rmdir("proc");  // the root stays empty
        return Errno(err);
    }
    return {};
}

}  // namespace

Result<void> UnshareNamespaces(bool host_network, bool* user_ns) {
    int flags = NamespaceFlags(host_network);
    *user_ns = false;
    if (::geteuid() == 0) {
        if (::unshare(flags) == 0)
            return {};
        if (errno != EPERM)
            return HostErrno();
    }
    uid_t uid = ::geteuid();
    gid_t gid = ::getegid();
    if (::unshare(CLONE_NEWUSER | flags) != 0)
        return HostErrno();
    *user_ns = true;
    return MapOwnIds(uid, gid);
}

Result<UniqueFd> CloneHostTree() {
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        return HostErrno();
    int fd = static_cast<int>(
        ::syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
    if (fd < 0)
        return HostErrno();
    return UniqueFd(fd);
}

Result<void> PivotToEmptyRoot(UniqueFd* proc_fuse) {
    // Any directory will do as the mount point: the mount is private to our namespace and
    // the host tree was cloned before, so nobody sees it.
    const char* dir = nullptr;
    for (const char* candidate : {"/tmp", "/mnt", "/dev", "/run"}) {
        struct stat st;
        if (::stat(candidate, &st) == 0 && S_ISDIR(st.st_mode)) {
            dir = candidate;
            break;
        }
    }
    if (!dir)
        return Errno(ENOENT);
    // /dev/fuse is reachable only before the pivot. Missing (no fuse module, a container
    // without the device): no /proc, and `podman top` will not work; never fatal.
    UniqueFd fuse;
    if (proc_fuse) {
        fuse = UniqueFd(::open("/dev/fuse", O_RDWR | O_CLOEXEC));
        if (!fuse)
            log::debug("sandbox: no /proc for the engine: /dev/fuse: {}", strerror(errno));
    }
    // Room for the root and the /proc mount point only.
    if (::mount("moat-root", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=3,mode=0555") != 0)
        return HostErrno();
    if (::chdir(dir) != 0)
        return HostErrno();
    // pivot_root(".", "."): the old root ends up stacked on the new one; detaching it leaves
    // the empty tmpfs as "/" (and moves every thread's root and cwd there).
    if (::syscall(SYS_pivot_root, ".", ".") != 0)
        return HostErrno();
    if (::umount2(".", MNT_DETACH) != 0)
        return HostErrno();
    if (::chdir("/") != 0)
        return HostErrno();
    if (fuse) {
        if (auto mounted = MountProcFuse(fuse.get()); mounted.ok())
            *proc_fuse = std::move(fuse);
        else
            log::debug("sandbox: no /proc for the engine: mount fuse: {}", strerror(mounted.error()));
    }
    if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                nullptr) != 0)
        return HostErrno();
    return {};
}

}  // namespace moat::sandbox
