// The fs syscall handlers (syscalls/sys_{open,read_write,stat,dir,fd,ioctl}.cc) called on a
// test Task: a real Kernel over a fake platform, a VFS rooted at a temp dir, app memory in
// an anonymous mapping.

#include "fs/fd_table.h"
#include "fs/fs_context.h"
#include "fs/testing/temp_tree.h"
#include "fs/vfs.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/mm/memory_manager.h"
#include "sentry/mm/mm_test_util.h"
#include "syscalls/handlers.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <cstring>
#include <set>

namespace moat::fs {
namespace {

using syscalls::SyscallArgs;
using syscalls::SyscallResult;

class FsSyscallsTest : public ::testing::Test {
protected:
    void SetUp() override {
        t.Dir("bin");
        t.File("bin/tool", "#!/bin/sh\necho hi\n", 0755);
        t.File("data", "0123456789", 0644);
        t.Dir("d");
        t.File("d/a", "");
        t.Dir("d/b");
        t.Link("lnk", "data");
        t.Dir("proc");

        auto mf = mm::MemoryFile::Create(1ull << 30).release_value();
        auto platform = std::make_unique<mm::testing::FakePlatform>(mf->fd(), 1ull << 32);
        mm = mm::MemoryManager::Create(*mf, *platform).release_value();
        VfsOptions opts;
        opts.host_root = t.root();
        auto vfs = Vfs::Create(opts).release_value();
        vfs->set_memory_file(mf.get());
        auto k = kernel::Kernel::Create(std::move(platform), std::move(mf), std::move(vfs), {});
        ASSERT_TRUE(k.ok()) << k.error();
        kern = k.release_value();
        tg = std::make_shared<kernel::ThreadGroup>(*kern, 7, 1);
        task = std::make_unique<kernel::Task>(*kern, tg, 7);
        task->set_mm(mm);
        task->set_fd_table(std::make_shared<FdTable>());
        task->set_fs_context(FsContext::Create(kern->vfs(), "/").release_value());
        mm->layout().exe_path = "/bin/tool";
        mm::MmapRequest req = mm::testing::Anon(1 << 20);
        base = mm->Mmap(req).release_value();
        next = base;
    }

    void TearDown() override {
        // Everything holding memory-file frames goes before the kernel (which owns the file).
        task.reset();
        tg.reset();
        mm.reset();
        kern.reset();
    }

    // Copies bytes into app memory; returns their address.
    uint64_t Put(const void* data, size_t len) {
        uint64_t at = next;
        EXPECT_TRUE(mm->CopyOut(mm::UserAddr(at), data, len).ok());
        next += (len + 15) & ~size_t{15};
        return at;
    }
    uint64_t Str(const std::string& s) { return Put(s.c_str(), s.size() + 1); }
    uint64_t Buf(size_t len) {
        uint64_t at = next;
        next += (len + 15) & ~size_t{15};
        return at;
    }
    std::string Get(uint64_t addr, size_t len) {
        std::string s(len, '\0');
        EXPECT_TRUE(mm->CopyIn(mm::UserAddr(addr), s.data(), len).ok());
        return s;
    }
    template <typename T>
    T GetObj(uint64_t addr) {
        T v;
        EXPECT_TRUE(mm->CopyIn(mm::UserAddr(addr), &v, sizeof(T)).ok());
        return v;
    }

    using Fn = SyscallResult (*)(kernel::Task&, const SyscallArgs&);
    // The syscall's return as Linux would put it in rax: value or -errno.
    int64_t Call(Fn fn, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0, uint64_t a4 = 0,
                 uint64_t a5 = 0) {
        EXPECT_NE(fn, nullptr);
        SyscallArgs args{a0, a1, a2, a3, a4, a5};
        auto r = fn(*task, args);
        return r.ok() ? static_cast<int64_t>(*r) : -r.error();
    }
    int64_t Open(const std::string& path, int flags) {
        return Call(syscalls::sys_openat, static_cast<uint64_t>(AT_FDCWD), Str(path), static_cast<uint64_t>(flags));
    }

