// Conformance: procfs. The values differ between the host and the sandbox (pids, memory,
// CPUs), so these tests check formats and the relations between /proc and the syscalls that
// report the same facts (stat's pid == getpid(), status' Uid == getresuid…), never host values.

#include "tests/conformance/process_util.h"
#include "tests/conformance/syscall_matchers.h"
#include "tests/conformance/test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

extern char** environ;

namespace moat::conformance {
namespace {

using ::testing::HasSubstr;

std::string ReadLink(const std::string& path) {
    char buf[PATH_MAX];
    ssize_t n = readlink(path.c_str(), buf, sizeof buf);
    return n < 0 ? std::string("<error ") + strerror(errno) + ">" : std::string(buf, static_cast<size_t>(n));
}

std::vector<std::string> Lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

std::vector<std::string> Fields(const std::string& line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    for (std::string f; in >> f;)
        out.push_back(f);
    return out;
}

// The "Key:\tvalue" lines of a status-like file.
std::map<std::string, std::string> KeyValues(const std::string& text) {
    std::map<std::string, std::string> out;
    for (const auto& line : Lines(text)) {
        auto colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        size_t v = line.find_first_not_of(" \t", colon + 1);
        out[line.substr(0, colon)] = v == std::string::npos ? "" : line.substr(v);
    }
    return out;
}

std::set<std::string> DirNames(const std::string& path) {
    std::set<std::string> out;
    DIR* d = opendir(path.c_str());
    if (!d)
        return out;
    while (dirent* e = readdir(d))
        out.insert(e->d_name);
    closedir(d);
    return out;
}

// /proc/[pid]/stat split after the parenthesized comm: fields[0] is field 3 (state).
struct StatLine {
    long pid = 0;
    std::string comm;
    std::vector<std::string> rest;
    const std::string& field(int n) const { return rest.at(static_cast<size_t>(n - 3)); }
};

StatLine ParseStat(const std::string& text) {
    StatLine s;
    auto open = text.find('(');
    auto close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos)
        return s;
    s.pid = std::atol(text.c_str());
    s.comm = text.substr(open + 1, close - open - 1);
    s.rest = Fields(text.substr(close + 1));
    return s;
}

std::string Self(const std::string& rest) { return "/proc/self/" + rest; }

// ---- /proc/self, /proc/thread-self, the root listing ----

TEST(ProcfsTest, SelfAndThreadSelfLinks) {
    EXPECT_EQ(ReadLink("/proc/self"), std::to_string(getpid()));
    EXPECT_EQ(ReadLink("/proc/thread-self"),
              std::to_string(getpid()) + "/task/" + std::to_string(syscall(SYS_gettid)));
}

TEST(ProcfsTest, RootListsSelfThePidAndSystemFiles) {
    auto names = DirNames("/proc");
    for (const char* n : {"self", "thread-self", "meminfo", "cpuinfo", "stat", "uptime", "loadavg", "version",
                          "filesystems", "mounts", "sys"})
        EXPECT_TRUE(names.count(n)) << n;
    EXPECT_TRUE(names.count(std::to_string(getpid())));
}

TEST(ProcfsTest, PidDirectoryModesAndOwner) {
    struct stat st;
    ASSERT_THAT(stat("/proc/self", &st), SyscallSucceeds());
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0555u);
    EXPECT_EQ(st.st_uid, geteuid());
    EXPECT_EQ(st.st_gid, getegid());
    ASSERT_THAT(lstat("/proc/self", &st), SyscallSucceeds());
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    ASSERT_THAT(stat("/proc/self/status", &st), SyscallSucceeds());
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0444u);
    EXPECT_EQ(st.st_size, 0);
    ASSERT_THAT(stat("/proc/self/environ", &st), SyscallSucceeds());
    EXPECT_EQ(st.st_mode & 07777, 0400u);
    ASSERT_THAT(stat("/proc/self/fd", &st), SyscallSucceeds());
    EXPECT_EQ(st.st_mode & 07777, 0500u);
    ASSERT_THAT(lstat("/proc/self/cwd", &st), SyscallSucceeds());
    EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST(ProcfsTest, MissingPidIsEnoent) {
    EXPECT_THAT(open("/proc/999999999/stat", O_RDONLY), SyscallFailsWithErrno(ENOENT));
    EXPECT_THAT(open("/proc/0/stat", O_RDONLY), SyscallFailsWithErrno(ENOENT));
    EXPECT_THAT(open("/proc/self/nonexistent", O_RDONLY), SyscallFailsWithErrno(ENOENT));
}

