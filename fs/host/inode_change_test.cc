// HostInode changes on a writable host filesystem in a temporary host directory: each
// operation checked against what the host then holds.

#include "fs/binds.h"
#include "fs/host/filesystem.h"
#include "fs/host/page_cache.h"
#include "fs/testing/temp_tree.h"
#include "fs/vfs.h"
#include "sentry/mm/memory_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace moat::fs {
namespace {

std::string ReadHost(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct stat LstatHost(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st;
}

bool HostExists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

// A read-only root (`root_tree`) with a writable bind of `bind_tree` at /mnt.
class HostInodeChangeTest : public ::testing::Test {
protected:
    void SetUp() override {
        root_tree.Dir("mnt");
        root_tree.File("target", "original", 0644);
        VfsOptions opts;
        opts.host_root = root_tree.root();
        vfs = Vfs::Create(opts).release_value();
        mf = mm::MemoryFile::Create(64ull << 20).release_value();
        vfs->set_memory_file(mf.get());
        BindSide side;
        ASSERT_TRUE(MountBind(*vfs, {bind_tree.root(), "/mnt", false}, &side).ok());
        top = vfs->root();
        mnt = Resolve("/mnt");
        dir = std::dynamic_pointer_cast<HostInode>(mnt.dentry->inode());
        ASSERT_NE(dir, nullptr);
    }
    VfsPath Resolve(const std::string& path) {
        auto p = vfs->Resolve({}, top, top, path, 0);
        EXPECT_TRUE(p.ok()) << path << ": " << p.error();
        return p.ok() ? *p : VfsPath{};
    }
    std::shared_ptr<File> Open(const std::string& path, int flags) {
        auto f = vfs->OpenAt({}, top, top, path, flags, 0);
        EXPECT_TRUE(f.ok()) << path << ": " << f.error();
        return f.ok() ? *f : nullptr;
    }
    static NewInode Attr(uint32_t mode) { return NewInode{mode, 0, 0, 0}; }
    static size_t Write(File& f, const std::string& data, uint64_t offset) {
        BufferSrc src(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
        auto n = f.PWrite(src, offset);
        EXPECT_TRUE(n.ok()) << n.error();
        return n.ok() ? *n : 0;
    }

    testing::TempTree root_tree, bind_tree;
    std::unique_ptr<mm::MemoryFile> mf;
    std::unique_ptr<Vfs> vfs;
    VfsPath top, mnt;
    std::shared_ptr<HostInode> dir;
    FsCaller caller;
};

TEST_F(HostInodeChangeTest, CreateGivesTheRequestedModeAndWritesReachTheHost) {
    ::umask(022);
    auto f = dir->Create(caller, "new", Attr(S_IFREG | 0666));
    ASSERT_TRUE(f.ok()) << f.error();
    EXPECT_TRUE((*f)->is_regular());
    EXPECT_EQ(LstatHost(bind_tree.Path("new")).st_mode, S_IFREG | 0666u);  // not the sentry's umask
    EXPECT_EQ(dir->Create(caller, "new", Attr(S_IFREG | 0644)).error(), EEXIST);

    auto file = Open("/mnt/new", O_RDWR);
    ASSERT_NE(file, nullptr);
    EXPECT_EQ(Write(*file, "hello, world", 0), 12u);
    EXPECT_EQ(Write(*file, "HELLO", 0), 5u);
    EXPECT_EQ(ReadHost(bind_tree.Path("new")), "HELLO, world");
    EXPECT_EQ((*f)->CachedAttr().size, 12);
    EXPECT_EQ((*f)->Stat()->size, 12);
}

TEST_F(HostInodeChangeTest, AppendWritesAtTheEnd) {
    bind_tree.File("log", "one\n");
    auto file = Open("/mnt/log", O_WRONLY | O_APPEND);
    ASSERT_NE(file, nullptr);
    EXPECT_EQ(Write(*file, "two\n", 0), 4u);
    BufferSrc src(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("three\n"), 6));
    EXPECT_EQ(*file->Write(src), 6u);
    EXPECT_EQ(ReadHost(bind_tree.Path("log")), "one\ntwo\nthree\n");
}

TEST_F(HostInodeChangeTest, ReadOnlyOpenCannotWrite) {
    bind_tree.File("ro", "data");
    auto file = Open("/mnt/ro", O_RDONLY);
    ASSERT_NE(file, nullptr);
    BufferSrc src(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("x"), 1));
    EXPECT_EQ(file->PWrite(src, 0).error(), EBADF);
    EXPECT_EQ(ReadHost(bind_tree.Path("ro")), "data");
}

TEST_F(HostInodeChangeTest, MkdirSymlinkLinkRenameUnlinkRmdir) {
    ASSERT_TRUE(dir->ReadDir(caller).ok());  // fill the listing cache
    auto sub = dir->Mkdir(caller, "sub", Attr(S_IFDIR | 0750));
    ASSERT_TRUE(sub.ok()) << sub.error();
    EXPECT_EQ(LstatHost(bind_tree.Path("sub")).st_mode, S_IFDIR | 0750u);
    auto listing = dir->ReadDir(caller);
    ASSERT_TRUE(listing.ok());
    ASSERT_EQ(listing->size(), 1u);  // the cached listing was dropped
    EXPECT_EQ((*listing)[0].name, "sub");

    auto link = dir->Symlink(caller, "ln", "../../target", Attr(S_IFLNK | 0777));
    ASSERT_TRUE(link.ok()) << link.error();
    char buf[64] = {};
    ASSERT_GT(::readlink(bind_tree.Path("ln").c_str(), buf, sizeof(buf)), 0);
    EXPECT_STREQ(buf, "../../target");

    auto file = dir->Create(caller, "a", Attr(S_IFREG | 0644));
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE(dir->Link(caller, "b", **file).ok());
    EXPECT_EQ(LstatHost(bind_tree.Path("b")).st_ino, LstatHost(bind_tree.Path("a")).st_ino);
    EXPECT_EQ((*file)->CachedAttr().nlink, 2u);

    auto* subdir = dynamic_cast<HostInode*>(sub->get());
    ASSERT_TRUE(dir->Rename(caller, "b", *subdir, "c", 0).ok());
    EXPECT_FALSE(HostExists(bind_tree.Path("b")));
    EXPECT_TRUE(HostExists(bind_tree.Path("sub/c")));
    EXPECT_EQ(dir->Rename(caller, "a", *subdir, "c", kRenameNoReplace).error(), EEXIST);
    ASSERT_TRUE(dir->Rename(caller, "ln", *subdir, "c", kRenameExchange).ok());
    EXPECT_TRUE(S_ISLNK(LstatHost(bind_tree.Path("sub/c")).st_mode));
    EXPECT_TRUE(S_ISREG(LstatHost(bind_tree.Path("ln")).st_mode));

    EXPECT_EQ(dir->Rmdir(caller, "sub").error(), ENOTEMPTY);
    EXPECT_EQ(dir->Unlink(caller, "sub").error(), EISDIR);
    EXPECT_EQ(dir->Rmdir(caller, "a").error(), ENOTDIR);
    ASSERT_TRUE(subdir->Unlink(caller, "c").ok());
    ASSERT_TRUE(dir->Rmdir(caller, "sub").ok());
    ASSERT_TRUE(dir->Unlink(caller, "a").ok());
    ASSERT_TRUE(dir->Unlink(caller, "ln").ok());
    EXPECT_EQ((*file)->Stat()->nlink, 0u);
    EXPECT_TRUE(dir->ReadDir(caller)->empty());
    // The unlinked file's inode left the table: a new file that reuses the host inode
    // number is a new inode.
    auto key = std::static_pointer_cast<HostInode>(*file)->key();
    EXPECT_EQ(dir->host_fs().LiveInode(key), nullptr);
}

TEST_F(HostInodeChangeTest, FifosButNeverDevices) {
    EXPECT_TRUE(dir->Create(caller, "fifo", Attr(S_IFIFO | 0600)).ok());
    EXPECT_TRUE(S_ISFIFO(LstatHost(bind_tree.Path("fifo")).st_mode));
    EXPECT_EQ(dir->Create(caller, "null", NewInode{S_IFCHR | 0666, 0, 0, makedev(1, 3)}).error(), EPERM);
    EXPECT_FALSE(HostExists(bind_tree.Path("null")));
    EXPECT_EQ(dir->Rename(caller, "fifo", *dir, "x", kRenameWhiteout).error(), EINVAL);
}

TEST_F(HostInodeChangeTest, SetAttrChangesTheHostFile) {
    bind_tree.File("f", "0123456789", 0644);
    auto f = std::dynamic_pointer_cast<HostInode>(Resolve("/mnt/f").dentry->inode());
    SetAttrRequest req;
    req.mask = SetAttrRequest::kMode | SetAttrRequest::kSize | SetAttrRequest::kMtime | SetAttrRequest::kUid |
               SetAttrRequest::kGid;
    req.mode = 04711;
    req.size = 4;
    req.mtime = {12345, 678};
    req.uid = ::getuid();
    req.gid = ::getgid();
    ASSERT_TRUE(f->SetAttr(caller, req).ok());
    struct stat st = LstatHost(bind_tree.Path("f"));
    EXPECT_EQ(st.st_mode & 07777, 04711u);
    EXPECT_EQ(st.st_size, 4);
    EXPECT_EQ(st.st_mtim.tv_sec, 12345);
    EXPECT_EQ(st.st_mtim.tv_nsec, 678);
    EXPECT_EQ(ReadHost(bind_tree.Path("f")), "0123");
    EXPECT_EQ(f->CachedAttr().size, 4);
    EXPECT_EQ(f->CachedAttr().mode & 07777, 04711u);

    // A directory and a symlink: times on the link itself, never its target.
    bind_tree.Link("l", "/nonexistent-target");
    auto l = Resolve("/mnt/l").dentry->inode();
    SetAttrRequest times;
    times.mask = SetAttrRequest::kAtime | SetAttrRequest::kMtime;
    times.atime = times.mtime = {1000, 0};
    ASSERT_TRUE(l->SetAttr(caller, times).ok());
    EXPECT_EQ(LstatHost(bind_tree.Path("l")).st_mtim.tv_sec, 1000);
}

TEST_F(HostInodeChangeTest, PageCacheFollowsWritesAndTruncation) {
    std::string data(2 * 4096 + 10, 'a');
    bind_tree.File("m", data);
    auto file = Open("/mnt/m", O_RDWR);
    auto cache = std::dynamic_pointer_cast<HostPageCache>(file->mappable());
    ASSERT_NE(cache, nullptr);
    uint64_t page0 = *cache->PageFrame(0);
    uint64_t page2 = *cache->PageFrame(2);
    Write(*file, "XYZ", 4095);  // across the first page boundary
    EXPECT_EQ(memcmp(mf->Ptr(page0) + 4095, "X", 1), 0);
    EXPECT_EQ(memcmp(mf->Ptr(*cache->PageFrame(1)), "YZ", 2), 0);
    // Extend by writing past the end: the cache's size follows.
    Write(*file, "END", data.size() + 100);
    EXPECT_EQ(cache->size(), data.size() + 103);
    EXPECT_EQ(memcmp(mf->Ptr(page2) + 10, std::string(100, '\0').data(), 100), 0);
    EXPECT_EQ(memcmp(mf->Ptr(page2) + 110, "END", 3), 0);

    // Truncate into page 0: pages past the end are gone, the tail of page 0 reads zeros.
    SetAttrRequest req;
    req.mask = SetAttrRequest::kSize;
    req.size = 100;
    ASSERT_TRUE(file->inode()->SetAttr(caller, req).ok());
    EXPECT_EQ(cache->size(), 100u);
    EXPECT_EQ(cache->PageFrame(1).error(), EFAULT);
    EXPECT_EQ(mf->Ptr(page0)[100], 0);
    EXPECT_EQ(mf->Ptr(page0)[99], 'a');

    // A shared mapping writes the frame itself; writeback (msync/munmap/fsync) puts it on the
    // host, and a read sees it before that.
    memcpy(mf->Ptr(page0), "mapped", 6);
    char buf[6];
    BufferDst dst(std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf), 6));
    ASSERT_EQ(*file->PRead(dst, 0), 6u);
    EXPECT_EQ(std::string(buf, 6), "mapped");
    EXPECT_EQ(ReadHost(bind_tree.Path("m")).substr(0, 6), "aaaaaa");
    ASSERT_TRUE(file->Sync(false).ok());
    EXPECT_EQ(ReadHost(bind_tree.Path("m")), "mapped" + std::string(94, 'a'));
}

