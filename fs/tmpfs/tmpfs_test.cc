#include "fs/tmpfs/directory.h"
#include "fs/tmpfs/filesystem.h"
#include "fs/tmpfs/regular_file.h"
#include "sentry/mm/memory_file.h"

#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <sys/sysmacros.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <string>

namespace moat::fs {
namespace {

class TmpfsTest : public ::testing::Test {
protected:
    void SetUp() override { Make({}); }

    void Make(TmpfsOptions opts) {
        if (!mf)
            mf = MUST(mm::MemoryFile::Create(64ull << 20));
        opts.memory_file = mf.get();
        fs = TmpfsFileSystem::Create(opts);
        root = MUST(fs->MakeRootInode());
    }

    static NewInode Reg(uint32_t perm = 0644) { return NewInode{S_IFREG | perm, 1000, 1000, 0}; }
    static NewInode Dir(uint32_t perm = 0755) { return NewInode{S_IFDIR | perm, 1000, 1000, 0}; }

    std::shared_ptr<TmpfsRegularInode> NewFile(const std::string& name, Inode* dir = nullptr) {
        auto inode = MUST((dir ? *dir : *root).Create(caller, name, Reg()));
        return std::static_pointer_cast<TmpfsRegularInode>(inode);
    }
    static size_t Write(TmpfsRegularInode& f, const std::string& data, uint64_t off) {
        BufferSrc src(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
        uint64_t end = 0;
        return MUST(f.WriteAt(src, off, false, &end));
    }
    static std::string Read(TmpfsRegularInode& f, uint64_t off, size_t len) {
        std::string buf(len, '\xff');
        BufferDst dst(std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), buf.size()));
        size_t n = MUST(f.ReadAt(dst, off));
        buf.resize(n);
        return buf;
    }
    InodeAttr Attr(Inode& i) { return MUST(i.Stat()); }