// ---- stat, status, statm ----

TEST(ProcfsTest, StatMatchesTheProcessIds) {
    StatLine s = ParseStat(ReadWholeFile("/proc/self/stat"));
    EXPECT_EQ(s.pid, getpid());
    ASSERT_EQ(s.rest.size(), 50u) << "52 fields in all";
    char name[16] = {};
    ASSERT_THAT(prctl(PR_GET_NAME, name), SyscallSucceeds());
    EXPECT_EQ(s.comm, name);
    EXPECT_EQ(s.field(3), "R");  // reading its own stat, the process runs
    EXPECT_EQ(std::atol(s.field(4).c_str()), getppid());
    EXPECT_EQ(std::atol(s.field(5).c_str()), getpgrp());
    EXPECT_EQ(std::atol(s.field(6).c_str()), getsid(0));
    EXPECT_EQ(std::atol(s.field(19).c_str()), 0);  // nice
    EXPECT_EQ(std::atol(s.field(20).c_str()), 1);  // num_threads
    EXPECT_EQ(std::atol(s.field(38).c_str()), SIGCHLD);  // exit_signal
    // vsize in bytes and rss in pages, as statm has them.
    EXPECT_GT(std::atoll(s.field(23).c_str()), 0);
    EXPECT_GT(std::atoll(s.field(24).c_str()), 0);
    // starttime (ticks since boot) is not after now.
    double uptime = std::atof(ReadWholeFile("/proc/uptime").c_str());
    EXPECT_LE(std::atof(s.field(22).c_str()) / sysconf(_SC_CLK_TCK), uptime + 1);
}

TEST(ProcfsTest, StatusMatchesCredentialsAndIds) {
    auto kv = KeyValues(ReadWholeFile("/proc/self/status"));
    char name[16] = {};
    ASSERT_THAT(prctl(PR_GET_NAME, name), SyscallSucceeds());
    EXPECT_EQ(kv["Name"], name);
    EXPECT_EQ(kv["State"], "R (running)");
    EXPECT_EQ(kv["Pid"], std::to_string(getpid()));
    EXPECT_EQ(kv["Tgid"], std::to_string(getpid()));
    EXPECT_EQ(kv["PPid"], std::to_string(getppid()));
    EXPECT_EQ(kv["Threads"], "1");
    uid_t r, e, s;
    ASSERT_THAT(getresuid(&r, &e, &s), SyscallSucceeds());
    EXPECT_EQ(Fields(kv["Uid"]), (std::vector<std::string>{std::to_string(r), std::to_string(e), std::to_string(s),
                                                            std::to_string(e)}));
    gid_t rg, eg, sg;
    ASSERT_THAT(getresgid(&rg, &eg, &sg), SyscallSucceeds());
    EXPECT_EQ(Fields(kv["Gid"]), (std::vector<std::string>{std::to_string(rg), std::to_string(eg),
                                                            std::to_string(sg), std::to_string(eg)}));
    mode_t mask = umask(022);
    umask(mask);
    char want_umask[8];
    snprintf(want_umask, sizeof want_umask, "%04o", mask);
    EXPECT_EQ(kv["Umask"], want_umask);
    EXPECT_TRUE(std::regex_match(kv["VmRSS"], std::regex("[0-9]+ kB"))) << kv["VmRSS"];
    EXPECT_TRUE(std::regex_match(kv["SigBlk"], std::regex("[0-9a-f]{16}"))) << kv["SigBlk"];
    EXPECT_TRUE(std::regex_match(kv["CapEff"], std::regex("[0-9a-f]{16}"))) << kv["CapEff"];
    EXPECT_TRUE(kv.count("Cpus_allowed_list"));
}

TEST(ProcfsTest, StatusShowsBlockedAndIgnoredSignals) {
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    ASSERT_THAT(sigprocmask(SIG_BLOCK, &set, &old), SyscallSucceeds());
    auto old_handler = signal(SIGUSR2, SIG_IGN);
    auto kv = KeyValues(ReadWholeFile("/proc/self/status"));
    signal(SIGUSR2, old_handler);
    sigprocmask(SIG_SETMASK, &old, nullptr);
    EXPECT_NE(std::stoull(kv["SigBlk"], nullptr, 16) & (1ull << (SIGUSR1 - 1)), 0u);
    EXPECT_NE(std::stoull(kv["SigIgn"], nullptr, 16) & (1ull << (SIGUSR2 - 1)), 0u);
}