TEST_F(HostInodeChangeTest, XattrsOnFilesAndDirectories) {
    bind_tree.File("x", "");
    auto f = Resolve("/mnt/x").dentry->inode();
    auto set = f->SetXattr(caller, "user.moat", "value", 0);
    if (!set.ok() && set.error() == EOPNOTSUPP)
        GTEST_SKIP() << "the host filesystem of /tmp has no user xattrs";
    ASSERT_TRUE(set.ok()) << set.error();
    EXPECT_EQ(*f->GetXattr(caller, "user.moat"), "value");
    char buf[16] = {};
    EXPECT_EQ(::getxattr(bind_tree.Path("x").c_str(), "user.moat", buf, sizeof(buf)), 5);
    EXPECT_EQ(f->SetXattr(caller, "user.moat", "v", kXattrCreate).error(), EEXIST);
    auto names = f->ListXattr(caller);
    ASSERT_TRUE(names.ok());
    EXPECT_NE(std::find(names->begin(), names->end(), "user.moat"), names->end());
    ASSERT_TRUE(f->RemoveXattr(caller, "user.moat").ok());
    EXPECT_EQ(f->GetXattr(caller, "user.moat").error(), ENODATA);
    EXPECT_TRUE(dir->SetXattr(caller, "user.d", "1", 0).ok());
}