    std::unique_ptr<mm::MemoryFile> mf;
    std::shared_ptr<TmpfsFileSystem> fs;
    std::shared_ptr<Inode> root;
    FsCaller caller;
};

TEST_F(TmpfsTest, RootAttributes) {
    InodeAttr a = Attr(*root);
    EXPECT_EQ(a.mode, S_IFDIR | 01777u);
    EXPECT_EQ(a.ino, 1u);
    EXPECT_EQ(a.nlink, 2u);
    EXPECT_EQ(a.size, 40);
    EXPECT_EQ(a.dev, fs->anon_dev());
    EXPECT_EQ(fs->name(), "tmpfs");
}

TEST_F(TmpfsTest, CreateLookupReadDir) {
    auto f = NewFile("a");
    MUST(root->Mkdir(caller, "d", Dir()));
    MUST(root->Symlink(caller, "l", "a/b/c", Reg()));
    MUST(root->Create(caller, "fifo", NewInode{S_IFIFO | 0600, 0, 0, 0}));
    MUST(root->Create(caller, "chr", NewInode{S_IFCHR | 0600, 0, 0, makedev(1, 3)}));
    EXPECT_EQ(root->Create(caller, "a", Reg()).error(), EEXIST);
    EXPECT_EQ(MUST(root->Lookup(caller, "a")), f);
    EXPECT_EQ(root->Lookup(caller, "nope").error(), ENOENT);
    auto entries = MUST(root->ReadDir(caller));
    ASSERT_EQ(entries.size(), 5u);
    EXPECT_EQ(Attr(*root).nlink, 3u);  // one subdirectory
    EXPECT_EQ(Attr(*root).size, 40 + 5 * 20);
    auto link = MUST(root->Lookup(caller, "l"));
    EXPECT_EQ(MUST(link->ReadLink(caller)), "a/b/c");
    EXPECT_EQ(Attr(*link).size, 5);
    EXPECT_EQ(Attr(*link).mode, S_IFLNK | 0777u);
    EXPECT_EQ(Attr(*MUST(root->Lookup(caller, "chr"))).rdev, makedev(1, 3));
    EXPECT_NE(Attr(*f).ino, Attr(*link).ino);
    auto fifo = MUST(root->Lookup(caller, "fifo"));
    EXPECT_EQ(fifo->Open(caller, VfsPath{}, O_RDONLY).error(), ENXIO);
}

TEST_F(TmpfsTest, WriteReadHolesAndBlocks) {
    auto f = NewFile("f");
    EXPECT_EQ(Write(*f, "hello", 3 * 4096 + 10), 5u);
    InodeAttr a = Attr(*f);
    EXPECT_EQ(a.size, 3 * 4096 + 15);
    EXPECT_EQ(a.blocks, 8);  // one page allocated
    std::string all = Read(*f, 0, 100000);
    ASSERT_EQ(all.size(), 3u * 4096 + 15);
    EXPECT_EQ(all.substr(0, 3 * 4096 + 10), std::string(3 * 4096 + 10, '\0'));
    EXPECT_EQ(all.substr(3 * 4096 + 10), "hello");
    EXPECT_EQ(Read(*f, 100000, 10), "");
}

TEST_F(TmpfsTest, TruncateZeroesTailAndFreesPages) {
    auto f = NewFile("f");
    Write(*f, std::string(8192, 'x'), 0);
    uint64_t before = mf->frames_in_use();
    SetAttrRequest req;
    req.mask = SetAttrRequest::kSize;
    req.size = 100;
    MUST(f->SetAttr(caller, req));
    EXPECT_EQ(mf->frames_in_use(), before - 1);
    EXPECT_EQ(Attr(*f).blocks, 8);
    req.size = 200;  // extend: the old tail reads as zeros
    MUST(f->SetAttr(caller, req));
    EXPECT_EQ(Read(*f, 0, 1000), std::string(100, 'x') + std::string(100, '\0'));
    req.size = 0;
    MUST(f->SetAttr(caller, req));
    EXPECT_EQ(Attr(*f).blocks, 0);
    EXPECT_EQ(mf->frames_in_use(), before - 2);
}

TEST_F(TmpfsTest, WritePastEofInLastPageKeepsGapZero) {
    auto f = NewFile("f");
    Write(*f, "abc", 0);
    // Dirt past EOF in the last page (what a shared mapping may leave) must not show.
    auto frame = MUST(f->pages()->PageFrame(0));
    memset(mf->Ptr(frame) + 3, 'Z', 100);
    Write(*f, "def", 50);
    EXPECT_EQ(Read(*f, 0, 100), std::string("abc") + std::string(47, '\0') + "def");
}

TEST_F(TmpfsTest, SetAttrFieldsAndCtime) {
    auto f = NewFile("f");
    InodeAttr before = Attr(*f);
    SetAttrRequest req;
    req.mask = SetAttrRequest::kMode | SetAttrRequest::kUid | SetAttrRequest::kGid | SetAttrRequest::kAtime |
               SetAttrRequest::kMtime;
    req.mode = 04711;
    req.uid = 5;
    req.gid = 6;
    req.atime = {100, 1};
    req.mtime = {200, 2};
    MUST(f->SetAttr(caller, req));
    InodeAttr a = Attr(*f);
    EXPECT_EQ(a.mode, S_IFREG | 04711u);
    EXPECT_EQ(a.uid, 5u);
    EXPECT_EQ(a.gid, 6u);
    EXPECT_EQ(a.atime.tv_sec, 100);
    EXPECT_EQ(a.mtime.tv_nsec, 2);
    EXPECT_GE(a.ctime.tv_sec, before.ctime.tv_sec);
    SetAttrRequest size;
    size.mask = SetAttrRequest::kSize;
    size.size = 10;
    auto dir = MUST(root->Mkdir(caller, "d", Dir()));
    EXPECT_EQ(dir->SetAttr(caller, size).error(), EISDIR);
}

TEST_F(TmpfsTest, UnlinkedOpenFileKeepsData) {
    auto f = NewFile("f");
    Write(*f, "data", 0);
    uint64_t frames = mf->frames_in_use();
    MUST(root->Unlink(caller, "f"));
    EXPECT_EQ(Attr(*f).nlink, 0u);
    EXPECT_EQ(root->Lookup(caller, "f").error(), ENOENT);
    EXPECT_EQ(Read(*f, 0, 10), "data");
    EXPECT_EQ(fs->Usage().used_inodes, 2u);
    f.reset();
    EXPECT_EQ(mf->frames_in_use(), frames - 1);
    EXPECT_EQ(fs->Usage().used_inodes, 1u);
    EXPECT_EQ(fs->Usage().used_blocks, 0u);
}

TEST_F(TmpfsTest, HardLinks) {
    auto f = NewFile("f");
    auto d = MUST(root->Mkdir(caller, "d", Dir()));
    MUST(d->Link(caller, "g", *f));
    EXPECT_EQ(Attr(*f).nlink, 2u);
    EXPECT_EQ(MUST(d->Lookup(caller, "g")), f);
    EXPECT_EQ(d->Link(caller, "g", *f).error(), EEXIST);
    EXPECT_EQ(root->Link(caller, "dd", *d).error(), EPERM);
    MUST(root->Unlink(caller, "f"));
    EXPECT_EQ(Attr(*f).nlink, 1u);
    auto other = TmpfsFileSystem::Create({});
    auto other_root = MUST(other->MakeRootInode());
    EXPECT_EQ(other_root->Link(caller, "x", *f).error(), EXDEV);
}

TEST_F(TmpfsTest, RmdirNeedsEmpty) {
    auto d = MUST(root->Mkdir(caller, "d", Dir()));
    NewFile("x", d.get());
    EXPECT_EQ(root->Rmdir(caller, "d").error(), ENOTEMPTY);
    EXPECT_EQ(root->Unlink(caller, "d").error(), EISDIR);
    EXPECT_EQ(d->Rmdir(caller, "x").error(), ENOTDIR);
    MUST(d->Unlink(caller, "x"));
    MUST(root->Rmdir(caller, "d"));
    EXPECT_EQ(Attr(*d).nlink, 0u);
    EXPECT_EQ(Attr(*root).nlink, 2u);
    // A removed directory takes no new entries.
    EXPECT_EQ(d->Create(caller, "y", Reg()).error(), ENOENT);
}

TEST_F(TmpfsTest, RenameMovesAndReplaces) {
    auto a = MUST(root->Mkdir(caller, "a", Dir()));
    auto b = MUST(root->Mkdir(caller, "b", Dir()));
    auto f = NewFile("f", a.get());
    auto g = NewFile("g", b.get());
    MUST(a->Rename(caller, "f", *b, "g", 0));
    EXPECT_EQ(a->Lookup(caller, "f").error(), ENOENT);
    EXPECT_EQ(MUST(b->Lookup(caller, "g")), f);
    EXPECT_EQ(Attr(*g).nlink, 0u);
    // A directory moves: the parents' link counts follow.
    auto sub = MUST(a->Mkdir(caller, "sub", Dir()));
    EXPECT_EQ(Attr(*a).nlink, 3u);
    MUST(a->Rename(caller, "sub", *b, "sub2", 0));
    EXPECT_EQ(Attr(*a).nlink, 2u);
    EXPECT_EQ(Attr(*b).nlink, 3u);
    // Over an empty directory: fine; over a non-empty one: ENOTEMPTY.
    auto empty = MUST(a->Mkdir(caller, "empty", Dir()));
    MUST(b->Rename(caller, "sub2", *a, "empty", 0));
    EXPECT_EQ(Attr(*empty).nlink, 0u);
    EXPECT_EQ(Attr(*a).nlink, 3u);
    EXPECT_EQ(Attr(*b).nlink, 2u);
    MUST(root->Mkdir(caller, "full", Dir()));
    NewFile("x", MUST(root->Lookup(caller, "full")).get());
    EXPECT_EQ(a->Rename(caller, "empty", *root, "full", 0).error(), ENOTEMPTY);
    EXPECT_EQ(a->Rename(caller, "missing", *root, "z", 0).error(), ENOENT);
    // Two names of one file: nothing happens.
    MUST(b->Link(caller, "g2", *f));
    MUST(b->Rename(caller, "g", *b, "g2", 0));
    EXPECT_EQ(Attr(*f).nlink, 2u);
}

TEST_F(TmpfsTest, RenameNoReplaceExchangeWhiteout) {
    auto f = NewFile("f");
    auto g = NewFile("g");
    EXPECT_EQ(root->Rename(caller, "f", *root, "g", kRenameNoReplace).error(), EEXIST);
    MUST(root->Rename(caller, "f", *root, "g", kRenameExchange));
    EXPECT_EQ(MUST(root->Lookup(caller, "f")), g);
    EXPECT_EQ(MUST(root->Lookup(caller, "g")), f);
    EXPECT_EQ(root->Rename(caller, "f", *root, "none", kRenameExchange).error(), ENOENT);
    EXPECT_EQ(root->Rename(caller, "f", *root, "g", kRenameExchange | kRenameNoReplace).error(), EINVAL);
    // Exchange of a directory and a file across directories moves the ".." link.
    auto d = MUST(root->Mkdir(caller, "d", Dir()));
    auto e = MUST(root->Mkdir(caller, "e", Dir()));
    NewFile("file", e.get());
    MUST(root->Rename(caller, "d", *e, "file", kRenameExchange));
    EXPECT_EQ(Attr(*root).nlink, 3u);  // e only
    EXPECT_EQ(Attr(*e).nlink, 3u);     // d now in e
    MUST(root->Rename(caller, "f", *root, "w", kRenameWhiteout));
    auto w = MUST(root->Lookup(caller, "f"));
    EXPECT_EQ(Attr(*w).mode & S_IFMT, static_cast<uint32_t>(S_IFCHR));
    EXPECT_EQ(Attr(*w).rdev, 0u);
    EXPECT_EQ(MUST(root->Lookup(caller, "w")), g);
}

TEST_F(TmpfsTest, TmpFileCanBeLinkedOnce) {
    auto t = MUST(root->CreateTmpFile(caller, Reg(0600)));
    EXPECT_EQ(Attr(*t).nlink, 0u);
    EXPECT_TRUE(t->is_regular());
    MUST(root->Link(caller, "named", *t));
    EXPECT_EQ(Attr(*t).nlink, 1u);
    MUST(root->Unlink(caller, "named"));
    EXPECT_EQ(root->Link(caller, "again", *t).error(), ENOENT);
}

TEST_F(TmpfsTest, Xattrs) {
    auto f = NewFile("f");
    EXPECT_EQ(f->GetXattr(caller, "user.a").error(), ENODATA);
    EXPECT_EQ(f->SetXattr(caller, "user.a", "1", kXattrReplace).error(), ENODATA);
    MUST(f->SetXattr(caller, "user.a", "1", kXattrCreate));
    EXPECT_EQ(f->SetXattr(caller, "user.a", "2", kXattrCreate).error(), EEXIST);
    MUST(f->SetXattr(caller, "user.a", "2", kXattrReplace));
    MUST(f->SetXattr(caller, "trusted.overlay.opaque", "y", 0));
    EXPECT_EQ(MUST(f->GetXattr(caller, "user.a")), "2");
    EXPECT_EQ(MUST(f->ListXattr(caller)).size(), 2u);
    EXPECT_EQ(f->SetXattr(caller, "user.big", std::string(64 * 1024 + 1, 'x'), 0).error(), E2BIG);
    MUST(f->SetXattr(caller, "user.max", std::string(64 * 1024, 'x'), 0));
    MUST(f->RemoveXattr(caller, "user.a"));
    EXPECT_EQ(f->RemoveXattr(caller, "user.a").error(), ENODATA);
}

TEST_F(TmpfsTest, SizeAndInodeLimits) {
    TmpfsOptions opts;
    opts.size_limit = 2 * 4096;
    opts.max_inodes = 3;
    Make(opts);
    auto f = NewFile("f");
    std::string big(3 * 4096, 'x');
    BufferSrc src(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(big.data()), big.size()));
    uint64_t end = 0;
    EXPECT_EQ(MUST(f->WriteAt(src, 0, false, &end)), 2u * 4096);  // short write at the limit
    EXPECT_EQ(end, 2u * 4096);
    BufferSrc more(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(big.data()), 1));
    EXPECT_EQ(f->WriteAt(more, 3 * 4096, false, &end).error(), ENOSPC);
    EXPECT_EQ(f->Fallocate(0, 0, 5 * 4096).error(), ENOSPC);
    EXPECT_EQ(f->pages()->PageFrame(2).error(), EFAULT);  // beyond EOF anyway
    NewFile("g");
    EXPECT_EQ(root->Create(caller, "h", Reg()).error(), ENOSPC);
    EXPECT_EQ(root->Mkdir(caller, "h", Dir()).error(), ENOSPC);
    MUST(root->Unlink(caller, "g"));
    NewFile("h");
}