TEST(ProcfsTest, StatmIsSevenPageCounts) {
    auto f = Fields(ReadWholeFile("/proc/self/statm"));
    ASSERT_EQ(f.size(), 7u);
    long size = std::atol(f[0].c_str()), resident = std::atol(f[1].c_str());
    EXPECT_GT(size, 0);
    EXPECT_GT(resident, 0);
    EXPECT_LE(resident, size);
}

TEST(ProcfsTest, CommMatchesPrctlName) {
    char name[16] = {};
    ASSERT_THAT(prctl(PR_GET_NAME, name), SyscallSucceeds());
    EXPECT_EQ(ReadWholeFile("/proc/self/comm"), std::string(name) + "\n");
}

// ---- maps and smaps ----

TEST(ProcfsTest, MapsHasTheBinaryTheStackAndANewMapping) {
    Mapping m(PageSize() * 3, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
    std::string maps = ReadWholeFile("/proc/self/maps");
    std::string exe = ReadLink("/proc/self/exe");
    EXPECT_THAT(maps, HasSubstr(" " + exe + "\n"));
    EXPECT_THAT(maps, HasSubstr(" [stack]\n"));
    std::regex line_re("^([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][ps]) ([0-9a-f]{8,}) ([0-9a-f]{2,}):([0-9a-f]{2,}) "
                       "([0-9]+) *(.*)$");
    bool found_mapping = false, found_stack_var = false;
    int local = 0;
    auto here = reinterpret_cast<uintptr_t>(&local);
    auto start_of_m = reinterpret_cast<uintptr_t>(m.addr());
    for (const auto& line : Lines(maps)) {
        std::smatch g;
        ASSERT_TRUE(std::regex_match(line, g, line_re)) << line;
        uintptr_t lo = std::stoull(g[1], nullptr, 16), hi = std::stoull(g[2], nullptr, 16);
        EXPECT_LT(lo, hi) << line;
        if (lo <= start_of_m && start_of_m < hi) {
            found_mapping = true;
            EXPECT_EQ(g[3].str(), "r--p") << line;
            EXPECT_GE(hi - start_of_m, PageSize() * 3);
        }
        if (lo <= here && here < hi) {
            found_stack_var = true;
            EXPECT_EQ(g[8].str(), "[stack]") << line;
        }
    }
    EXPECT_TRUE(found_mapping);
    EXPECT_TRUE(found_stack_var);
}

TEST(ProcfsTest, SmapsHasOneBlockPerMapWithItsSize) {
    std::string maps = ReadWholeFile("/proc/self/maps");
    std::string smaps = ReadWholeFile("/proc/self/smaps");
    std::vector<std::string> headers;
    std::vector<long> sizes;
    std::regex header_re("^[0-9a-f]+-[0-9a-f]+ .*");
    for (const auto& line : Lines(smaps)) {
        if (line.rfind("Size:", 0) == 0)
            sizes.push_back(std::atol(line.c_str() + 5));
        else if (std::regex_match(line, header_re))
            headers.push_back(line);
    }
    EXPECT_EQ(headers.size(), sizes.size());
    EXPECT_GE(headers.size(), 5u);
    for (size_t i = 0; i < headers.size() && i < sizes.size(); ++i) {
        uintptr_t lo = std::stoull(headers[i], nullptr, 16);
        uintptr_t hi = std::stoull(headers[i].substr(headers[i].find('-') + 1), nullptr, 16);
        EXPECT_EQ(static_cast<uintptr_t>(sizes[i]) * 1024, hi - lo) << headers[i];
    }
    EXPECT_THAT(smaps, HasSubstr("\nRss: "));
    EXPECT_THAT(smaps, HasSubstr("\nVmFlags: "));
}

// ---- cmdline, environ, limits ----

TEST(ProcfsTest, CmdlineStartsWithArgv0) {
    std::string cmdline = ReadWholeFile("/proc/self/cmdline");
    ASSERT_FALSE(cmdline.empty());
    EXPECT_EQ(cmdline.back(), '\0');
    EXPECT_EQ(std::string(cmdline.c_str()), program_invocation_name);
}

TEST(ProcfsTest, EnvironIsTheInitialEnvironment) {
    std::string env = ReadWholeFile("/proc/self/environ");
    std::set<std::string> from_proc;
    for (size_t pos = 0; pos < env.size();) {
        size_t end = env.find('\0', pos);
        if (end == std::string::npos)
            end = env.size();
        from_proc.insert(env.substr(pos, end - pos));
        pos = end + 1;
    }
    ASSERT_NE(environ, nullptr);
    size_t n = 0;
    for (char** e = environ; *e; ++e, ++n)
        EXPECT_TRUE(from_proc.count(*e)) << *e;
    EXPECT_EQ(from_proc.size(), n);
}

TEST(ProcfsTest, LimitsMatchGetrlimit) {
    std::string limits = ReadWholeFile("/proc/self/limits");
    auto lines = Lines(limits);
    ASSERT_EQ(lines.size(), 17u);
    EXPECT_EQ(lines[0].rfind("Limit", 0), 0u);
    struct rlimit nofile;
    ASSERT_THAT(getrlimit(RLIMIT_NOFILE, &nofile), SyscallSucceeds());
    auto str = [](rlim_t v) { return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v); };
    bool found = false;
    for (const auto& line : lines) {
        if (line.rfind("Max open files", 0) != 0)
            continue;
        found = true;
        auto f = Fields(line.substr(25));
        ASSERT_EQ(f.size(), 3u) << line;
        EXPECT_EQ(f[0], str(nofile.rlim_cur));
        EXPECT_EQ(f[1], str(nofile.rlim_max));
        EXPECT_EQ(f[2], "files");
    }
    EXPECT_TRUE(found);
}

