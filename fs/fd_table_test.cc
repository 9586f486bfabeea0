#include "fs/fd_table.h"

#include <gtest/gtest.h>

namespace moat::fs {
namespace {

std::shared_ptr<File> NewFile(int flags = O_RDONLY) { return std::make_shared<File>(flags); }

TEST(FsFdTableTest, InstallsAtLowestFreeFd) {
    FdTable t;
    auto a = NewFile(), b = NewFile(), c = NewFile();
    EXPECT_EQ(*t.Install(a, false), 0);
    EXPECT_EQ(*t.Install(b, false), 1);
    EXPECT_EQ(*t.Install(c, false, 5), 5);
    EXPECT_TRUE(t.Close(0).ok());
    EXPECT_EQ(*t.Install(c, true), 0);
    EXPECT_EQ(t.Get(0)->get(), c.get());
    EXPECT_EQ(t.fds(), (std::vector<int>{0, 1, 5}));
}

TEST(FsFdTableTest, BadFdsAndLimits) {
    FdTable t;
    EXPECT_EQ(t.Get(0).error(), EBADF);
    EXPECT_EQ(t.Get(-1).error(), EBADF);
    EXPECT_EQ(t.Close(3).error(), EBADF);
    EXPECT_EQ(*t.Install(NewFile(), false, 0, 2), 0);
    EXPECT_EQ(*t.Install(NewFile(), false, 0, 2), 1);
    EXPECT_EQ(t.Install(NewFile(), false, 0, 2).error(), EMFILE);
    EXPECT_EQ(t.InstallAt(2, NewFile(), false, 2).error(), EBADF);
    EXPECT_EQ(t.InstallAt(-1, NewFile(), false, 2).error(), EBADF);
}

TEST(FsFdTableTest, DupSharesTheDescription) {
    FdTable t;
    auto f = NewFile();
    int fd = *t.Install(f, false);
    auto got = t.Get(fd);
    ASSERT_TRUE(got.ok());
    int dup = *t.Install(*got, false);
    EXPECT_NE(fd, dup);
    EXPECT_EQ(t.Get(dup)->get(), f.get());
    (*t.Get(fd))->set_status_flags(O_RDONLY | O_NONBLOCK);
    EXPECT_EQ((*t.Get(dup))->status_flags(), O_RDONLY | O_NONBLOCK);
    EXPECT_TRUE(t.Close(fd).ok());
    EXPECT_TRUE(t.Get(dup).ok());
    got = Error(EBADF);
    EXPECT_EQ(f.use_count(), 2);  // ours + dup
}

TEST(FsFdTableTest, InstallAtReplacesAndClosesTheOldFile) {
    FdTable t;
    auto old = NewFile(), repl = NewFile();
    std::weak_ptr<File> weak = old;
    ASSERT_EQ(*t.Install(std::move(old), false), 0);
    EXPECT_EQ(*t.InstallAt(0, repl, true), 0);
    EXPECT_TRUE(weak.expired());
    EXPECT_TRUE(*t.GetCloexec(0));
    EXPECT_EQ(*t.InstallAt(7, repl, false), 7);
    EXPECT_EQ(t.count(), 2);
}

TEST(FsFdTableTest, CloexecForkAndExec) {
    FdTable t;
    ASSERT_EQ(*t.Install(NewFile(), false), 0);
    ASSERT_EQ(*t.Install(NewFile(), true), 1);
    ASSERT_EQ(*t.Install(NewFile(), false), 2);
    EXPECT_TRUE(t.SetCloexec(2, true).ok());
    EXPECT_EQ(t.SetCloexec(9, true).error(), EBADF);
    auto child = t.Fork();
    ASSERT_TRUE(child.ok());
    EXPECT_EQ((*child)->Get(1)->get(), t.Get(1)->get());
    (*child)->CloseOnExec();
    EXPECT_EQ((*child)->fds(), std::vector<int>{0});
    EXPECT_EQ(t.fds(), (std::vector<int>{0, 1, 2}));  // the parent is untouched
}

TEST(FsFdTableTest, CloseRange) {
    FdTable t;
    for (int i = 0; i < 6; ++i)
        ASSERT_EQ(*t.Install(NewFile(), false), i);
    t.CloseRange(2, 3, /*cloexec_only=*/true);
    EXPECT_TRUE(*t.GetCloexec(2));
    t.CloseRange(3, ~0u, false);
    EXPECT_EQ(t.fds(), (std::vector<int>{0, 1, 2}));
}

TEST(FsFdTableTest, HostStdio) {
    auto t = FdTable::CreateWithHostStdio();
    for (int fd = 0; fd <= 2; ++fd) {
        if (fcntl(fd, F_GETFD) < 0)
            continue;  // closed in the test runner
        auto f = t->Get(fd);
        ASSERT_TRUE(f.ok()) << fd;
        EXPECT_EQ((*f)->is_tty(), isatty(fd) != 0);
        EXPECT_FALSE(*t->GetCloexec(fd));
        EXPECT_TRUE((*f)->Stat().ok());
    }
}

}  // namespace
}  // namespace moat::fs