// Planted symlinks and hostile names never lead a change outside the bind.
TEST_F(HostInodeChangeTest, PlantedSymlinksAreNeverFollowed) {
    bind_tree.Link("evil", root_tree.Path("target"));
    bind_tree.Link("evil-dir", root_tree.root());
    EXPECT_EQ(dir->Create(caller, "evil", Attr(S_IFREG | 0644)).error(), EEXIST);
    EXPECT_EQ(dir->Mkdir(caller, "evil", Attr(S_IFDIR | 0755)).error(), EEXIST);
    EXPECT_EQ(dir->Create(caller, "../escape", Attr(S_IFREG | 0644)).error(), EINVAL);
    EXPECT_EQ(dir->Create(caller, "evil-dir/x", Attr(S_IFREG | 0644)).error(), EINVAL);
    EXPECT_EQ(dir->Mkdir(caller, "..", Attr(S_IFDIR | 0755)).error(), EINVAL);
    EXPECT_EQ(dir->Unlink(caller, "evil-dir/target").error(), EINVAL);
    EXPECT_EQ(dir->Rename(caller, "evil", *dir, "../moved", 0).error(), EINVAL);
    auto evil = Resolve("/mnt/evil").dentry->inode();  // the link itself (no follow)
    SetAttrRequest req;
    req.mask = SetAttrRequest::kMtime;
    req.mtime = {1, 0};
    ASSERT_TRUE(evil->SetAttr(caller, req).ok());
    EXPECT_NE(LstatHost(root_tree.Path("target")).st_mtim.tv_sec, 1);
    EXPECT_EQ(evil->SetXattr(caller, "user.x", "1", 0).error(), EOPNOTSUPP);
    // Removing the link removes the link only.
    ASSERT_TRUE(dir->Unlink(caller, "evil").ok());
    EXPECT_EQ(ReadHost(root_tree.Path("target")), "original");
    EXPECT_TRUE(HostExists(root_tree.Path("mnt")));
}

