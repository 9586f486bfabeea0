// Escape probes (issue #7): privileged host operations a workload may try. Each must fail with
// the errno Linux gives an unprivileged container (ENOSYS where the host kernel is built
// without the feature, as the development VM's is for iopl, modules and kexec), and leave the
// host as it was (checked from outside by ../confinement_checks.sh). Registered
// natively as uid 65534 (the reference: what an unprivileged process gets from Linux) and
// under moat on every platform (where the workload is root inside its sandbox).

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
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

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

TEST(EscapeProbe, BlockDeviceNode) {
    // A node for the host's first disk: refused, or a node that reaches no host device.
    std::string path = "/tmp/moat-probe-sda." + std::to_string(getpid());
    if (mknod(path.c_str(), S_IFBLK | 0600, makedev(8, 0)) != 0) {
        EXPECT_TRUE(FailedWith(-1, {EPERM}));
        return;
    }
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    int err = errno;
    unlink(path.c_str());
    if (fd >= 0) {
        char buf[512];
        ssize_t n = read(fd, buf, sizeof(buf));
        close(fd);
        FAIL() << "opened a host block device node; read gave " << n;
    }
    EXPECT_TRUE(err == ENXIO || err == ENODEV || err == EPERM || err == EACCES) << strerrorname_np(err);
}

TEST(EscapeProbe, CharDeviceNodeMem) {
    std::string path = "/tmp/moat-probe-mem." + std::to_string(getpid());
    if (mknod(path.c_str(), S_IFCHR | 0600, makedev(1, 1)) != 0) {
        EXPECT_TRUE(FailedWith(-1, {EPERM}));
        return;
    }
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    int err = errno;
    unlink(path.c_str());
    if (fd >= 0) {
        close(fd);
        FAIL() << "opened /dev/mem through a node of our own";
    }
    EXPECT_TRUE(err == ENXIO || err == ENODEV || err == EPERM || err == EACCES) << strerrorname_np(err);
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

}  // namespace
