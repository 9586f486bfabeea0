// Escape probes (issue #7): privileged host operations a workload may try. Each must fail with
// the errno Linux gives an unprivileged container (ENOSYS where the host kernel is built
// without the feature, as the development VM's is for iopl, modules and kexec), and leave the
// host as it was (checked from outside by ../confinement_checks.sh). Registered
// natively as uid 65534 (the reference: what an unprivileged process gets from Linux) and
// under moat on every platform (where the workload is root inside its sandbox). Probes that need
// something from outside (a host pid, a host marker file, the host root's device number) read it
// from MOAT_PROBE_* variables that ../probe_checks.sh sets, and skip without them.

#include <gtest/gtest.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/reboot.h>
#include <sched.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/ptrace.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>

namespace {

// The call failed, with one of `errnos`.
::testing::AssertionResult FailedWith(long rc, std::initializer_list<int> errnos) {
    int err = errno;
    if (rc >= 0)
        return ::testing::AssertionFailure() << "succeeded (" << rc << ")";
    for (int e : errnos)
        if (e == err)
            return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "failed with " << strerrorname_np(err);
}

TEST(EscapeProbe, Iopl) { EXPECT_TRUE(FailedWith(syscall(SYS_iopl, 3), {EPERM, ENOSYS})); }

TEST(EscapeProbe, Ioperm) { EXPECT_TRUE(FailedWith(syscall(SYS_ioperm, 0x80, 1, 1), {EPERM, ENOSYS})); }

TEST(EscapeProbe, InitModule) {
    char image[64] = {};
    EXPECT_TRUE(FailedWith(syscall(SYS_init_module, image, sizeof(image), ""), {EPERM, ENOSYS}));
    EXPECT_TRUE(FailedWith(syscall(SYS_finit_module, 0, "", 0), {EPERM, ENOSYS}));
    EXPECT_TRUE(FailedWith(syscall(SYS_delete_module, "ext4", O_NONBLOCK), {EPERM, ENOSYS}));
}

TEST(EscapeProbe, KexecLoad) {
    EXPECT_TRUE(FailedWith(syscall(SYS_kexec_load, 0, 0, nullptr, 0), {EPERM, ENOSYS}));
}

TEST(EscapeProbe, Reboot) {
    EXPECT_TRUE(FailedWith(syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, nullptr),
                           {EPERM}));
}

TEST(EscapeProbe, Swapon) {
    EXPECT_TRUE(FailedWith(swapon("/dev/null", 0), {EPERM}));
    EXPECT_TRUE(FailedWith(swapoff("/dev/null"), {EPERM}));
}

TEST(EscapeProbe, Bpf) {
    char attr[128] = {};
    // BPF_PROG_LOAD of nothing: unprivileged bpf is off (EPERM) or the sandbox has none (ENOSYS).
    EXPECT_TRUE(FailedWith(syscall(SYS_bpf, 5, attr, sizeof(attr)), {EPERM, ENOSYS}));
}

TEST(EscapeProbe, PerfEventOpen) {
    char attr[128] = {};
    EXPECT_TRUE(FailedWith(syscall(SYS_perf_event_open, attr, -1, 0, -1, 0), {EACCES, EPERM, ENOSYS, ENOENT, EINVAL}));
}

TEST(EscapeProbe, Userfaultfd) {
    EXPECT_TRUE(FailedWith(syscall(SYS_userfaultfd, O_CLOEXEC), {EPERM, ENOSYS}));
}

TEST(EscapeProbe, MountHostDevice) {
    // The host's disks are not the sandbox's: no block device to mount, or no permission.
    EXPECT_TRUE(FailedWith(mount("/dev/vda", "/mnt", "ext4", MS_RDONLY, nullptr),
                           {EPERM, ENOENT, ENODEV, ENOTBLK, EACCES}));
    EXPECT_TRUE(FailedWith(mount("/dev/sda1", "/mnt", "ext4", MS_RDONLY, nullptr),
                           {EPERM, ENOENT, ENODEV, ENOTBLK, EACCES}));
}

