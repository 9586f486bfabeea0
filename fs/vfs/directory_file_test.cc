// getdents through DirectoryFile on a host directory.

#include "fs/testing/temp_tree.h"
#include "fs/vfs.h"

#include <dirent.h>
#include <gtest/gtest.h>

#include <map>

namespace moat::fs {
namespace {

class Collect final : public DirentSink {
public:
    explicit Collect(size_t max) : m_max(max) {}
    bool Add(const DirEntry& e, int64_t next_off) override {
        if (entries.size() >= m_max)
            return false;
        entries.push_back(e);
        offs.push_back(next_off);
        return true;
    }
    std::vector<DirEntry> entries;
    std::vector<int64_t> offs;

private:
    size_t m_max;
};

TEST(VfsDirectoryTest, ListsEntriesWithTypesAndOffsets) {
    testing::TempTree t;
    t.Dir("d");
    t.File("d/a", "1");
    t.Dir("d/b");
    t.Link("d/c", "a");
    VfsOptions opts;
    opts.host_root = t.root();
    auto vfs = Vfs::Create(opts).release_value();
    auto root = vfs->root();
    auto f = vfs->OpenAt({}, root, root, "d", O_RDONLY | O_DIRECTORY, 0);
    ASSERT_TRUE(f.ok()) << f.error();
    File& dir = **f;

    Collect all(100);
    ASSERT_TRUE(dir.GetDents({}, all).ok());
    std::map<std::string, uint8_t> types;
    for (auto& e : all.entries)
        types[e.name] = e.type;
    EXPECT_EQ(types.size(), 5u);
    EXPECT_EQ(types["."], DT_DIR);
    EXPECT_EQ(types[".."], DT_DIR);
    EXPECT_EQ(types["a"], DT_REG);
    EXPECT_EQ(types["b"], DT_DIR);
    EXPECT_EQ(types["c"], DT_LNK);
    for (size_t i = 0; i < all.offs.size(); ++i)
        EXPECT_EQ(all.offs[i], static_cast<int64_t>(i + 1));
    EXPECT_EQ(all.entries[0].ino, t.Ino("d"));
    EXPECT_EQ(all.entries[1].ino, t.Ino(""));

    // At the end: nothing more.
    Collect none(100);
    ASSERT_TRUE(dir.GetDents({}, none).ok());
    EXPECT_TRUE(none.entries.empty());

    // Resuming from an offset (seekdir), and a full sink keeps the position.
    ASSERT_EQ(*dir.Seek(3, SEEK_SET), 3);
    Collect one(1);
    ASSERT_TRUE(dir.GetDents({}, one).ok());
    ASSERT_EQ(one.entries.size(), 1u);
    EXPECT_EQ(one.entries[0].name, all.entries[3].name);
    Collect rest(100);
    ASSERT_TRUE(dir.GetDents({}, rest).ok());
    ASSERT_EQ(rest.entries.size(), 1u);
    EXPECT_EQ(rest.entries[0].name, all.entries[4].name);

    EXPECT_EQ(dir.Seek(0, SEEK_END).error(), EINVAL);
    EXPECT_EQ(dir.Seek(-1, SEEK_SET).error(), EINVAL);
    uint8_t buf[4];
    BufferDst dst(buf);
    EXPECT_EQ(dir.Read(dst).error(), EISDIR);
}

TEST(VfsDirectoryTest, RewindSeesNewEntries) {
    testing::TempTree t;
    t.Dir("d");
    VfsOptions opts;
    opts.host_root = t.root();
    auto vfs = Vfs::Create(opts).release_value();
    auto root = vfs->root();
    auto f = *vfs->OpenAt({}, root, root, "d", O_RDONLY, 0);
    Collect first(100);
    ASSERT_TRUE(f->GetDents({}, first).ok());
    EXPECT_EQ(first.entries.size(), 2u);
    t.File("d/new", "");
    ASSERT_EQ(*f->Seek(0, SEEK_SET), 0);
    Collect second(100);
    ASSERT_TRUE(f->GetDents({}, second).ok());
    EXPECT_EQ(second.entries.size(), 3u);
}

}  // namespace
}  // namespace moat::fs