TEST_F(TmpfsTest, FileReadWriteAppendSeek) {
    auto f = NewFile("f");
    auto file = MUST(f->Open(caller, VfsPath{}, O_RDWR | O_APPEND));
    EXPECT_TRUE(file->seekable());
    std::string data = "abc";
    BufferSrc s1(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), 3));
    EXPECT_EQ(MUST(file->Write(s1)), 3u);
    BufferSrc s2(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), 3));
    EXPECT_EQ(MUST(file->PWrite(s2, 0)), 3u);  // O_APPEND: appends anyway
    EXPECT_EQ(Read(*f, 0, 10), "abcabc");
    EXPECT_EQ(MUST(file->Seek(0, SEEK_CUR)), 3);
    EXPECT_EQ(MUST(file->BytesReadable()), 3);
    EXPECT_EQ(MUST(file->Seek(-1, SEEK_END)), 5);
    EXPECT_EQ(file->Seek(-10, SEEK_CUR).error(), EINVAL);
}

TEST_F(TmpfsTest, SeekDataHole) {
    auto f = NewFile("f");
    auto file = MUST(f->Open(caller, VfsPath{}, O_RDWR));
    Write(*f, "x", 4096);       // page 1
    Write(*f, "y", 3 * 4096);   // page 3; size 3*4096+1
    EXPECT_EQ(MUST(file->Seek(0, SEEK_DATA)), 4096);
    EXPECT_EQ(MUST(file->Seek(0, SEEK_HOLE)), 0);
    EXPECT_EQ(MUST(file->Seek(4096, SEEK_HOLE)), 2 * 4096);
    EXPECT_EQ(MUST(file->Seek(4097, SEEK_DATA)), 4097);
    EXPECT_EQ(MUST(file->Seek(2 * 4096, SEEK_DATA)), 3 * 4096);
    EXPECT_EQ(MUST(file->Seek(3 * 4096, SEEK_HOLE)), 3 * 4096 + 1);
    EXPECT_EQ(file->Seek(3 * 4096 + 1, SEEK_DATA).error(), ENXIO);
    EXPECT_EQ(file->Seek(-1, SEEK_HOLE).error(), ENXIO);
    EXPECT_EQ(MUST(file->Seek(0, SEEK_CUR)), 3 * 4096 + 1);  // failed seeks leave the offset
}

