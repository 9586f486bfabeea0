#include "syscalls/table.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>

#include <set>
#include <string>

namespace moat::syscalls {
namespace {

TEST(SyscallTable, IsSortedAndComplete) {
    auto table = Table();
    ASSERT_GE(table.size(), 360u);
    for (size_t i = 1; i < table.size(); ++i)
        EXPECT_LT(table[i - 1].nr, table[i].nr);
    std::set<std::string> names;
    for (const auto& e : table)
        EXPECT_TRUE(names.insert(e.name).second) << "duplicate name " << e.name;
}

TEST(SyscallTable, LookupMatchesHostNumbers) {
    EXPECT_STREQ(Lookup(SYS_read)->name, "read");
    EXPECT_STREQ(Lookup(SYS_openat)->name, "openat");
    EXPECT_STREQ(Lookup(SYS_exit_group)->name, "exit_group");
    EXPECT_STREQ(Lookup(SYS_rseq)->name, "rseq");
    EXPECT_STREQ(Lookup(SYS_clone3)->name, "clone3");
    EXPECT_EQ(Lookup(335), nullptr);  // a hole in the x86-64 numbering
    EXPECT_EQ(Lookup(100000), nullptr);
    EXPECT_EQ(Lookup(~0ull), nullptr);
}

TEST(SyscallTable, SupportLevels) {
    EXPECT_EQ(Lookup(SYS_getpid)->support, Support::Full);
    EXPECT_NE(Lookup(SYS_getpid)->handler, nullptr);
    EXPECT_EQ(Lookup(SYS_rseq)->support, Support::Unimplemented);
    EXPECT_EQ(Lookup(SYS_rseq)->handler, nullptr);
    EXPECT_EQ(Lookup(SYS_kill)->support, Support::Partial);
    // Hardening (#7): served, always EPERM (sys_privileged.cc), as for a container's root.
    EXPECT_NE(Lookup(SYS_kexec_load)->handler, nullptr);
    EXPECT_EQ(Lookup(SYS_kexec_load)->support, Support::Partial);
}

}  // namespace
}  // namespace moat::syscalls
