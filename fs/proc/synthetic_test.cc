// The synthetic-file toolkit and the sysfs built from it, through the Vfs (sentry caller).

#include "fs/proc/synthetic.h"
#include "fs/testing/temp_tree.h"
#include "fs/vfs.h"

#include <dirent.h>
#include <gtest/gtest.h>

#include <string>

namespace moat::fs {
namespace {

std::string ReadAll(File& f, uint64_t offset = 0, size_t max = 4096) {
    std::string buf(max, '\0');
    BufferDst dst({reinterpret_cast<uint8_t*>(buf.data()), buf.size()});
    auto n = f.PRead(dst, offset);
    if (!n.ok())
        return "<error>";
    buf.resize(*n);
    return buf;
}

class SyntheticTest : public ::testing::Test {
protected:
    void SetUp() override {
        tree.Dir("sys");
        tree.Dir("proc");
        VfsOptions opts;
        opts.host_root = tree.root();
        vfs = Vfs::Create(opts).release_value();
    }
    Result<std::shared_ptr<File>> Open(const std::string& path, int flags = O_RDONLY) {
        return vfs->OpenAt(FsCaller{}, vfs->root(), vfs->root(), path, flags, 0);
    }
    testing::TempTree tree;
    std::unique_ptr<Vfs> vfs;
};

TEST_F(SyntheticTest, InodeNumbersAreStableAndNeverRootsOrZero) {
    EXPECT_EQ(synthetic::SyntheticIno("/"), 1u);
    EXPECT_EQ(synthetic::SyntheticIno("/a/b"), synthetic::SyntheticIno("/a/b"));
    EXPECT_NE(synthetic::SyntheticIno("/a/b"), synthetic::SyntheticIno("/a/c"));
    EXPECT_GE(synthetic::SyntheticIno(""), 2u);
}

TEST_F(SyntheticTest, SysCpuOnlineReadsAtOffsets) {
    auto f = Open("/sys/devices/system/cpu/online");
    ASSERT_TRUE(f.ok()) << f.error();
    std::string all = ReadAll(**f);
    ASSERT_FALSE(all.empty());
    EXPECT_EQ(all[0], '0');
    EXPECT_EQ(all.back(), '\n');
    EXPECT_EQ(ReadAll(**f, 1), all.substr(1));
    EXPECT_EQ(ReadAll(**f, all.size()), "");
    EXPECT_EQ(ReadAll(**f, 1000), "");
    EXPECT_TRUE((*f)->Seek(0, SEEK_END).ok());
    EXPECT_FALSE((*f)->Seek(0, SEEK_DATA).ok());
}

TEST_F(SyntheticTest, SysIsReadOnlyAndListsItsDirectories) {
    auto w = Open("/sys/devices/system/cpu/online", O_WRONLY);
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.error(), EROFS);
    auto dir = vfs->Resolve(FsCaller{}, vfs->root(), vfs->root(), "/sys/devices/system/cpu", kWalkFollow);
    ASSERT_TRUE(dir.ok());
    auto entries = dir->inode().ReadDir(FsCaller{});
    ASSERT_TRUE(entries.ok());
    bool cpu0 = false, online = false;
    for (const auto& e : *entries) {
        cpu0 |= e.name == "cpu0" && e.type == DT_DIR;
        online |= e.name == "online" && e.type == DT_REG;
    }
    EXPECT_TRUE(cpu0);
    EXPECT_TRUE(online);
    auto attr = dir->inode().Stat();
    ASSERT_TRUE(attr.ok());
    EXPECT_TRUE(S_ISDIR(attr->mode));
    EXPECT_GE(attr->nlink, 3u);
    EXPECT_EQ(Open("/sys/nonexistent").error(), ENOENT);
}

TEST_F(SyntheticTest, ProcWithoutATaskHasNoProcesses) {
    // The sentry itself (no task) sees the system files but no /proc/self.
    EXPECT_EQ(Open("/proc/self/status").error(), ENOENT);
    auto root = vfs->Resolve(FsCaller{}, vfs->root(), vfs->root(), "/proc", kWalkFollow);
    ASSERT_TRUE(root.ok());
    auto entries = root->inode().ReadDir(FsCaller{});
    ASSERT_TRUE(entries.ok());
    bool meminfo = false;
    for (const auto& e : *entries)
        meminfo |= e.name == "meminfo";
    EXPECT_TRUE(meminfo);
}

}  // namespace
}  // namespace moat::fs
