// The path walk on a real host directory tree (a VFS rooted at a temp dir).

#include "fs/file.h"
#include "fs/fs_context.h"
#include "fs/io.h"
#include "fs/testing/temp_tree.h"
#include "fs/vfs/filesystem.h"
#include "fs/vfs.h"

#include <gtest/gtest.h>

#include <string>

namespace moat::fs {
namespace {

class VfsPathWalkTest : public ::testing::Test {
protected:
    void SetUp() override {
        t.Dir("etc");
        t.File("etc/passwd", "sandbox-passwd\n");
        t.Dir("dir");
        t.Dir("dir/sub");
        t.File("dir/file", "hello");
        t.Link("abs_passwd", "/etc/passwd");
        t.Link("rel_dir", "dir");
        t.Link("dir_slash", "dir/");
        t.Link("to_file", "dir/file");
        t.Link("loop", "loop");
        t.Link("ping", "pong");
        t.Link("pong", "ping");
        t.Link("dangling", "nowhere");
        t.Link("empty_up", "../../../../etc");
        t.Dir("proc");
        VfsOptions opts;
        opts.host_root = t.root();
        auto v = Vfs::Create(opts);
        ASSERT_TRUE(v.ok()) << v.error();
        vfs = v.release_value();
        root = vfs->root();
    }

    Result<VfsPath> Resolve(const std::string& path, unsigned flags = kWalkFollow, const FsCaller& caller = {}) {
        return vfs->Resolve(caller, root, root, path, flags);
    }
    Result<std::shared_ptr<File>> Open(const std::string& path, int flags, const FsCaller& caller = {}) {
        return vfs->OpenAt(caller, root, root, path, flags, 0644);
    }
    std::string ReadAll(File& f) {
        std::string out(4096, '\0');
        BufferDst dst(std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()), out.size()));
        auto n = f.Read(dst);
        EXPECT_TRUE(n.ok());
        out.resize(n.ok() ? *n : 0);
        return out;
    }
    int Errno(const std::string& path, unsigned flags = kWalkFollow) {
        auto r = Resolve(path, flags);
        return r.ok() ? 0 : r.error();
    }
    int OpenErrno(const std::string& path, int flags, const FsCaller& caller = {}) {
        auto r = Open(path, flags, caller);
        return r.ok() ? 0 : r.error();
    }

    testing::TempTree t;
    std::unique_ptr<Vfs> vfs;
    VfsPath root;
};

TEST_F(VfsPathWalkTest, ResolvesComponents) {
    auto p = Resolve("/dir/sub");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->inode().CachedAttr().ino, t.Ino("dir/sub"));
    EXPECT_EQ(AbsolutePath(*p), "/dir/sub");
    EXPECT_EQ(AbsolutePath(*Resolve("//dir///sub/./")), "/dir/sub");
    EXPECT_EQ(AbsolutePath(*Resolve("dir/sub/..")), "/dir");
}

TEST_F(VfsPathWalkTest, DentriesAreCached) {
    auto a = Resolve("/dir/file");
    auto b = Resolve("/dir/file");
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->dentry, b->dentry);
}

TEST_F(VfsPathWalkTest, DotDotAboveRootStaysInRoot) {
    auto p = Resolve("/../../../etc/passwd");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->inode().CachedAttr().ino, t.Ino("etc/passwd"));
    auto r = Resolve("..");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, root);
    // A symlink climbing out is confined too.
    auto e = Resolve("empty_up/passwd");
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->inode().CachedAttr().ino, t.Ino("etc/passwd"));
}

TEST_F(VfsPathWalkTest, AbsoluteSymlinkResolvesInsideVfsRoot) {
    auto p = Resolve("abs_passwd");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->inode().CachedAttr().ino, t.Ino("etc/passwd"));
    auto f = Open("/abs_passwd", O_RDONLY);
    ASSERT_TRUE(f.ok()) << f.error();
    EXPECT_EQ(ReadAll(**f), "sandbox-passwd\n");
}

TEST_F(VfsPathWalkTest, SymlinkLoopsAreEloop) {
    EXPECT_EQ(Errno("loop"), ELOOP);
    EXPECT_EQ(Errno("ping"), ELOOP);
    EXPECT_EQ(Errno("loop/x"), ELOOP);
    EXPECT_EQ(OpenErrno("loop", O_RDONLY), ELOOP);
    // Not following the final link is fine.
    EXPECT_EQ(Errno("loop", 0), 0);
}

TEST_F(VfsPathWalkTest, FortyLinksAllowedFortyOneNot) {
    // l0 -> dir, l1 -> l0, …: resolving l39 follows 40 links, l40 follows 41.
    t.Link("l0", "dir");
    for (int i = 1; i <= 40; ++i)
        t.Link("l" + std::to_string(i), "l" + std::to_string(i - 1));
    EXPECT_EQ(Errno("l39"), 0);
    EXPECT_EQ(Errno("l40"), ELOOP);
    EXPECT_EQ(Errno("l39/file"), 0);
}

