#include "fs/host/page_cache.h"

#include "fs/exec.h"
#include "fs/fs_context.h"
#include "fs/testing/temp_tree.h"
#include "fs/vfs.h"
#include "sentry/mm/memory_file.h"

#include <gtest/gtest.h>

#include <cstring>

namespace moat::fs {
namespace {

class FsHostFileTest : public ::testing::Test {
protected:
    void SetUp() override {
        content.resize(3 * 4096 + 100);
        for (size_t i = 0; i < content.size(); ++i)
            content[i] = static_cast<char>('a' + i % 26);
        t.Dir("bin");
        t.File("bin/data", content, 0644);
        t.File("bin/tool", "#!/bin/sh\n", 0755);
        t.Link("bin/tool-link", "tool");
        VfsOptions opts;
        opts.host_root = t.root();
        vfs = Vfs::Create(opts).release_value();
        root = vfs->root();
    }
    testing::TempTree t;
    std::string content;
    std::unique_ptr<Vfs> vfs;
    VfsPath root;
};

TEST_F(FsHostFileTest, NoMemoryFileNoMapping) {
    auto f = *vfs->OpenAt({}, root, root, "bin/data", O_RDONLY, 0);
    EXPECT_EQ(f->mappable(), nullptr);
}

TEST_F(FsHostFileTest, PageCacheFramesAreSharedAcrossLookups) {
    auto mf = mm::MemoryFile::Create(64ull << 20);
    ASSERT_TRUE(mf.ok()) << mf.error();
    vfs->set_memory_file(mf->get());
    auto f1 = *vfs->OpenAt({}, root, root, "bin/data", O_RDONLY, 0);
    auto f2 = *vfs->OpenAt({}, root, root, "/bin/../bin/data", O_RDONLY, 0);
    auto m1 = f1->mappable();
    auto m2 = f2->mappable();
    ASSERT_NE(m1, nullptr);
    EXPECT_EQ(m1, m2);
    EXPECT_EQ(m1->size(), content.size());
    EXPECT_EQ(m1->map_name(), "/bin/data");
    auto a = m1->PageFrame(0);
    auto b = m2->PageFrame(0);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a, *b);
    EXPECT_EQ(memcmp((*mf)->Ptr(*a), content.data(), 4096), 0);
    // The last page: data then zeros.
    auto last = m1->PageFrame(3);
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(memcmp((*mf)->Ptr(*last), content.data() + 3 * 4096, 100), 0);
    EXPECT_EQ((*mf)->Ptr(*last)[100], 0);
    EXPECT_EQ(m1->PageFrame(4).error(), EFAULT);
    EXPECT_EQ(static_cast<HostPageCache*>(m1.get())->cached_pages(), 2u);
    uint64_t in_use = (*mf)->frames_in_use();
    m1.reset();
    m2.reset();
    f1.reset();
    f2.reset();
    vfs.reset();  // drops the dentry cache, the inode and its page cache
    EXPECT_EQ((*mf)->frames_in_use(), in_use - 2);
}

TEST_F(FsHostFileTest, ReadPreadSeek) {
    auto f = *vfs->OpenAt({}, root, root, "bin/data", O_RDONLY, 0);
    std::string buf(10, '\0');
    BufferDst d1(std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), buf.size()));
    EXPECT_EQ(*f->Read(d1), 10u);
    EXPECT_EQ(buf, content.substr(0, 10));
    EXPECT_EQ(*f->Seek(0, SEEK_CUR), 10);
    BufferDst d2(std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), buf.size()));
    EXPECT_EQ(*f->PRead(d2, 4096), 10u);
    EXPECT_EQ(buf, content.substr(4096, 10));
    EXPECT_EQ(*f->Seek(0, SEEK_CUR), 10);
    EXPECT_EQ(*f->Seek(-5, SEEK_END), static_cast<int64_t>(content.size() - 5));
    EXPECT_EQ(f->Seek(-1, SEEK_SET).error(), EINVAL);
    EXPECT_EQ(*f->Seek(7, SEEK_DATA), 7);
    EXPECT_EQ(*f->Seek(7, SEEK_HOLE), static_cast<int64_t>(content.size()));
    EXPECT_EQ(f->Seek(static_cast<int64_t>(content.size()), SEEK_DATA).error(), ENXIO);
    EXPECT_EQ(f->Seek(0, 9).error(), EINVAL);
    EXPECT_EQ(*f->BytesReadable(), 0);
    // A big read crosses chunks; a read at EOF returns 0.
    std::string all(1 << 20, '\0');
    BufferDst d3(std::span<uint8_t>(reinterpret_cast<uint8_t*>(all.data()), all.size()));
    EXPECT_EQ(*f->PRead(d3, 0), content.size());
    EXPECT_EQ(all.substr(0, content.size()), content);
    BufferDst d4(std::span<uint8_t>(reinterpret_cast<uint8_t*>(all.data()), all.size()));
    EXPECT_EQ(*f->PRead(d4, 1 << 30), 0u);
}

TEST_F(FsHostFileTest, ExecOpener) {
    auto ok = OpenExec(*vfs, {}, root, root, "/bin/tool-link");
    ASSERT_TRUE(ok.ok()) << ok.error();
    EXPECT_EQ((*ok)->path(), "/bin/tool");
    uint8_t hdr[2];
    EXPECT_EQ(*(*ok)->ReadAt(hdr, 0), 2u);
    EXPECT_EQ(hdr[0], '#');
    EXPECT_EQ(OpenExec(*vfs, {}, root, root, "/bin/data").error(), EACCES);
    EXPECT_EQ(OpenExec(*vfs, {}, root, root, "/bin").error(), EACCES);
    EXPECT_EQ(OpenExec(*vfs, {}, root, root, "/bin/none").error(), ENOENT);
    EXPECT_EQ(OpenExec(*vfs, {}, root, root, "/bin/data/x").error(), ENOTDIR);
    EXPECT_EQ(OpenExec(*vfs, {}, root, root, "").error(), ENOENT);
    auto bin = *vfs->Resolve({}, root, root, "bin", kWalkFollow);
    EXPECT_TRUE(OpenExec(*vfs, {}, root, bin, "tool").ok());
}

TEST_F(FsHostFileTest, ResolveInPath) {
    auto ctx = *FsContext::Create(*vfs, "/");
    EXPECT_EQ(*ResolveInPath(*vfs, *ctx, "tool", "/nope:/bin"), "/bin/tool");
    EXPECT_EQ(*ResolveInPath(*vfs, *ctx, "./x/y", "/bin"), "./x/y");
    EXPECT_EQ(ResolveInPath(*vfs, *ctx, "data", "/bin").error(), EACCES);
    EXPECT_EQ(ResolveInPath(*vfs, *ctx, "missing", "/bin").error(), ENOENT);
    EXPECT_EQ(ResolveInPath(*vfs, *ctx, "", "/bin").error(), ENOENT);
    auto in_bin = *FsContext::Create(*vfs, "/bin");
    EXPECT_EQ(*ResolveInPath(*vfs, *in_bin, "tool", ":/nope"), "./tool");
}

}  // namespace
}  // namespace moat::fs