TEST_F(TmpfsTest, Fallocate) {
    auto f = NewFile("f");
    auto file = MUST(f->Open(caller, VfsPath{}, O_RDWR));
    MUST(file->Fallocate(FALLOC_FL_KEEP_SIZE, 0, 3 * 4096));
    EXPECT_EQ(Attr(*f).size, 0);
    EXPECT_EQ(Attr(*f).blocks, 24);
    MUST(file->Fallocate(0, 0, 100));
    EXPECT_EQ(Attr(*f).size, 100);
    Write(*f, std::string(3 * 4096, 'q'), 0);
    MUST(file->Fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 10, 2 * 4096));
    EXPECT_EQ(Attr(*f).size, 3 * 4096);
    EXPECT_EQ(Attr(*f).blocks, 16);  // page 1 freed, 0 and 2 zeroed in part
    std::string all = Read(*f, 0, 3 * 4096);
    EXPECT_EQ(all, std::string(10, 'q') + std::string(2 * 4096, '\0') + std::string(4096 - 10, 'q'));
    EXPECT_EQ(file->Fallocate(FALLOC_FL_ZERO_RANGE, 0, 10).error(), EOPNOTSUPP);
    EXPECT_EQ(file->Fallocate(FALLOC_FL_PUNCH_HOLE, 0, 10).error(), EOPNOTSUPP);
    EXPECT_EQ(file->Fallocate(FALLOC_FL_COLLAPSE_RANGE, 0, 4096).error(), EOPNOTSUPP);
}