TEST_F(VfsPathWalkTest, SymlinksFollowedInTheMiddle) {
    auto p = Resolve("rel_dir/file", 0);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->inode().CachedAttr().ino, t.Ino("dir/file"));
    // ".." after a symlink is the target's parent (physical walk).
    auto up = Resolve("rel_dir/sub/..", 0);
    ASSERT_TRUE(up.ok());
    EXPECT_EQ(up->inode().CachedAttr().ino, t.Ino("dir"));
}

TEST_F(VfsPathWalkTest, NoFollow) {
    EXPECT_EQ(OpenErrno("to_file", O_RDONLY | O_NOFOLLOW), ELOOP);
    auto p = Open("to_file", O_PATH | O_NOFOLLOW);
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE((*p)->inode()->is_symlink());
    EXPECT_EQ(OpenErrno("to_file", O_RDONLY), 0);
    // A trailing slash forces following.
    EXPECT_EQ(OpenErrno("rel_dir/", O_RDONLY | O_NOFOLLOW), 0);
    EXPECT_EQ(OpenErrno("to_file/", O_PATH | O_NOFOLLOW), ENOTDIR);
    EXPECT_EQ(OpenErrno("rel_dir", O_RDONLY | O_NOFOLLOW | O_DIRECTORY), ENOTDIR);
}

TEST_F(VfsPathWalkTest, TrailingSlashes) {
    EXPECT_EQ(Errno("dir/file/"), ENOTDIR);
    EXPECT_EQ(Errno("dir/"), 0);
    EXPECT_EQ(Errno("dir_slash"), 0);
    EXPECT_EQ(Errno("nonexistent/"), ENOENT);
    EXPECT_EQ(OpenErrno("dir/file/", O_RDONLY), ENOTDIR);
    EXPECT_EQ(OpenErrno("dir/file/", O_RDONLY | O_CREAT), EISDIR);
    EXPECT_EQ(OpenErrno("dir/new/", O_RDONLY | O_CREAT), EISDIR);
    EXPECT_EQ(OpenErrno("dir/new/", O_RDONLY), ENOENT);
    // lstat("link_to_dir/") follows.
    auto p = Resolve("rel_dir/", 0);
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p->inode().is_dir());
}

TEST_F(VfsPathWalkTest, NotADirectoryInTheMiddle) {
    EXPECT_EQ(Errno("dir/file/x"), ENOTDIR);
    EXPECT_EQ(Errno("dir/missing/x"), ENOENT);
    EXPECT_EQ(Errno("dangling"), ENOENT);
    EXPECT_EQ(Errno("dangling", 0), 0);
    EXPECT_EQ(Errno("dir/file", kWalkFollow | kWalkDirectory), ENOTDIR);
}

TEST_F(VfsPathWalkTest, NameTooLong) {
    EXPECT_EQ(Errno("dir/" + std::string(256, 'a')), ENAMETOOLONG);
    EXPECT_EQ(Errno("dir/" + std::string(255, 'a')), ENOENT);
    std::string longpath;
    while (longpath.size() < 4096)
        longpath += "dir/../";
    EXPECT_EQ(Errno(longpath), ENAMETOOLONG);
    EXPECT_EQ(OpenErrno(longpath, O_RDONLY), ENAMETOOLONG);
    EXPECT_EQ(Errno(longpath.substr(0, 4088) + "dir"), 0);  // 4091 bytes: fine
}

TEST_F(VfsPathWalkTest, EmptyPathIsEnoent) {
    EXPECT_EQ(Errno(""), ENOENT);
    EXPECT_EQ(OpenErrno("", O_RDONLY), ENOENT);
}

TEST_F(VfsPathWalkTest, OpenOnReadOnlyRootFollowsLinuxOrder) {
    EXPECT_EQ(OpenErrno("dir/new", O_WRONLY | O_CREAT), EROFS);
    EXPECT_EQ(OpenErrno("dir/file", O_WRONLY | O_CREAT | O_EXCL), EEXIST);
    EXPECT_EQ(OpenErrno("dangling", O_WRONLY | O_CREAT | O_EXCL), EEXIST);
    EXPECT_EQ(OpenErrno("dangling", O_WRONLY | O_CREAT), EROFS);
    EXPECT_EQ(OpenErrno("missing/new", O_WRONLY | O_CREAT), ENOENT);
    EXPECT_EQ(OpenErrno("dir/file", O_WRONLY), EROFS);
    EXPECT_EQ(OpenErrno("dir/file", O_RDONLY | O_TRUNC), EROFS);
    EXPECT_EQ(OpenErrno("dir/file", O_RDONLY | O_CREAT), 0);
    EXPECT_EQ(OpenErrno("dir", O_RDWR), EISDIR);
    EXPECT_EQ(OpenErrno("dir", O_RDONLY | O_CREAT), EISDIR);
    EXPECT_EQ(OpenErrno(".", O_RDONLY | O_CREAT), EISDIR);
    EXPECT_EQ(OpenErrno("dir", O_RDONLY | O_CREAT | O_DIRECTORY), EINVAL);
    EXPECT_EQ(OpenErrno("dir/file", O_RDONLY | O_DIRECTORY), ENOTDIR);
    EXPECT_EQ(OpenErrno("dir", O_WRONLY | O_TMPFILE), EROFS);
    EXPECT_EQ(OpenErrno("dir", O_RDONLY | O_TMPFILE), EINVAL);
}

