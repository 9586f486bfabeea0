#include "fs/overlay/filesystem.h"
#include "fs/overlay/inode.h"
#include "fs/file.h"
#include "fs/host/filesystem.h"
#include "fs/testing/temp_tree.h"
#include "fs/tmpfs/directory.h"
#include "fs/tmpfs/filesystem.h"
#include "fs/tmpfs/regular_file.h"
#include "sentry/mm/memory_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace moat::fs {
namespace {

std::string ReadAll(File& f) {
    std::string out(1 << 16, '\0');
    BufferDst dst(std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()), out.size()));
    size_t n = MUST(f.PRead(dst, 0));
    out.resize(n);
    return out;
}

void WriteAt(File& f, const std::string& data, uint64_t off) {
    BufferSrc src(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
    ASSERT_EQ(MUST(f.PWrite(src, off)), data.size());
}

std::vector<std::string> Names(Inode& dir) {
    std::vector<std::string> names;
    for (auto& e : MUST(dir.ReadDir(FsCaller{})))
        names.push_back(e.name);
    std::sort(names.begin(), names.end());
    return names;
}

// A tmpfs lower layer (filled through its own interface) under a tmpfs upper layer.
class OverlayTest : public ::testing::Test {
protected:
    void SetUp() override {
        mf = MUST(mm::MemoryFile::Create(64ull << 20));
        TmpfsOptions opts;
        opts.memory_file = mf.get();
        opts.root_mode = 0755;
        lower_fs = TmpfsFileSystem::Create(opts);
        upper_fs = TmpfsFileSystem::Create(opts);
        lower_root = MUST(lower_fs->MakeRootInode());
        upper_root = MUST(upper_fs->MakeRootInode());
        auto etc = MUST(lower_root->Mkdir(c, "etc", Dir()));
        LowerFile(*etc, "passwd", "root:x:0:0\n");
        LowerFile(*etc, "hosts", "127.0.0.1 localhost\n");
        MUST(etc->Mkdir(c, "sub", Dir()));
        MUST(lower_root->Symlink(c, "link", "etc/passwd", NewInode{S_IFLNK | 0777, 0, 0, 0}));
        MUST(etc->SetXattr(c, "user.tag", "lower", 0));
        overlay = MUST(OverlayFileSystem::Create(lower_root, upper_root));
        root = overlay->MakeRootInode();
    }

    static NewInode Dir(uint32_t perm = 0755) { return NewInode{S_IFDIR | perm, 0, 0, 0}; }
    static NewInode Reg(uint32_t perm = 0644) { return NewInode{S_IFREG | perm, 0, 0, 0}; }
    void LowerFile(Inode& dir, const std::string& name, const std::string& data) {
        auto f = MUST(dir.Create(c, name, Reg()));
        auto file = MUST(f->Open(c, VfsPath{}, O_WRONLY));
        WriteAt(*file, data, 0);
    }
    std::shared_ptr<Inode> Walk(const std::string& a, const std::string& b = {}) {
        auto i = MUST(root->Lookup(c, a));
        return b.empty() ? i : MUST(i->Lookup(c, b));
    }
    std::shared_ptr<File> Open(Inode& inode, int flags) { return MUST(inode.Open(c, VfsPath{}, flags)); }

    FsCaller c;
    std::unique_ptr<mm::MemoryFile> mf;
    std::shared_ptr<TmpfsFileSystem> lower_fs, upper_fs;
    std::shared_ptr<Inode> lower_root, upper_root;
    std::shared_ptr<OverlayFileSystem> overlay;
    std::shared_ptr<Inode> root;
};

TEST_F(OverlayTest, LowerShowsThrough) {
    EXPECT_EQ(Names(*root), (std::vector<std::string>{"etc", "link"}));
    EXPECT_EQ(Names(*Walk("etc")), (std::vector<std::string>{"hosts", "passwd", "sub"}));
    auto passwd = Walk("etc", "passwd");
    EXPECT_EQ(ReadAll(*Open(*passwd, O_RDONLY)), "root:x:0:0\n");
    EXPECT_EQ(MUST(Walk("link")->ReadLink(c)), "etc/passwd");
    InodeAttr a = MUST(passwd->Stat());
    auto lower_passwd = MUST(MUST(lower_root->Lookup(c, "etc"))->Lookup(c, "passwd"));
    EXPECT_EQ(a.ino, MUST(lower_passwd->Stat()).ino);
    EXPECT_EQ(a.dev, overlay->anon_dev());
    EXPECT_EQ(Walk("etc", "passwd"), passwd);  // one inode per file while in use
    EXPECT_EQ(root->Lookup(c, "nope").error(), ENOENT);
    EXPECT_EQ(MUST(Walk("etc")->GetXattr(c, "user.tag")), "lower");
    // Nothing was copied up by reading.
    EXPECT_TRUE(Names(*upper_root).empty());
}

TEST_F(OverlayTest, WriteCopiesUpWithParentsAndKeepsIno) {
    auto passwd = Walk("etc", "passwd");
    uint64_t ino = MUST(passwd->Stat()).ino;
    auto ro = Open(*passwd, O_RDONLY);  // opened before the copy-up
    auto rw = Open(*passwd, O_RDWR);
    WriteAt(*rw, "ROOT", 0);
    EXPECT_EQ(ReadAll(*Open(*passwd, O_RDONLY)), "ROOT:x:0:0\n");
    EXPECT_EQ(ReadAll(*ro), "root:x:0:0\n");  // an earlier read-only open keeps the lower file
    EXPECT_EQ(MUST(passwd->Stat()).ino, ino);
    // The upper layer now has etc/passwd with the same owner/mode; the lower is untouched.
    auto up_etc = MUST(upper_root->Lookup(c, "etc"));
    EXPECT_EQ(MUST(up_etc->Stat()).mode, S_IFDIR | 0755u);
    auto up_passwd = MUST(up_etc->Lookup(c, "passwd"));
    EXPECT_EQ(MUST(up_passwd->Stat()).mode, S_IFREG | 0644u);
    auto lower_passwd = MUST(MUST(lower_root->Lookup(c, "etc"))->Lookup(c, "passwd"));
    EXPECT_EQ(ReadAll(*MUST(lower_passwd->Open(c, VfsPath{}, O_RDONLY))), "root:x:0:0\n");
    // Merged directory still shows the lower entries; xattrs came along; private ones hidden.
    EXPECT_EQ(Names(*Walk("etc")), (std::vector<std::string>{"hosts", "passwd", "sub"}));
    EXPECT_EQ(MUST(Walk("etc")->GetXattr(c, "user.tag")), "lower");
    EXPECT_EQ(MUST(Walk("etc")->ListXattr(c)), std::vector<std::string>{"user.tag"});
    EXPECT_EQ(passwd->GetXattr(c, kOverlayOriginXattr).error(), ENODATA);
    // The stat number survives the overlay inode going away (origin xattr).
    passwd.reset();
    ro.reset();
    rw.reset();
    EXPECT_EQ(MUST(Walk("etc", "passwd")->Stat()).ino, ino);
    for (auto& e : MUST(Walk("etc")->ReadDir(c))) {
        if (e.name == "passwd") {
            EXPECT_EQ(e.ino, ino);
        }
    }
}

TEST_F(OverlayTest, SetAttrAndTruncateCopyUp) {
    auto hosts = Walk("etc", "hosts");
    SetAttrRequest req;
    req.mask = SetAttrRequest::kMode;
    req.mode = 0600;
    MUST(hosts->SetAttr(c, req));
    EXPECT_EQ(MUST(hosts->Stat()).mode, S_IFREG | 0600u);
    EXPECT_EQ(ReadAll(*Open(*hosts, O_RDONLY)), "127.0.0.1 localhost\n");
    auto passwd = Walk("etc", "passwd");
    SetAttrRequest trunc;
    trunc.mask = SetAttrRequest::kSize;
    trunc.size = 0;
    MUST(passwd->SetAttr(c, trunc));
    EXPECT_EQ(MUST(passwd->Stat()).size, 0);
    EXPECT_EQ(ReadAll(*Open(*passwd, O_RDONLY)), "");
}

TEST_F(OverlayTest, UnlinkLeavesWhiteoutAndRecreate) {
    auto etc = Walk("etc");
    MUST(etc->Unlink(c, "passwd"));
    EXPECT_EQ(etc->Lookup(c, "passwd").error(), ENOENT);
    EXPECT_EQ(Names(*etc), (std::vector<std::string>{"hosts", "sub"}));
    auto wh = MUST(MUST(upper_root->Lookup(c, "etc"))->Lookup(c, "passwd"));
    EXPECT_TRUE(IsWhiteout(*wh));
    // A new file over the whiteout.
    auto f = MUST(etc->Create(c, "passwd", Reg()));
    EXPECT_EQ(ReadAll(*Open(*f, O_RDONLY)), "");
    EXPECT_NE(MUST(f->Stat()).ino & kOverlayUpperInoBit, 0u);  // a new file: its own number
    EXPECT_EQ(etc->Unlink(c, "sub").error(), EISDIR);
    EXPECT_EQ(etc->Unlink(c, "none").error(), ENOENT);
}

TEST_F(OverlayTest, RmdirMergedEmptinessAndOpaqueMkdir) {
    auto etc = Walk("etc");
    EXPECT_EQ(root->Rmdir(c, "etc").error(), ENOTEMPTY);
    MUST(etc->Unlink(c, "passwd"));
    MUST(etc->Unlink(c, "hosts"));
    MUST(etc->Rmdir(c, "sub"));
    EXPECT_TRUE(Names(*etc).empty());
    MUST(root->Rmdir(c, "etc"));  // only whiteouts were left in its upper part
    EXPECT_EQ(root->Lookup(c, "etc").error(), ENOENT);
    auto again = MUST(root->Mkdir(c, "etc", Dir()));
    EXPECT_TRUE(Names(*again).empty());  // opaque: the lower etc does not show through
    EXPECT_EQ(again->Lookup(c, "passwd").error(), ENOENT);
}

TEST_F(OverlayTest, RenameFilesAndDirectories) {
    auto etc = Walk("etc");
    uint64_t ino = MUST(Walk("etc", "hosts")->Stat()).ino;
    MUST(etc->Rename(c, "hosts", *root, "hosts2", 0));
    EXPECT_EQ(etc->Lookup(c, "hosts").error(), ENOENT);
    auto moved = Walk("hosts2");
    EXPECT_EQ(ReadAll(*Open(*moved, O_RDONLY)), "127.0.0.1 localhost\n");
    EXPECT_EQ(MUST(moved->Stat()).ino, ino);
    // A directory with lower entries cannot move; a new one can.
    EXPECT_EQ(root->Rename(c, "etc", *root, "etc2", 0).error(), EXDEV);
    auto d = MUST(root->Mkdir(c, "new", Dir()));
    MUST(d->Create(c, "x", Reg()));
    MUST(root->Rename(c, "new", *root, "newer", 0));
    EXPECT_EQ(Names(*Walk("newer")), std::vector<std::string>{"x"});
    EXPECT_EQ(root->Rename(c, "newer", *root, "link", kRenameNoReplace).error(), EEXIST);
    EXPECT_EQ(root->Rename(c, "newer", *root, "x", kRenameWhiteout).error(), EINVAL);
    // Exchange a lower file and an upper one.
    MUST(root->Rename(c, "link", *root, "hosts2", kRenameExchange));
    EXPECT_TRUE(Walk("hosts2")->is_symlink());
    EXPECT_TRUE(Walk("link")->is_regular());
}

TEST_F(OverlayTest, RenameDirectoryOverLowerDirectoryBecomesOpaque) {
    auto etc = Walk("etc");
    auto d = MUST(root->Mkdir(c, "d", Dir()));
    MUST(d->Create(c, "only", Reg()));
    // etc/sub is an empty lower directory: replaced, and must stay hidden.
    MUST(root->Rename(c, "d", *etc, "sub", 0));
    EXPECT_EQ(Names(*Walk("etc", "sub")), std::vector<std::string>{"only"});
}

TEST_F(OverlayTest, LinkOfLowerFileCopiesUp) {
    auto passwd = Walk("etc", "passwd");
    MUST(root->Link(c, "pw", *passwd));
    auto pw = Walk("pw");
    EXPECT_EQ(MUST(pw->Stat()).nlink, 2u);
    EXPECT_EQ(ReadAll(*Open(*pw, O_RDONLY)), "root:x:0:0\n");
    EXPECT_EQ(MUST(pw->Stat()).ino, MUST(passwd->Stat()).ino);
}

TEST_F(OverlayTest, UnlinkedOpenLowerFileCopiesUpWithoutName) {
    auto passwd = Walk("etc", "passwd");
    MUST(Walk("etc")->Unlink(c, "passwd"));
    auto rw = Open(*passwd, O_RDWR);  // as fchmod/write on an fd kept open would
    WriteAt(*rw, "X", 0);
    EXPECT_EQ(ReadAll(*rw), "Xoot:x:0:0\n");
    EXPECT_EQ(Walk("etc")->Lookup(c, "passwd").error(), ENOENT);
}

TEST_F(OverlayTest, XattrsCopyUpAndPrivateNamesRefused) {
    auto hosts = Walk("etc", "hosts");
    MUST(hosts->SetXattr(c, "user.a", "1", 0));
    EXPECT_EQ(MUST(hosts->GetXattr(c, "user.a")), "1");
    EXPECT_EQ(hosts->SetXattr(c, "trusted.overlay.opaque", "y", 0).error(), EPERM);
    EXPECT_EQ(Walk("link")->GetXattr(c, "user.none").error(), ENODATA);
}

TEST_F(OverlayTest, MergedDirectoryAttributes) {
    MUST(Walk("etc")->Create(c, "new", Reg()));  // etc is now merged
    InodeAttr a = MUST(Walk("etc")->Stat());
    EXPECT_EQ(a.nlink, 1u);
    EXPECT_EQ(a.ino, MUST(MUST(lower_root->Lookup(c, "etc"))->Stat()).ino);
    EXPECT_EQ(Names(*Walk("etc")), (std::vector<std::string>{"hosts", "new", "passwd", "sub"}));
}

// A host directory as the lower layer, as `moat do` uses it.
TEST(OverlayHostTest, HostLowerCopyUp) {
    testing::TempTree t;
    t.Dir("bin");
    t.File("bin/data", "host bytes", 0644);
    auto mf = MUST(mm::MemoryFile::Create(64ull << 20));
    auto host = MUST(HostFileSystem::Create(HostIo::Direct(), t.root(), /*read_only=*/true, 64));
    host->set_memory_file(mf.get());
    std::shared_ptr<Inode> host_root = MUST(host->TakeRootInode());
    TmpfsOptions opts;
    opts.memory_file = mf.get();
    auto upper_fs = TmpfsFileSystem::Create(opts);
    auto overlay = MUST(OverlayFileSystem::Create(host_root, MUST(upper_fs->MakeRootInode())));
    auto root = overlay->MakeRootInode();
    FsCaller c;
    auto data = MUST(MUST(root->Lookup(c, "bin"))->Lookup(c, "data"));
    auto ro = MUST(data->Open(c, VfsPath{}, O_RDONLY));
    EXPECT_EQ(ReadAll(*ro), "host bytes");
    ASSERT_NE(ro->mappable(), nullptr);  // the host page cache
    EXPECT_EQ(MUST(data->Stat()).ino, t.Ino("bin/data"));
    auto rw = MUST(data->Open(c, VfsPath{}, O_RDWR));
    WriteAt(*rw, "HOST", 0);
    EXPECT_EQ(ReadAll(*MUST(data->Open(c, VfsPath{}, O_RDONLY))), "HOST bytes");
    EXPECT_EQ(MUST(data->Stat()).ino, t.Ino("bin/data"));
    // The host file is untouched.
    auto again = MUST(MUST(host_root->Lookup(c, "bin"))->Lookup(c, "data"));
    EXPECT_EQ(MUST(again->Stat()).size, 10);
    host->dentry_cache().Clear();
    overlay->dentry_cache().Clear();
}

}  // namespace
}  // namespace moat::fs