TEST_F(TmpfsTest, MappableSharesFramesWithReadWrite) {
    auto f = NewFile("f");
    Write(*f, "hello", 0);
    auto file = MUST(f->Open(caller, VfsPath{}, O_RDWR));
    auto m = file->mappable();
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->size(), 5u);
    EXPECT_EQ(m->inode(), Attr(*f).ino);
    uint64_t frame = MUST(m->PageFrame(0));
    EXPECT_EQ(memcmp(mf->Ptr(frame), "hello", 5), 0);
    memcpy(mf->Ptr(frame), "J", 1);  // a store through a shared mapping
    EXPECT_EQ(Read(*f, 0, 5), "Jello");
    EXPECT_EQ(m->PageFrame(1).error(), EFAULT);
    // A mapping keeps the data alive after the inode goes.
    mf->IncRef(frame);
    MUST(root->Unlink(caller, "f"));
    file.reset();
    f.reset();
    EXPECT_EQ(mf->RefCount(frame), 2u);
    m.reset();
    EXPECT_EQ(mf->RefCount(frame), 1u);
    mf->DecRef(frame);
}

TEST_F(TmpfsTest, ConcurrentWritesReadsAndTruncates) {
    auto f = NewFile("f");
    std::atomic<bool> stop{false};
    std::thread truncator([&] {
        SetAttrRequest req;
        req.mask = SetAttrRequest::kSize;
        for (int i = 0; i < 200; ++i) {
            req.size = (i % 4) * 4096;
            MUST(f->SetAttr(caller, req));
        }
        stop = true;
    });
    std::thread reader([&] {
        while (!stop) {
            std::string got = Read(*f, 0, 5 * 4096);
            for (char ch : got)
                ASSERT_TRUE(ch == 0 || ch == 'w');
        }
    });
    std::string data(3 * 4096, 'w');
    while (!stop)
        Write(*f, data, 4096);
    truncator.join();
    reader.join();
    SetAttrRequest zero;
    zero.mask = SetAttrRequest::kSize;
    MUST(f->SetAttr(caller, zero));
    EXPECT_EQ(fs->Usage().used_blocks, 0u);
}

TEST_F(TmpfsTest, NoMemoryFile) {
    auto bare = TmpfsFileSystem::Create({});
    auto r = MUST(bare->MakeRootInode());
    auto f = std::static_pointer_cast<TmpfsRegularInode>(MUST(r->Create(caller, "f", Reg())));
    std::string data = "x";
    BufferSrc src(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), 1));
    uint64_t end = 0;
    EXPECT_EQ(f->WriteAt(src, 0, false, &end).error(), ENOMEM);
    EXPECT_EQ(MUST(f->Open(caller, VfsPath{}, O_RDONLY))->mappable(), nullptr);
}

}  // namespace
}  // namespace moat::fs