TEST_F(VfsPathWalkTest, StatusFlags) {
    auto f = Open("dir/file", O_RDONLY | O_CLOEXEC | O_NOCTTY);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ((*f)->status_flags(), O_RDONLY | O_LARGEFILE);
    auto p = Open("dir/file", O_PATH | O_CLOEXEC | O_RDWR | O_APPEND);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ((*p)->status_flags(), O_PATH);
    EXPECT_FALSE((*p)->readable());
}

TEST_F(VfsPathWalkTest, PermissionsForNonRoot) {
    t.Dir("private", 0700);
    t.File("private/secret", "x", 0644);
    t.File("dir/mine", "x", 0600);
    t.File("dir/script", "x", 0644);
    kernel::Credentials user;
    user.ruid = user.euid = user.suid = user.fsuid = 1000;
    user.rgid = user.egid = user.sgid = user.fsgid = 1000;
    user.caps = {0, 0, 0, kernel::kAllCapabilities, 0};  // a user's process: no capabilities
    FsCaller caller{&user, nullptr};
    EXPECT_EQ(vfs->Resolve(caller, root, root, "private/secret", kWalkFollow).error(), EACCES);
    EXPECT_EQ(OpenErrno("dir/mine", O_RDONLY, caller), EACCES);
    EXPECT_EQ(OpenErrno("dir/file", O_RDONLY, caller), 0);
    auto script = Resolve("dir/script");
    ASSERT_TRUE(script.ok());
    EXPECT_EQ(vfs->Access(caller, *script, X_OK).error(), EACCES);
    EXPECT_EQ(vfs->Access(caller, *script, W_OK).error(), EROFS);
    EXPECT_TRUE(vfs->Access(caller, *script, R_OK).ok());
    // Root may read anything but executes only with some x bit.
    EXPECT_TRUE(vfs->Access(FsCaller{}, *Resolve("dir/mine"), R_OK).ok());
    EXPECT_EQ(vfs->Access(FsCaller{}, *script, X_OK).error(), EACCES);
}

TEST_F(VfsPathWalkTest, ProcIsMountedAndDotDotCrossesBack) {
    auto proc = Resolve("/proc");
    ASSERT_TRUE(proc.ok());
    EXPECT_TRUE(proc->is_mount_root());
    EXPECT_EQ(proc->mount->filesystem().name(), "proc");
    auto up = Resolve("/proc/..");
    ASSERT_TRUE(up.ok());
    EXPECT_EQ(*up, root);
    EXPECT_EQ(AbsolutePath(*proc), "/proc");
    // Without a task there is no /proc/self.
    EXPECT_EQ(Errno("/proc/self"), ENOENT);
    EXPECT_EQ(Errno("/proc/self", 0), 0);
    EXPECT_EQ(Errno("/proc/1"), ENOENT);
}

TEST_F(VfsPathWalkTest, ReadLink) {
    auto l = Resolve("abs_passwd", 0);
    ASSERT_TRUE(l.ok());
    auto target = vfs->ReadLink(FsCaller{}, *l);
    ASSERT_TRUE(target.ok());
    EXPECT_EQ(*target, "/etc/passwd");
    EXPECT_EQ(vfs->ReadLink(FsCaller{}, *Resolve("dir")).error(), EINVAL);
}

TEST_F(VfsPathWalkTest, FsContextCwdAndPathFrom) {
    auto ctx = FsContext::Create(*vfs, "rel_dir/sub");
    ASSERT_TRUE(ctx.ok());
    EXPECT_EQ(PathFrom((*ctx)->cwd(), (*ctx)->root()), "/dir/sub");
    EXPECT_EQ(FsContext::Create(*vfs, "dir/file").error(), ENOTDIR);
    EXPECT_EQ(FsContext::Create(*vfs, "nope").error(), ENOENT);
    // A cwd outside a chroot is unreachable.
    auto chroot = Resolve("dir");
    bool reachable = true;
    EXPECT_EQ(PathFrom(*Resolve("etc"), *chroot, &reachable), "/etc");
    EXPECT_FALSE(reachable);
    EXPECT_EQ(PathFrom(*Resolve("dir/sub"), *chroot, &reachable), "/sub");
    EXPECT_TRUE(reachable);
}

TEST_F(VfsPathWalkTest, CreateFailsForMissingRoot) {
    VfsOptions opts;
    opts.host_root = t.Path("does-not-exist");
    EXPECT_EQ(Vfs::Create(opts).error(), ENOENT);
    opts.host_root = t.Path("dir/file");
    EXPECT_EQ(Vfs::Create(opts).error(), ENOTDIR);
}

}  // namespace
}  // namespace moat::fs
