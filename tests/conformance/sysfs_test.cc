// Conformance: the parts of /sys that libc and language runtimes read to size themselves.
// The CPU count differs between the host and the sandbox, so the tests relate /sys to
// sysconf(3) and sched_getaffinity(2) instead of expecting numbers.

#include "tests/conformance/syscall_matchers.h"
#include "tests/conformance/test_util.h"

#include <dirent.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

// The CPUs of a list like "0-3,5,7-8\n".
std::set<int> ParseCpuList(const std::string& text) {
    std::set<int> out;
    std::istringstream in(text);
    for (std::string part; std::getline(in, part, ',');) {
        if (part.empty() || part == "\n")
            continue;
        int lo = std::stoi(part), hi = lo;
        if (auto dash = part.find('-'); dash != std::string::npos)
            hi = std::stoi(part.substr(dash + 1));
        for (int c = lo; c <= hi; ++c)
            out.insert(c);
    }
    return out;
}

const std::regex kCpuListRe("[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*\n");

TEST(SysfsTest, OnlineCpusMatchSysconf) {
    std::string online = ReadWholeFile("/sys/devices/system/cpu/online");
    EXPECT_TRUE(std::regex_match(online, kCpuListRe)) << online;
    EXPECT_EQ(static_cast<long>(ParseCpuList(online).size()), sysconf(_SC_NPROCESSORS_ONLN));
}

TEST(SysfsTest, PossibleAndPresentCoverOnline) {
    std::string possible = ReadWholeFile("/sys/devices/system/cpu/possible");
    std::string present = ReadWholeFile("/sys/devices/system/cpu/present");
    EXPECT_TRUE(std::regex_match(possible, kCpuListRe)) << possible;
    EXPECT_TRUE(std::regex_match(present, kCpuListRe)) << present;
    auto online = ParseCpuList(ReadWholeFile("/sys/devices/system/cpu/online"));
    auto poss = ParseCpuList(possible);
    for (int cpu : online)
        EXPECT_TRUE(poss.count(cpu)) << cpu;
    EXPECT_EQ(static_cast<long>(poss.size()), sysconf(_SC_NPROCESSORS_CONF));
}

TEST(SysfsTest, OneDirectoryPerOnlineCpu) {
    for (int cpu : ParseCpuList(ReadWholeFile("/sys/devices/system/cpu/online"))) {
        struct stat st;
        std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu);
        ASSERT_THAT(stat(dir.c_str(), &st), SyscallSucceeds()) << dir;
        EXPECT_TRUE(S_ISDIR(st.st_mode));
    }
}

TEST(SysfsTest, AffinityIsWithinOnlineCpus) {
    cpu_set_t set;
    ASSERT_THAT(sched_getaffinity(0, sizeof set, &set), SyscallSucceeds());
    auto online = ParseCpuList(ReadWholeFile("/sys/devices/system/cpu/online"));
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &set)) {
            EXPECT_TRUE(online.count(cpu)) << cpu;
        }
}

TEST(SysfsTest, CgroupDirectoryAndTransparentHugepages) {
    struct stat st;
    ASSERT_THAT(stat("/sys/fs/cgroup", &st), SyscallSucceeds());
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    std::string thp = ReadWholeFile("/sys/kernel/mm/transparent_hugepage/enabled");
    EXPECT_TRUE(std::regex_match(thp, std::regex(".*\\[(always|madvise|never)\\].*\n"))) << thp;
}

TEST(SysfsTest, FilesAreReadOnly) {
    struct stat st;
    ASSERT_THAT(stat("/sys/devices/system/cpu/online", &st), SyscallSucceeds());
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 0222, 0u);
    if (geteuid() != 0) {
        EXPECT_THAT(open("/sys/devices/system/cpu/online", O_WRONLY), SyscallFailsWithErrno(EACCES));
    }
}

}  // namespace
}  // namespace moat::conformance