// A file replaced on the host between lookup and open is not opened for writing.
TEST_F(HostInodeChangeTest, ReplacedFileIsNotWritten) {
    bind_tree.File("f", "mine");
    auto p = Resolve("/mnt/f");
    ASSERT_EQ(::rename(bind_tree.Path("f").c_str(), bind_tree.Path("g").c_str()), 0);
    ASSERT_EQ(::symlink(root_tree.Path("target").c_str(), bind_tree.Path("f").c_str()), 0);
    auto f = std::dynamic_pointer_cast<HostInode>(p.dentry->inode());
    EXPECT_FALSE(f->DataFd(&p, /*write=*/true).ok());
    EXPECT_EQ(ReadHost(root_tree.Path("target")), "original");
}

TEST_F(HostInodeChangeTest, FileBind) {
    bind_tree.File("one", "bound file");
    BindSide side;
    ASSERT_TRUE(MountBind(*vfs, {bind_tree.Path("one"), "/target", false}, &side).ok());
    auto file = Open("/target", O_RDWR);
    ASSERT_NE(file, nullptr);
    char buf[32] = {};
    BufferDst dst(std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf), sizeof(buf)));
    EXPECT_EQ(*file->PRead(dst, 0), 10u);
    EXPECT_STREQ(buf, "bound file");
    Write(*file, "BOUND", 0);
    EXPECT_EQ(ReadHost(bind_tree.Path("one")), "BOUND file");
    EXPECT_EQ(ReadHost(root_tree.Path("target")), "original");
    SetAttrRequest req;
    req.mask = SetAttrRequest::kSize;
    req.size = 5;
    ASSERT_TRUE(file->inode()->SetAttr(caller, req).ok());
    EXPECT_EQ(ReadHost(bind_tree.Path("one")), "BOUND");

    // A directory onto a file and a file onto a directory are refused; so is a missing DST.
    EXPECT_EQ(MountBind(*vfs, {bind_tree.root(), "/target", false}, &side).error(), ENOTDIR);
    EXPECT_EQ(MountBind(*vfs, {bind_tree.Path("one"), "/mnt", false}, &side).error(), EISDIR);
    EXPECT_EQ(MountBind(*vfs, {bind_tree.root(), "/missing", false}, &side).error(), ENOENT);
    EXPECT_EQ(side, BindSide::Destination);
    EXPECT_EQ(MountBind(*vfs, {bind_tree.Path("missing"), "/mnt", false}, &side).error(), ENOENT);
    EXPECT_EQ(side, BindSide::Source);
}

TEST(BindSpecTest, Parse) {
    auto a = ParseBindSpec("/src:/dst", false);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->source, "/src");
    EXPECT_EQ(a->destination, "/dst");
    auto b = ParseBindSpec("/same", true);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->destination, "/same");
    EXPECT_TRUE(b->read_only);
    EXPECT_EQ(ParseBindSpec(":/dst", false).error(), EINVAL);
    EXPECT_EQ(ParseBindSpec("/src:", false).error(), EINVAL);
}

}  // namespace
}  // namespace moat::fs