// ---- cwd, root, exe ----

TEST(ProcfsTest, CwdRootAndExeLinks) {
    char cwd[PATH_MAX];
    ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
    EXPECT_EQ(ReadLink("/proc/self/cwd"), cwd);
    EXPECT_EQ(ReadLink("/proc/self/root"), "/");
    struct stat via_link, direct;
    ASSERT_THAT(stat("/proc/self/exe", &via_link), SyscallSucceeds());
    ASSERT_THAT(stat(ReadLink("/proc/self/exe").c_str(), &direct), SyscallSucceeds());
    EXPECT_EQ(via_link.st_ino, direct.st_ino);
    EXPECT_EQ(via_link.st_dev, direct.st_dev);
    // Following cwd jumps to the directory itself.
    ASSERT_THAT(stat("/proc/self/cwd/.", &via_link), SyscallSucceeds());
    ASSERT_THAT(stat(cwd, &direct), SyscallSucceeds());
    EXPECT_EQ(via_link.st_ino, direct.st_ino);
}

// ---- fd, fdinfo ----

TEST(ProcfsTest, FdLinksNameTheFiles) {
    Fd file(open("/etc/os-release", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(file.ok());
    char real[PATH_MAX];
    ASSERT_NE(realpath("/etc/os-release", real), nullptr);
    EXPECT_EQ(ReadLink(Self("fd/" + std::to_string(file.get()))), real);

    int p[2];
    ASSERT_THAT(pipe2(p, O_CLOEXEC), SyscallSucceeds());
    Fd r(p[0]), w(p[1]);
    struct stat st;
    ASSERT_THAT(fstat(r.get(), &st), SyscallSucceeds());
    EXPECT_EQ(ReadLink(Self("fd/" + std::to_string(r.get()))), "pipe:[" + std::to_string(st.st_ino) + "]");

    auto names = DirNames("/proc/self/fd");
    EXPECT_TRUE(names.count(std::to_string(file.get())));
    EXPECT_TRUE(names.count(std::to_string(r.get())));
    EXPECT_TRUE(names.count(std::to_string(w.get())));
    EXPECT_FALSE(names.count("999"));
    EXPECT_THAT(readlink("/proc/self/fd/999", real, sizeof real), SyscallFailsWithErrno(ENOENT));
}

TEST(ProcfsTest, FdLinkModesFollowAccessMode) {
    int p[2];
    ASSERT_THAT(pipe2(p, O_CLOEXEC), SyscallSucceeds());
    Fd r(p[0]), w(p[1]);
    struct stat st;
    ASSERT_THAT(lstat(Self("fd/" + std::to_string(r.get())).c_str(), &st), SyscallSucceeds());
    EXPECT_EQ(st.st_mode, static_cast<mode_t>(S_IFLNK | 0500));
    ASSERT_THAT(lstat(Self("fd/" + std::to_string(w.get())).c_str(), &st), SyscallSucceeds());
    EXPECT_EQ(st.st_mode, static_cast<mode_t>(S_IFLNK | 0300));
}

TEST(ProcfsTest, OpeningFdLinkReopensTheFile) {
    Fd file(open("/etc/os-release", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(file.ok());
    char first[8] = {};
    ASSERT_THAT(read(file.get(), first, sizeof first), SyscallSucceedsWithValue(8));
    Fd again(open(Self("fd/" + std::to_string(file.get())).c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(again.ok()) << strerror(errno);
    // A new open file description: its own offset, from the start.
    char from_start[8] = {};
    ASSERT_THAT(read(again.get(), from_start, sizeof from_start), SyscallSucceedsWithValue(8));
    EXPECT_EQ(std::string(first, 8), std::string(from_start, 8));
    EXPECT_THAT(lseek(file.get(), 0, SEEK_CUR), SyscallSucceedsWithValue(8));
    struct stat a, b;
    ASSERT_THAT(fstat(file.get(), &a), SyscallSucceeds());
    ASSERT_THAT(fstat(again.get(), &b), SyscallSucceeds());
    EXPECT_EQ(a.st_ino, b.st_ino);
    EXPECT_EQ(a.st_dev, b.st_dev);
}

TEST(ProcfsTest, OpeningPipeFdLinkGivesTheSamePipe) {
    int p[2];
    ASSERT_THAT(pipe2(p, O_CLOEXEC), SyscallSucceeds());
    Fd r(p[0]), w(p[1]);
    Fd w2(open(Self("fd/" + std::to_string(w.get())).c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(w2.ok()) << strerror(errno);
    Fd r2(open(Self("fd/" + std::to_string(r.get())).c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(r2.ok()) << strerror(errno);
    ASSERT_THAT(write(w2.get(), "hi", 2), SyscallSucceedsWithValue(2));
    char buf[2];
    ASSERT_THAT(read(r2.get(), buf, 2), SyscallSucceedsWithValue(2));
    EXPECT_EQ(std::string(buf, 2), "hi");
    struct stat a, b;
    ASSERT_THAT(fstat(r.get(), &a), SyscallSucceeds());
    ASSERT_THAT(fstat(w2.get(), &b), SyscallSucceeds());
    EXPECT_EQ(a.st_ino, b.st_ino);
    EXPECT_TRUE(S_ISFIFO(b.st_mode));
    // stat through the link sees the pipe too.
    ASSERT_THAT(stat(Self("fd/" + std::to_string(r.get())).c_str(), &b), SyscallSucceeds());
    EXPECT_EQ(a.st_ino, b.st_ino);
}

TEST(ProcfsTest, FdinfoShowsPositionFlagsAndMount) {
    Fd file(open("/etc/os-release", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(file.ok());
    char buf[5];
    ASSERT_THAT(read(file.get(), buf, sizeof buf), SyscallSucceedsWithValue(5));
    auto kv = KeyValues(ReadWholeFile(Self("fdinfo/" + std::to_string(file.get())).c_str()));
    EXPECT_EQ(kv["pos"], "5");
    long flags = std::strtol(kv["flags"].c_str(), nullptr, 8);
    EXPECT_EQ(kv["flags"][0], '0');
    EXPECT_EQ(flags & O_ACCMODE, O_RDONLY);
    EXPECT_NE(flags & O_CLOEXEC, 0);
    EXPECT_TRUE(std::regex_match(kv["mnt_id"], std::regex("[0-9]+")));
    EXPECT_TRUE(DirNames("/proc/self/fdinfo").count(std::to_string(file.get())));
}

// ---- mounts, mountinfo, cgroup, oom ----

TEST(ProcfsTest, MountsShowProcAndMatchMountinfo) {
    auto mounts = Lines(ReadWholeFile("/proc/self/mounts"));
    auto info = Lines(ReadWholeFile("/proc/self/mountinfo"));
    EXPECT_EQ(ReadWholeFile("/proc/mounts"), ReadWholeFile("/proc/self/mounts"));
    bool proc = false;
    for (const auto& line : mounts) {
        auto f = Fields(line);
        ASSERT_EQ(f.size(), 6u) << line;
        if (f[1] == "/proc" && f[2] == "proc")
            proc = true;
    }
    EXPECT_TRUE(proc);
    EXPECT_EQ(mounts.size(), info.size());
    std::regex info_re("^[0-9]+ [0-9]+ [0-9]+:[0-9]+ /\\S* /\\S* \\S+.* - \\S+ \\S+ \\S+$");
    for (const auto& line : info)
        EXPECT_TRUE(std::regex_match(line, info_re)) << line;
}

TEST(ProcfsTest, CgroupAndOomScoreAdj) {
    // "hierarchy-ID:controllers:path" lines; cgroup v2 (the sandbox's) is the single "0::/…".
    auto lines = Lines(ReadWholeFile("/proc/self/cgroup"));
    ASSERT_FALSE(lines.empty());
    for (const auto& line : lines)
        EXPECT_TRUE(std::regex_match(line, std::regex("[0-9]+:[^:]*:/.*"))) << line;
    long adj = std::atol(ReadWholeFile("/proc/self/oom_score_adj").c_str());
    EXPECT_GE(adj, -1000);
    EXPECT_LE(adj, 1000);
}

// ---- task/ ----

TEST(ProcfsTest, TaskDirListsThreads) {
    std::string tid = std::to_string(syscall(SYS_gettid));
    EXPECT_EQ(DirNames("/proc/self/task"), (std::set<std::string>{".", "..", tid}));
    StatLine s = ParseStat(ReadWholeFile(("/proc/self/task/" + tid + "/stat").c_str()));
    EXPECT_EQ(std::to_string(s.pid), tid);

    int go[2];
    ASSERT_THAT(pipe2(go, O_CLOEXEC), SyscallSucceeds());
    long other = 0;
    int ready[2];
    ASSERT_THAT(pipe2(ready, O_CLOEXEC), SyscallSucceeds());
    std::thread t([&] {
        other = syscall(SYS_gettid);
        char c = 1;
        (void)!write(ready[1], &c, 1);
        (void)!read(go[0], &c, 1);
    });
    char c;
    ASSERT_THAT(read(ready[0], &c, 1), SyscallSucceedsWithValue(1));
    auto names = DirNames("/proc/self/task");
    auto kv = KeyValues(ReadWholeFile("/proc/self/status"));
    auto thread_status = KeyValues(ReadWholeFile(("/proc/self/task/" + std::to_string(other) + "/status").c_str()));
    ASSERT_THAT(write(go[1], &c, 1), SyscallSucceedsWithValue(1));
    t.join();
    for (int fd : {go[0], go[1], ready[0], ready[1]})
        close(fd);
    EXPECT_EQ(names, (std::set<std::string>{".", "..", tid, std::to_string(other)}));
    EXPECT_EQ(kv["Threads"], "2");
    EXPECT_EQ(thread_status["Pid"], std::to_string(other));
    EXPECT_EQ(thread_status["Tgid"], std::to_string(getpid()));
}

// ---- another process ----

TEST(ProcfsTest, ChildProcessDirectoryComesAndGoes) {
    int p[2];
    ASSERT_THAT(pipe2(p, O_CLOEXEC), SyscallSucceeds());
    pid_t child = ForkAndRun([&] {
        char c;
        close(p[1]);
        (void)!read(p[0], &c, 1);
        return 0;
    });
    close(p[0]);
    std::string dir = "/proc/" + std::to_string(child);
    StatLine s = ParseStat(ReadWholeFile((dir + "/stat").c_str()));
    EXPECT_EQ(s.pid, child);
    ASSERT_FALSE(s.rest.empty());
    EXPECT_EQ(std::atol(s.field(4).c_str()), getpid());
    EXPECT_TRUE(DirNames("/proc").count(std::to_string(child)));
    EXPECT_EQ(ReadLink(dir + "/exe"), ReadLink("/proc/self/exe"));
    close(p[1]);
    EXPECT_EQ(WaitStatus(child), 0);
    EXPECT_THAT(open((dir + "/stat").c_str(), O_RDONLY), SyscallFailsWithErrno(ENOENT));
    EXPECT_FALSE(DirNames("/proc").count(std::to_string(child)));
}

// ---- opening for writing ----

TEST(ProcfsTest, WritingReadOnlyFiles) {
    // /proc/sys checks the mode for everyone, root included.
    EXPECT_THAT(open("/proc/sys/kernel/osrelease", O_WRONLY), SyscallFailsWithErrno(EACCES));
    if (geteuid() != 0) {
        EXPECT_THAT(open("/proc/meminfo", O_WRONLY), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(open("/proc/self/stat", O_WRONLY), SyscallFailsWithErrno(EACCES));
        return;
    }
    // Root may open them; the write itself fails.
    Fd meminfo(open("/proc/meminfo", O_WRONLY));
    ASSERT_TRUE(meminfo.ok());
    EXPECT_THAT(write(meminfo.get(), "x", 1), SyscallFailsWithErrno(EIO));
    Fd stat(open("/proc/self/stat", O_WRONLY));
    ASSERT_TRUE(stat.ok());
    EXPECT_THAT(write(stat.get(), "x", 1), SyscallFailsWithErrno(EINVAL));
}

TEST(ProcfsTest, ReadsAtOffsetsSeeOneSnapshot) {
    Fd f(open("/proc/self/status", O_RDONLY));
    ASSERT_TRUE(f.ok());
    char a[16], b[16];
    ASSERT_THAT(pread(f.get(), a, sizeof a, 6), SyscallSucceedsWithValue(16));
    ASSERT_THAT(lseek(f.get(), 6, SEEK_SET), SyscallSucceedsWithValue(6));
    ASSERT_THAT(read(f.get(), b, sizeof b), SyscallSucceedsWithValue(16));
    EXPECT_EQ(std::string(a, 16), std::string(b, 16));
}

// ---- system-wide files ----

TEST(ProcfsTest, MeminfoMatchesSysinfo) {
    auto kv = KeyValues(ReadWholeFile("/proc/meminfo"));
    struct sysinfo si;
    ASSERT_THAT(sysinfo(&si), SyscallSucceeds());
    for (const char* key : {"MemTotal", "MemFree", "MemAvailable", "SwapTotal"})
        EXPECT_TRUE(std::regex_match(kv[key], std::regex("[0-9]+ kB"))) << key << ": " << kv[key];
    EXPECT_EQ(std::stoull(kv["MemTotal"]), static_cast<unsigned long long>(si.totalram) * si.mem_unit / 1024);
    EXPECT_LE(std::stoull(kv["MemFree"]), std::stoull(kv["MemTotal"]));
}

TEST(ProcfsTest, CpuinfoHasOneProcessorPerOnlineCpu) {
    std::string text = ReadWholeFile("/proc/cpuinfo");
    long processors = 0;
    for (const auto& line : Lines(text))
        if (line.rfind("processor\t: ", 0) == 0)
            ++processors;
    EXPECT_EQ(processors, sysconf(_SC_NPROCESSORS_ONLN));
    EXPECT_THAT(text, HasSubstr("\nmodel name\t: "));
    EXPECT_THAT(text, HasSubstr("\nvendor_id\t: "));
    EXPECT_TRUE(std::regex_search(text, std::regex("\nflags\t\t: .*\\bfpu\\b.*\\bsse2\\b")));
}

TEST(ProcfsTest, StatHasCpuLinesAndBootTime) {
    auto lines = Lines(ReadWholeFile("/proc/stat"));
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines[0].rfind("cpu  ", 0), 0u);
    EXPECT_GE(Fields(lines[0]).size(), 11u);
    long cpus = 0;
    std::map<std::string, std::string> kv;
    for (const auto& line : lines) {
        if (std::regex_match(line, std::regex("cpu[0-9]+ .*")))
            ++cpus;
        auto f = Fields(line);
        if (f.size() >= 2)
            kv[f[0]] = f[1];
    }
    EXPECT_EQ(cpus, sysconf(_SC_NPROCESSORS_ONLN));
    struct timespec real, boot;
    clock_gettime(CLOCK_REALTIME, &real);
    clock_gettime(CLOCK_BOOTTIME, &boot);
    long btime = std::atol(kv["btime"].c_str());
    EXPECT_NEAR(btime, real.tv_sec - boot.tv_sec, 2);
    EXPECT_GT(std::atol(kv["processes"].c_str()), 0);
    EXPECT_GE(std::atol(kv["procs_running"].c_str()), 1);
}

TEST(ProcfsTest, UptimeFollowsBoottime) {
    std::string text = ReadWholeFile("/proc/uptime");
    EXPECT_TRUE(std::regex_match(text, std::regex("[0-9]+\\.[0-9]{2} [0-9]+\\.[0-9]{2}\n"))) << text;
    struct timespec boot;
    clock_gettime(CLOCK_BOOTTIME, &boot);
    EXPECT_NEAR(std::atof(text.c_str()), static_cast<double>(boot.tv_sec), 2.0);
}

TEST(ProcfsTest, LoadavgVersionFilesystems) {
    EXPECT_TRUE(std::regex_match(ReadWholeFile("/proc/loadavg"),
                                 std::regex("[0-9]+\\.[0-9]{2} [0-9]+\\.[0-9]{2} [0-9]+\\.[0-9]{2} [0-9]+/[0-9]+ [0-9]+\n")));
    struct utsname u;
    ASSERT_THAT(uname(&u), SyscallSucceeds());
    EXPECT_EQ(ReadWholeFile("/proc/version").rfind(std::string("Linux version ") + u.release + " ", 0), 0u);
    EXPECT_THAT(ReadWholeFile("/proc/filesystems"), HasSubstr("nodev\tproc\n"));
}

// ---- /proc/sys ----

long SysctlNumber(const char* path) {
    std::string text = ReadWholeFile(path);
    EXPECT_TRUE(std::regex_match(text, std::regex("-?[0-9]+\n"))) << path << ": " << text;
    return std::atol(text.c_str());
}

TEST(ProcfsTest, SysctlKernel) {
    struct utsname u;
    ASSERT_THAT(uname(&u), SyscallSucceeds());
    EXPECT_EQ(ReadWholeFile("/proc/sys/kernel/osrelease"), std::string(u.release) + "\n");
    EXPECT_EQ(ReadWholeFile("/proc/sys/kernel/ostype"), "Linux\n");
    EXPECT_EQ(ReadWholeFile("/proc/sys/kernel/hostname"), std::string(u.nodename) + "\n");
    EXPECT_EQ(SysctlNumber("/proc/sys/kernel/ngroups_max"), sysconf(_SC_NGROUPS_MAX));
    EXPECT_GE(SysctlNumber("/proc/sys/kernel/pid_max"), 32768);
    long cap = SysctlNumber("/proc/sys/kernel/cap_last_cap");
    EXPECT_GE(cap, 37);
    EXPECT_LE(cap, 63);
    std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\n");
    std::string u1 = ReadWholeFile("/proc/sys/kernel/random/uuid");
    std::string u2 = ReadWholeFile("/proc/sys/kernel/random/uuid");
    EXPECT_TRUE(std::regex_match(u1, uuid)) << u1;
    EXPECT_NE(u1, u2);
    std::string b1 = ReadWholeFile("/proc/sys/kernel/random/boot_id");
    EXPECT_TRUE(std::regex_match(b1, uuid)) << b1;
    EXPECT_EQ(b1, ReadWholeFile("/proc/sys/kernel/random/boot_id"));
}

TEST(ProcfsTest, SysctlVmAndFs) {
    long overcommit = SysctlNumber("/proc/sys/vm/overcommit_memory");
    EXPECT_GE(overcommit, 0);
    EXPECT_LE(overcommit, 2);
    EXPECT_GT(SysctlNumber("/proc/sys/vm/max_map_count"), 0);
    EXPECT_GE(SysctlNumber("/proc/sys/vm/mmap_min_addr"), 0);
    EXPECT_GE(SysctlNumber("/proc/sys/fs/nr_open"), 1024);
    EXPECT_GT(SysctlNumber("/proc/sys/fs/file-max"), 0);
    EXPECT_GE(SysctlNumber("/proc/sys/fs/pipe-max-size"), 4096);
    EXPECT_GT(SysctlNumber("/proc/sys/fs/inotify/max_user_watches"), 0);
    struct stat st;
    ASSERT_THAT(stat("/proc/sys/kernel", &st), SyscallSucceeds());
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0555u);
    ASSERT_THAT(stat("/proc/sys/kernel/osrelease", &st), SyscallSucceeds());
    EXPECT_EQ(st.st_mode & 07777, 0444u);
    EXPECT_EQ(st.st_uid, 0u);
}

}  // namespace
}  // namespace moat::conformance