TEST(EscapeProbe, SetnsIntoInit) {
    int fd = open("/proc/1/ns/mnt", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        GTEST_SKIP() << "no /proc/1/ns/mnt: " << strerrorname_np(errno);
    // Natively: PID 1 is the host's init (EPERM); under moat it is the sandbox's own.
    long rc = setns(fd, CLONE_NEWNS);
    int err = errno;
    close(fd);
    if (rc < 0) {
        EXPECT_TRUE(err == EPERM || err == EINVAL || err == ENOSYS) << strerrorname_np(err);
    }
}

TEST(EscapeProbe, OpenByHandleAt) {
    struct {
        unsigned int handle_bytes = 8;
        int handle_type = 1;
        unsigned char f_handle[8] = {2, 0, 0, 0, 0, 0, 0, 0};  // an ext4 root inode guess
    } handle;
    int mount_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(mount_fd, 0);
    EXPECT_TRUE(FailedWith(syscall(SYS_open_by_handle_at, mount_fd, &handle, O_RDONLY),
                           {EPERM, ENOSYS, EOPNOTSUPP, ESTALE, EINVAL}));
    close(mount_fd);
}

TEST(EscapeProbe, NameToHandleThenOpenByHandle) {
    // Linux lets anyone make a handle (name_to_handle_at), but opening one needs
    // CAP_DAC_READ_SEARCH in the host's namespace: a real handle must never open a file.
    struct {
        unsigned int handle_bytes = 128;
        int handle_type = 0;
        unsigned char f_handle[128] = {};
    } handle;
    int mount_id = 0;
    long rc = syscall(SYS_name_to_handle_at, AT_FDCWD, "/etc/os-release", &handle, &mount_id, 0);
    if (rc != 0) {
        EXPECT_TRUE(FailedWith(rc, {EOPNOTSUPP, ENOSYS, EPERM}));
    }
    int mount_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(mount_fd, 0);
    EXPECT_TRUE(FailedWith(syscall(SYS_open_by_handle_at, mount_fd, &handle, O_RDONLY),
                           {EPERM, ENOSYS, EOPNOTSUPP, ESTALE, EINVAL}));
    close(mount_fd);
}

// Makes a device node for `dev` and tries to read it: refused (EPERM natively), or a node
// that reaches no host device (Moat's device nodes open the sandbox's own devices only).
void ExpectDeviceNodeReachesNothing(mode_t type, dev_t dev, char const* what) {
    std::string path = std::string("/tmp/moat-probe-") + what + "." + std::to_string(getpid());
    if (mknod(path.c_str(), type | 0600, dev) != 0) {
        EXPECT_TRUE(FailedWith(-1, {EPERM})) << what;
        return;
    }
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    int err = errno;
    unlink(path.c_str());
    if (fd >= 0) {
        char buf[512];
        ssize_t n = read(fd, buf, sizeof(buf));
        close(fd);
        // /dev/null-like nodes of the sandbox's own may open; they must not give host bytes.
        EXPECT_LE(n, 0) << "read " << n << " bytes through a node for " << what;
        return;
    }
    EXPECT_TRUE(err == ENXIO || err == ENODEV || err == EPERM || err == EACCES) << what << ": " << strerrorname_np(err);
}

TEST(EscapeProbe, BlockDeviceNode) { ExpectDeviceNodeReachesNothing(S_IFBLK, makedev(8, 0), "sda"); }

TEST(EscapeProbe, CharDeviceNodeMem) { ExpectDeviceNodeReachesNothing(S_IFCHR, makedev(1, 1), "mem"); }

TEST(EscapeProbe, CharDeviceNodeKmem) { ExpectDeviceNodeReachesNothing(S_IFCHR, makedev(1, 2), "kmem"); }

TEST(EscapeProbe, HostRootDiskNode) {
    // "MAJOR:MINOR" of the disk behind the host's "/", from probe_checks.sh.
    char const* env = getenv("MOAT_PROBE_HOST_ROOT_DEV");
    unsigned major_number = 0, minor_number = 0;
    if (!env || sscanf(env, "%u:%u", &major_number, &minor_number) != 2)
        GTEST_SKIP() << "MOAT_PROBE_HOST_ROOT_DEV not set (probe_checks.sh host-disk sets it)";
    ExpectDeviceNodeReachesNothing(S_IFBLK, makedev(major_number, minor_number), "rootdisk");
}

TEST(EscapeProbe, WriteProcSelfExe) {
    // Linux: ETXTBSY for a running executable (EACCES first when we may not write it at all).
    EXPECT_TRUE(FailedWith(open("/proc/self/exe", O_WRONLY | O_CLOEXEC), {ETXTBSY, EACCES}));
    EXPECT_TRUE(FailedWith(open("/proc/self/exe", O_RDWR | O_TRUNC | O_CLOEXEC), {ETXTBSY, EACCES}));
}

TEST(EscapeProbe, ProcSelfRootIsOurRoot) {
    struct stat root, self_root;
    ASSERT_EQ(stat("/", &root), 0);
    ASSERT_EQ(stat("/proc/self/root", &self_root), 0);
    EXPECT_EQ(root.st_dev, self_root.st_dev);
    EXPECT_EQ(root.st_ino, self_root.st_ino);
    // "/.." is "/" itself.
    struct stat up;
    ASSERT_EQ(stat("/../../..", &up), 0);
    EXPECT_EQ(up.st_ino, root.st_ino);
}

TEST(EscapeProbe, FdExhaustionIsEmfile) {
    // Bounded by RLIMIT_NOFILE: EMFILE, and closing them makes fds available again.
    struct rlimit old;
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
    struct rlimit low = {64, old.rlim_max};
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
    int last = -1;
    for (int i = 0; i < 100; ++i) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            EXPECT_EQ(errno, EMFILE);
            break;
        }
        last = fd;
    }
    EXPECT_EQ(last, 63);
    for (int fd = 3; fd <= last; ++fd)
        close(fd);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
}