    testing::TempTree t;
    std::shared_ptr<mm::MemoryManager> mm;
    std::unique_ptr<kernel::Kernel> kern;
    std::shared_ptr<kernel::ThreadGroup> tg;
    std::unique_ptr<kernel::Task> task;
    uint64_t base = 0, next = 0;
};

TEST_F(FsSyscallsTest, OpenReadSeekClose) {
    int64_t fd = Open("/data", O_RDONLY);
    ASSERT_GE(fd, 0);
    uint64_t buf = Buf(64);
    EXPECT_EQ(Call(syscalls::sys_read, fd, buf, 4), 4);
    EXPECT_EQ(Get(buf, 4), "0123");
    EXPECT_EQ(Call(syscalls::sys_lseek, fd, 8, SEEK_SET), 8);
    EXPECT_EQ(Call(syscalls::sys_read, fd, buf, 64), 2);
    EXPECT_EQ(Call(syscalls::sys_read, fd, buf, 64), 0);
    EXPECT_EQ(Call(syscalls::sys_pread64, fd, buf, 3, 2), 3);
    EXPECT_EQ(Get(buf, 3), "234");
    EXPECT_EQ(Call(syscalls::sys_pread64, fd, buf, 3, static_cast<uint64_t>(-1)), -EINVAL);
    EXPECT_EQ(Call(syscalls::sys_lseek, fd, 0, 7), -EINVAL);
    EXPECT_EQ(Call(syscalls::sys_lseek, fd, static_cast<uint64_t>(-20), SEEK_END), -EINVAL);
    EXPECT_EQ(Call(syscalls::sys_write, fd, buf, 1), -EBADF);
    EXPECT_EQ(Call(syscalls::sys_close, fd), 0);
    EXPECT_EQ(Call(syscalls::sys_close, fd), -EBADF);
    EXPECT_EQ(Call(syscalls::sys_read, fd, buf, 1), -EBADF);
}

TEST_F(FsSyscallsTest, ReadErrors) {
    int64_t fd = Open("/data", O_RDONLY);
    int64_t dir = Open("/d", O_RDONLY | O_DIRECTORY);
    int64_t path = Open("/data", O_PATH);
    uint64_t buf = Buf(64);
    EXPECT_EQ(Call(syscalls::sys_read, fd, 0, 4), -EFAULT);
    EXPECT_EQ(Call(syscalls::sys_read, fd, buf, ~0ull), -EFAULT);  // access_ok fails
    // A count far beyond the file is clamped, not allocated.
    EXPECT_EQ(Call(syscalls::sys_read, fd, buf, (1ull << 46) - buf), 10);
    EXPECT_EQ(Call(syscalls::sys_read, dir, buf, 4), -EISDIR);
    EXPECT_EQ(Call(syscalls::sys_read, dir, buf, 0), -EISDIR);
    EXPECT_EQ(Call(syscalls::sys_pread64, dir, buf, 4, 0), -EISDIR);
    EXPECT_EQ(Call(syscalls::sys_read, path, buf, 4), -EBADF);
    EXPECT_EQ(Call(syscalls::sys_read, 99, buf, 4), -EBADF);
    EXPECT_EQ(Call(syscalls::sys_lseek, path, 0, SEEK_SET), -EBADF);
    EXPECT_EQ(Call(syscalls::sys_readv, fd, buf, 1025), -EINVAL);
    EXPECT_EQ(Call(syscalls::sys_readv, fd, buf, 0), 0);
}

TEST_F(FsSyscallsTest, Readv) {
    int64_t fd = Open("/data", O_RDONLY);
    uint64_t b1 = Buf(3), b2 = Buf(4);
    struct iovec iov[2] = {{reinterpret_cast<void*>(b1), 3}, {reinterpret_cast<void*>(b2), 4}};
    uint64_t iov_addr = Put(iov, sizeof(iov));
    EXPECT_EQ(Call(syscalls::sys_readv, fd, iov_addr, 2), 7);
    EXPECT_EQ(Get(b1, 3), "012");
    EXPECT_EQ(Get(b2, 4), "3456");
    EXPECT_EQ(Call(syscalls::sys_preadv, fd, iov_addr, 2, 5), 5);
    EXPECT_EQ(Get(b1, 3), "567");
    EXPECT_EQ(Get(b2, 2), "89");
    struct iovec bad[1] = {{reinterpret_cast<void*>(b1), static_cast<size_t>(-1)}};
    EXPECT_EQ(Call(syscalls::sys_readv, fd, Put(bad, sizeof(bad)), 1), -EINVAL);
}

TEST_F(FsSyscallsTest, OpenErrnos) {
    EXPECT_EQ(Open("/data", O_WRONLY), -EROFS);
    EXPECT_EQ(Open("/new", O_WRONLY | O_CREAT), -EROFS);
    EXPECT_EQ(Open("/data", O_WRONLY | O_CREAT | O_EXCL), -EEXIST);
    EXPECT_EQ(Call(syscalls::sys_creat, Str("/data"), 0644), -EROFS);
    EXPECT_EQ(Open("/lnk", O_RDONLY | O_NOFOLLOW), -ELOOP);
    EXPECT_EQ(Open("", O_RDONLY), -ENOENT);
    EXPECT_EQ(Open(std::string(4096, 'a'), O_RDONLY), -ENAMETOOLONG);
    EXPECT_EQ(Call(syscalls::sys_openat, static_cast<uint64_t>(AT_FDCWD), 0, O_RDONLY), -EFAULT);
    EXPECT_EQ(Call(syscalls::sys_openat, 55, Str("data"), O_RDONLY), -EBADF);
    int64_t file = Open("/data", O_RDONLY);
    EXPECT_EQ(Call(syscalls::sys_openat, file, Str("x"), O_RDONLY), -ENOTDIR);
    int64_t dir = Open("/d", O_RDONLY);
    EXPECT_GE(Call(syscalls::sys_openat, dir, Str("a"), O_RDONLY), 0);
    EXPECT_GE(Call(syscalls::sys_openat, 55, Str("/data"), O_RDONLY), 0);  // absolute ignores dirfd
}

TEST_F(FsSyscallsTest, Getdents64Layout) {
    int64_t dir = Open("/d", O_RDONLY | O_DIRECTORY);
    uint64_t buf = Buf(4096);
    EXPECT_EQ(Call(syscalls::sys_getdents64, dir, buf, 10), -EINVAL);
    int64_t n = Call(syscalls::sys_getdents64, dir, buf, 4096);
    ASSERT_GT(n, 0);
    const int64_t n64 = n;
    std::string raw = Get(buf, static_cast<size_t>(n));
    std::set<std::string> names;
    for (int64_t pos = 0; pos < n;) {
        auto* d = reinterpret_cast<const struct dirent64*>(raw.data() + pos);
        EXPECT_EQ(d->d_reclen % 8, 0);
        names.insert(d->d_name);
        if (std::string(d->d_name) == "b") {
            EXPECT_EQ(d->d_type, DT_DIR);
        }
        if (std::string(d->d_name) == "a") {
            EXPECT_EQ(d->d_type, DT_REG);
        }
        pos += d->d_reclen;
    }
    EXPECT_EQ(names, (std::set<std::string>{".", "..", "a", "b"}));
    EXPECT_EQ(Call(syscalls::sys_getdents64, dir, buf, 4096), 0);
    int64_t file = Open("/data", O_RDONLY);
    EXPECT_EQ(Call(syscalls::sys_getdents64, file, buf, 4096), -ENOTDIR);
    // Old layout: d_type in the record's last byte.
    EXPECT_EQ(Call(syscalls::sys_lseek, dir, 0, SEEK_SET), 0);
    n = Call(syscalls::sys_getdents, dir, buf, 4096);
    ASSERT_GT(n, 0);
    raw = Get(buf, static_cast<size_t>(n));
    int seen = 0;
    for (int64_t pos = 0; pos < n; ++seen) {
        uint16_t reclen;
        memcpy(&reclen, raw.data() + pos + 16, 2);
        std::string name(raw.data() + pos + 18);
        uint8_t type = static_cast<uint8_t>(raw[pos + reclen - 1]);
        if (name == "b") {
            EXPECT_EQ(type, DT_DIR);
        }
        if (name == "a") {
            EXPECT_EQ(type, DT_REG);
        }
        pos += reclen;
    }
    EXPECT_EQ(seen, 4);
    EXPECT_EQ(Call(syscalls::sys_getdents64, dir, 0, 4096), 0);  // at the end nothing is written
    EXPECT_EQ(Call(syscalls::sys_lseek, dir, 0, SEEK_SET), 0);
    EXPECT_EQ(Call(syscalls::sys_getdents64, dir, 0, 4096), -EFAULT);
    EXPECT_EQ(Call(syscalls::sys_getdents64, dir, buf, 4096), n64);  // the fault did not advance
}

TEST_F(FsSyscallsTest, StatFamily) {
    struct stat host;
    ASSERT_EQ(lstat(t.Path("data").c_str(), &host), 0);
    uint64_t buf = Buf(sizeof(struct stat));
    EXPECT_EQ(Call(syscalls::sys_stat, Str("/lnk"), buf), 0);
    auto st = GetObj<struct stat>(buf);
    EXPECT_EQ(st.st_ino, host.st_ino);
    EXPECT_EQ(st.st_size, 10);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(Call(syscalls::sys_lstat, Str("/lnk"), buf), 0);
    EXPECT_TRUE(S_ISLNK(GetObj<struct stat>(buf).st_mode));
    int64_t fd = Open("/data", O_PATH);
    EXPECT_EQ(Call(syscalls::sys_fstat, fd, buf), 0);
    EXPECT_EQ(GetObj<struct stat>(buf).st_ino, host.st_ino);
    EXPECT_EQ(Call(syscalls::sys_newfstatat, fd, Str(""), buf, AT_EMPTY_PATH), 0);
    EXPECT_EQ(Call(syscalls::sys_newfstatat, fd, Str(""), buf, 0), -ENOENT);
    EXPECT_EQ(Call(syscalls::sys_newfstatat, static_cast<uint64_t>(AT_FDCWD), Str("d"), buf, 0x100000), -EINVAL);
    EXPECT_EQ(Call(syscalls::sys_stat, Str("/data"), 0), -EFAULT);
    EXPECT_EQ(Call(syscalls::sys_stat, Str("/nope"), buf), -ENOENT);

    uint64_t sx = Buf(sizeof(struct statx));
    EXPECT_EQ(Call(syscalls::sys_statx, static_cast<uint64_t>(AT_FDCWD), Str("/data"), 0, STATX_BASIC_STATS, sx), 0);
    auto x = GetObj<struct statx>(sx);
    EXPECT_EQ(x.stx_mask & STATX_BASIC_STATS, static_cast<unsigned>(STATX_BASIC_STATS));
    EXPECT_EQ(x.stx_ino, host.st_ino);
    EXPECT_EQ(x.stx_size, 10u);
    EXPECT_EQ(Call(syscalls::sys_statx, static_cast<uint64_t>(AT_FDCWD), Str("/"), 0, 0, sx), 0);
    EXPECT_TRUE(GetObj<struct statx>(sx).stx_attributes & STATX_ATTR_MOUNT_ROOT);
    EXPECT_EQ(Call(syscalls::sys_statx, static_cast<uint64_t>(AT_FDCWD), Str("/d"), 0, 0x80000000u, sx), -EINVAL);
    EXPECT_EQ(Call(syscalls::sys_statx, static_cast<uint64_t>(AT_FDCWD), Str("/d"), 0x6000, 0x7ff, sx), -EINVAL);
}

TEST_F(FsSyscallsTest, AccessFamily) {
    EXPECT_EQ(Call(syscalls::sys_access, Str("/data"), R_OK), 0);
    EXPECT_EQ(Call(syscalls::sys_access, Str("/data"), W_OK), -EROFS);
    EXPECT_EQ(Call(syscalls::sys_access, Str("/data"), X_OK), -EACCES);
    EXPECT_EQ(Call(syscalls::sys_access, Str("/bin/tool"), X_OK), 0);
    EXPECT_EQ(Call(syscalls::sys_access, Str("/nope"), F_OK), -ENOENT);
    EXPECT_EQ(Call(syscalls::sys_faccessat, static_cast<uint64_t>(AT_FDCWD), Str("d"), 8), -EINVAL);
    EXPECT_EQ(Call(syscalls::sys_faccessat2, static_cast<uint64_t>(AT_FDCWD), Str("d"), 0, 0x1), -EINVAL);
    EXPECT_EQ(Call(syscalls::sys_faccessat2, static_cast<uint64_t>(AT_FDCWD), Str(""), 0, AT_EMPTY_PATH), 0);
    EXPECT_EQ(Call(syscalls::sys_faccessat2, static_cast<uint64_t>(AT_FDCWD), Str("lnk"), 0,
                   AT_SYMLINK_NOFOLLOW | AT_EACCESS),
              0);
}

TEST_F(FsSyscallsTest, ReadlinkAndProcSelfExe) {
    uint64_t buf = Buf(256);
    EXPECT_EQ(Call(syscalls::sys_readlink, Str("/proc/self/exe"), buf, 256), 9);
    EXPECT_EQ(Get(buf, 9), "/bin/tool");
    EXPECT_EQ(Call(syscalls::sys_readlink, Str("/proc/self"), buf, 256), 1);
    EXPECT_EQ(Get(buf, 1), "7");
    EXPECT_EQ(Call(syscalls::sys_readlink, Str("/proc/7/exe"), buf, 4), 4);
    EXPECT_EQ(Get(buf, 4), "/bin");
    EXPECT_EQ(Call(syscalls::sys_readlink, Str("/lnk"), buf, 0), -EINVAL);
    EXPECT_EQ(Call(syscalls::sys_readlink, Str("/data"), buf, 256), -EINVAL);
    EXPECT_EQ(Call(syscalls::sys_readlink, Str("/proc/self/nope"), buf, 256), -ENOENT);
    int64_t lfd = Open("/lnk", O_PATH | O_NOFOLLOW);
    EXPECT_EQ(Call(syscalls::sys_readlinkat, lfd, Str(""), buf, 256), 4);
    EXPECT_EQ(Get(buf, 4), "data");
    EXPECT_EQ(Call(syscalls::sys_readlinkat, static_cast<uint64_t>(AT_FDCWD), Str(""), buf, 256), -ENOENT);
    // /proc/self/exe can be followed like any symlink.
    EXPECT_GE(Open("/proc/self/exe", O_RDONLY), 0);
}

TEST_F(FsSyscallsTest, CwdAndUmask) {
    uint64_t buf = Buf(64);
    EXPECT_EQ(Call(syscalls::sys_getcwd, buf, 64), 2);
    EXPECT_EQ(Get(buf, 2), std::string("/\0", 2));
    EXPECT_EQ(Call(syscalls::sys_chdir, Str("d/b")), 0);
    EXPECT_EQ(Call(syscalls::sys_getcwd, buf, 64), 5);
    EXPECT_EQ(Get(buf, 5), std::string("/d/b\0", 5));
    EXPECT_EQ(Call(syscalls::sys_getcwd, buf, 4), -ERANGE);
    EXPECT_EQ(Call(syscalls::sys_getcwd, 0, 64), -EFAULT);
    EXPECT_EQ(Call(syscalls::sys_chdir, Str("/data")), -ENOTDIR);
    EXPECT_EQ(Call(syscalls::sys_chdir, Str("/nope")), -ENOENT);
    EXPECT_GE(Open("../a", O_RDONLY), 0);  // relative to the new cwd
    int64_t root = Open("/", O_PATH);
    EXPECT_EQ(Call(syscalls::sys_fchdir, root), 0);
    EXPECT_EQ(Call(syscalls::sys_getcwd, buf, 64), 2);
    EXPECT_EQ(Call(syscalls::sys_fchdir, Open("/data", O_PATH)), -ENOTDIR);
    EXPECT_EQ(Call(syscalls::sys_fchdir, 77), -EBADF);
    EXPECT_EQ(Call(syscalls::sys_umask, 077), 022);
    EXPECT_EQ(Call(syscalls::sys_umask, 0), 077);
}

TEST_F(FsSyscallsTest, DupAndFcntl) {
    int64_t fd = Open("/data", O_RDONLY | O_CLOEXEC);
    EXPECT_EQ(Call(syscalls::sys_fcntl, fd, F_GETFD), FD_CLOEXEC);
    EXPECT_EQ(Call(syscalls::sys_fcntl, fd, F_GETFL), O_RDONLY | O_LARGEFILE);
    EXPECT_EQ(Call(syscalls::sys_fcntl, fd, F_SETFL, O_NONBLOCK | O_APPEND | O_RDWR), 0);
    EXPECT_EQ(Call(syscalls::sys_fcntl, fd, F_GETFL), O_RDONLY | O_LARGEFILE | O_NONBLOCK | O_APPEND);
    int64_t d = Call(syscalls::sys_dup, fd);
    EXPECT_GT(d, fd);
    EXPECT_EQ(Call(syscalls::sys_fcntl, d, F_GETFD), 0);
    EXPECT_EQ(Call(syscalls::sys_fcntl, fd, F_DUPFD_CLOEXEC, 10), 10);
    EXPECT_EQ(Call(syscalls::sys_fcntl, 10, F_GETFD), FD_CLOEXEC);
    EXPECT_EQ(Call(syscalls::sys_fcntl, fd, F_DUPFD, 1u << 30), -EINVAL);
    EXPECT_EQ(Call(syscalls::sys_dup3, fd, fd, 0), -EINVAL);
    EXPECT_EQ(Call(syscalls::sys_dup3, fd, 20, 1), -EINVAL);
    EXPECT_EQ(Call(syscalls::sys_dup3, fd, 20, O_CLOEXEC), 20);
    EXPECT_EQ(Call(syscalls::sys_dup2, fd, fd), fd);
    EXPECT_EQ(Call(syscalls::sys_dup2, 1000, 1000), -EBADF);
    EXPECT_EQ(Call(syscalls::sys_dup2, fd, 1u << 30), -EBADF);
    // The offset is shared between duplicates.
    uint64_t buf = Buf(8);
    EXPECT_EQ(Call(syscalls::sys_read, fd, buf, 3), 3);
    EXPECT_EQ(Call(syscalls::sys_lseek, 20, 0, SEEK_CUR), 3);
    int64_t p = Open("/data", O_PATH);
    EXPECT_EQ(Call(syscalls::sys_fcntl, p, F_GETFL), O_PATH);
    EXPECT_EQ(Call(syscalls::sys_fcntl, p, F_SETFL, O_NONBLOCK), -EBADF);
    EXPECT_EQ(Call(syscalls::sys_fcntl, fd, 9999), -EINVAL);
    EXPECT_EQ(Call(syscalls::sys_fcntl, 99, F_GETFD), -EBADF);
}

TEST_F(FsSyscallsTest, Ioctl) {
    int64_t fd = Open("/data", O_RDONLY);
    uint64_t n = Buf(sizeof(int));
    EXPECT_EQ(Call(syscalls::sys_ioctl, fd, FIONREAD, n), 0);
    EXPECT_EQ(GetObj<int>(n), 10);
    uint64_t buf = Buf(64);
    EXPECT_EQ(Call(syscalls::sys_ioctl, fd, TCGETS, buf), -ENOTTY);
    EXPECT_EQ(Call(syscalls::sys_ioctl, fd, TIOCGWINSZ, buf), -ENOTTY);
    EXPECT_EQ(Call(syscalls::sys_ioctl, Open("/d", O_RDONLY), FIONREAD, n), -ENOTTY);
    EXPECT_EQ(Call(syscalls::sys_ioctl, fd, FIOCLEX), 0);
    EXPECT_EQ(Call(syscalls::sys_fcntl, fd, F_GETFD), FD_CLOEXEC);
    EXPECT_EQ(Call(syscalls::sys_ioctl, fd, FIONCLEX), 0);
    EXPECT_EQ(Call(syscalls::sys_fcntl, fd, F_GETFD), 0);
    int one = 1;
    EXPECT_EQ(Call(syscalls::sys_ioctl, fd, FIONBIO, Put(&one, sizeof(one))), 0);
    EXPECT_TRUE(Call(syscalls::sys_fcntl, fd, F_GETFL) & O_NONBLOCK);
    EXPECT_EQ(Call(syscalls::sys_ioctl, fd, FIONBIO, 0), -EFAULT);
    EXPECT_EQ(Call(syscalls::sys_ioctl, Open("/data", O_PATH), FIOCLEX), -EBADF);
    EXPECT_EQ(Call(syscalls::sys_ioctl, 99, FIOCLEX), -EBADF);
}

TEST_F(FsSyscallsTest, MmapOfAHostFileSeesItsBytes) {
    int64_t fd = Open("/data", O_RDONLY);
    auto file = task->fd_table().Get(static_cast<int>(fd));
    ASSERT_TRUE(file.ok());
    auto m = (*file)->mappable();
    ASSERT_NE(m, nullptr);
    mm::MmapRequest req = mm::testing::FileMap(m, 4096, PROT_READ, MAP_PRIVATE);
    auto addr = mm->Mmap(req);
    ASSERT_TRUE(addr.ok()) << addr.error();
    EXPECT_EQ(Get(*addr, 10), "0123456789");
}

}  // namespace
}  // namespace moat::fs