TEST(EscapeProbe, HugeMappingIsEnomem) {
    void* p = mmap(nullptr, size_t{1} << 50, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_EQ(p, MAP_FAILED);
    EXPECT_EQ(errno, ENOMEM);
}

// The classic chroot escape: keep an fd on "/", chroot into a subdirectory, fchdir back out
// through the fd, climb with "..", and chroot(".") where the climb ends. On Linux this takes root
// back to the real root; inside Moat the climb must end at the sandbox's own root. Natively, as
// uid 65534, chroot is EPERM. MOAT_PROBE_HOST_MARKER (probe_checks.sh chroot-escape) names a file
// in the host's /tmp, which the sandbox's own /tmp never shows.
TEST(EscapeProbe, ChrootFchdirEscape) {
    struct stat root_before;
    ASSERT_EQ(stat("/", &root_before), 0);
    std::string const suffix = std::to_string(getpid());
    std::string const inside_marker = "/tmp/moat-probe-inside." + suffix;
    std::string const jail = "/tmp/moat-probe-jail." + suffix;
    int marker_fd = open(inside_marker.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ASSERT_GE(marker_fd, 0) << strerrorname_np(errno);
    close(marker_fd);
    ASSERT_EQ(mkdir(jail.c_str(), 0700), 0) << strerrorname_np(errno);
    int saved_root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(saved_root, 0);
    char const* host_marker = getenv("MOAT_PROBE_HOST_MARKER");
    if (host_marker) {
        EXPECT_NE(access(host_marker, F_OK), 0) << "the host's marker is visible before any escape";
    }

    if (chroot(jail.c_str()) != 0) {
        EXPECT_TRUE(FailedWith(-1, {EPERM}));
    } else {
        ASSERT_EQ(fchdir(saved_root), 0) << strerrorname_np(errno);
        for (int i = 0; i < 64; ++i)
            ASSERT_EQ(chdir(".."), 0) << strerrorname_np(errno);
        ASSERT_EQ(chroot("."), 0) << strerrorname_np(errno);
        // Wherever the climb ended is the sandbox's root: same inode, our marker still there.
        struct stat root_after;
        ASSERT_EQ(stat("/", &root_after), 0);
        EXPECT_EQ(root_after.st_dev, root_before.st_dev);
        EXPECT_EQ(root_after.st_ino, root_before.st_ino);
        EXPECT_EQ(access(inside_marker.c_str(), F_OK), 0) << "the sandbox's /tmp is gone: escaped?";
        if (host_marker) {
            EXPECT_NE(access(host_marker, F_OK), 0) << "reached the host's /tmp";
        }
        struct stat cwd, dotdot;
        ASSERT_EQ(stat(".", &cwd), 0);
        ASSERT_EQ(stat("..", &dotdot), 0);
        EXPECT_EQ(cwd.st_ino, dotdot.st_ino) << "the climb did not end at a root";
        EXPECT_EQ(cwd.st_ino, root_before.st_ino);
    }
    close(saved_root);
    rmdir(jail.c_str());
    unlink(inside_marker.c_str());
}

// A host process is out of reach: probe_checks.sh host-ptrace starts a host `sleep` and passes
// its pid. Under moat (MOAT_PROBE_HOST_PID_OUTSIDE=1) the pid does not exist in the sandbox:
// ESRCH, and no /proc entry (ENOSYS for calls the sandbox does not offer at all). Natively, as
// uid 65534, it exists but belongs to root: EPERM.
TEST(EscapeProbe, HostProcessIsOutOfReach) {
    char const* env = getenv("MOAT_PROBE_HOST_PID");
    if (!env)
        GTEST_SKIP() << "MOAT_PROBE_HOST_PID not set (probe_checks.sh host-ptrace sets it)";
    pid_t const pid = static_cast<pid_t>(atoi(env));
    ASSERT_GT(pid, 1);
    ASSERT_NE(pid, getpid());
    bool const outside = getenv("MOAT_PROBE_HOST_PID_OUTSIDE") != nullptr;
    int const absent = outside ? ESRCH : EPERM;

    EXPECT_TRUE(FailedWith(kill(pid, 0), {absent}));
    EXPECT_TRUE(FailedWith(kill(pid, SIGKILL), {absent}));
    EXPECT_TRUE(FailedWith(ptrace(PTRACE_ATTACH, pid, nullptr, nullptr), {absent, ENOSYS}));
    EXPECT_TRUE(FailedWith(ptrace(PTRACE_SEIZE, pid, nullptr, nullptr), {absent, ENOSYS}));
    char buf[64];
    iovec local = {buf, sizeof(buf)};
    iovec remote = {reinterpret_cast<void*>(0x400000), sizeof(buf)};
    EXPECT_TRUE(FailedWith(syscall(SYS_process_vm_readv, pid, &local, 1, &remote, 1, 0), {absent, ENOSYS}));
    EXPECT_TRUE(FailedWith(syscall(SYS_process_vm_writev, pid, &local, 1, &remote, 1, 0), {absent, ENOSYS}));
    long pidfd = syscall(SYS_pidfd_open, pid, 0);
    if (outside) {
        EXPECT_TRUE(FailedWith(pidfd, {ESRCH, ENOSYS}));
    } else if (pidfd >= 0) {
        // Linux hands anyone a pidfd; signalling through it is what needs permission.
        EXPECT_TRUE(FailedWith(syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0), {EPERM}));
        close(static_cast<int>(pidfd));
    }
    std::string const proc = "/proc/" + std::to_string(pid);
    if (outside) {
        EXPECT_TRUE(FailedWith(access(proc.c_str(), F_OK), {ENOENT})) << proc;
    }
}

}  // namespace
