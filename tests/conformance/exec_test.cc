// execve(2): argv/envp, close-on-exec, errors, scripts, exec from a multi-threaded process.

#include "tests/conformance/process_util.h"
#include "tests/conformance/test_util.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace moat::conformance {
namespace {

// Runs the helper with `args` (after argv[0]) and `env` in a child; returns its stdout and
// stores the wait status.
std::string RunHelper(const std::vector<std::string>& args, const std::vector<std::string>& env, int* status) {
    std::string helper = HelperPath("proc_helper");
    int out[2];
    if (pipe(out) != 0)
        return "pipe failed";
    pid_t pid = ForkAndRun([&] {
        dup2(out[1], 1);
        std::vector<char*> argv{const_cast<char*>(helper.c_str())};
        for (auto& a : args)
            argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        std::vector<char*> envp;
        for (auto& e : env)
            envp.push_back(const_cast<char*>(e.c_str()));
        envp.push_back(nullptr);
        syscall(SYS_execve, helper.c_str(), argv.data(), envp.data());
        return 127;
    });
    close(out[1]);
    std::string text;
    char buf[256];
    ssize_t n;
    while ((n = read(out[0], buf, sizeof(buf))) > 0)
        text.append(buf, static_cast<size_t>(n));
    close(out[0]);
    *status = WaitStatus(pid);
    return text;
}

TEST(ExecTest, ArgvAndEnvp) {
    int status = -1;
    std::string out = RunHelper({"argv", "a b", "", "c"}, {"MOAT_TEST_VAR=hello", "OTHER=1"}, &status);
    EXPECT_EQ(out, "5\nargv0\nargv\na b\n\nc\nhello\n");
    EXPECT_EQ(status, 0);
    out = RunHelper({"argv"}, {}, &status);
    EXPECT_EQ(out, "2\nargv0\nargv\n(unset)\n");
}

TEST(ExecTest, NullArgv) {
    std::string helper = HelperPath("proc_helper");
    pid_t pid = ForkAndRun([&] {
        syscall(SYS_execve, helper.c_str(), nullptr, nullptr);
        return 127;
    });
    int status = WaitStatus(pid);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 9);  // the helper saw no mode
}

TEST(ExecTest, ExitStatusOfTheNewImage) {
    int status = -1;
    RunHelper({"exit", "17"}, {}, &status);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 17);
}

TEST(ExecTest, CloseOnExec) {
    int keep = open("/", O_RDONLY | O_DIRECTORY);
    int gone = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(keep, 0);
    ASSERT_GE(gone, 0);
    int status = -1;
    RunHelper({"fd", std::to_string(keep)}, {}, &status);
    EXPECT_EQ(status, 0);
    RunHelper({"fd", std::to_string(gone)}, {}, &status);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 1);
    close(keep);
    close(gone);
}

TEST(ExecTest, Errors) {
    char* argv[] = {const_cast<char*>("x"), nullptr};
    EXPECT_THAT(syscall(SYS_execve, "/nonexistent/moat", argv, nullptr), SyscallFailsWithErrno(ENOENT));
    EXPECT_THAT(syscall(SYS_execve, "", argv, nullptr), SyscallFailsWithErrno(ENOENT));
    EXPECT_THAT(syscall(SYS_execve, "/etc/os-release", argv, nullptr), SyscallFailsWithErrno(EACCES));
    EXPECT_THAT(syscall(SYS_execve, "/", argv, nullptr), SyscallFailsWithErrno(EACCES));
    EXPECT_THAT(syscall(SYS_execve, nullptr, argv, nullptr), SyscallFailsWithErrno(EFAULT));
    std::string helper = HelperPath("proc_helper");
    EXPECT_THAT(syscall(SYS_execve, helper.c_str(), reinterpret_cast<char**>(1), nullptr),
                SyscallFailsWithErrno(EFAULT));
    char* bad_arg[] = {const_cast<char*>("x"), reinterpret_cast<char*>(1), nullptr};
    EXPECT_THAT(syscall(SYS_execve, helper.c_str(), bad_arg, nullptr), SyscallFailsWithErrno(EFAULT));
}

TEST(ExecTest, ArgumentTooLong) {
    std::string helper = HelperPath("proc_helper");
    std::string huge(131072, 'x');  // MAX_ARG_STRLEN counts the NUL
    char* argv[] = {const_cast<char*>("x"), huge.data(), nullptr};
    EXPECT_THAT(syscall(SYS_execve, helper.c_str(), argv, nullptr), SyscallFailsWithErrno(E2BIG));
    // Many strings under the limit each, too much together.
    std::string big(100000, 'y');
    std::vector<char*> many{const_cast<char*>("x")};
    for (int i = 0; i < 100; ++i)
        many.push_back(big.data());
    many.push_back(nullptr);
    EXPECT_THAT(syscall(SYS_execve, helper.c_str(), many.data(), nullptr), SyscallFailsWithErrno(E2BIG));
}

TEST(ExecTest, ShellScript) {
    // /bin/sh runs `-c`; the script case: sh is itself found via #! by nothing here, so exec
    // a host script every Debian has only if present.
    const char* script = "/usr/bin/ldd";
    if (access(script, X_OK) != 0)
        GTEST_SKIP() << "no /usr/bin/ldd script on this host";
    int out[2];
    ASSERT_THAT(pipe(out), SyscallSucceeds());
    pid_t pid = ForkAndRun([&] {
        dup2(out[1], 1);
        dup2(out[1], 2);
        char* argv[] = {const_cast<char*>("ldd"), const_cast<char*>("--version"), nullptr};
        char* envp[] = {const_cast<char*>("PATH=/usr/bin:/bin"), nullptr};
        syscall(SYS_execve, script, argv, envp);
        return 127;
    });
    close(out[1]);
    std::string text;
    char buf[256];
    ssize_t n;
    while ((n = read(out[0], buf, sizeof(buf))) > 0)
        text.append(buf, static_cast<size_t>(n));
    close(out[0]);
    EXPECT_EQ(WaitStatus(pid), 0);
    EXPECT_THAT(text, ::testing::HasSubstr("ldd"));
}

// Runs `exec` (which should execveat the helper with "exit 21") in a child; its wait status.
template <typename Fn>
int ExecveatStatus(Fn exec) {
    pid_t pid = ForkAndRun([&] {
        exec();
        return 127;
    });
    return WaitStatus(pid);
}

char* const kExit21[] = {const_cast<char*>("x"), const_cast<char*>("exit"), const_cast<char*>("21"), nullptr};

TEST(ExecveatTest, DirfdAndEmptyPath) {
    std::string helper = HelperPath("proc_helper");
    std::string dir = helper.substr(0, helper.rfind('/'));
    int status = ExecveatStatus([&] { syscall(SYS_execveat, AT_FDCWD, helper.c_str(), kExit21, nullptr, 0); });
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 21);
    int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(dfd, 0);
    status = ExecveatStatus([&] { syscall(SYS_execveat, dfd, "proc_helper", kExit21, nullptr, 0); });
    EXPECT_EQ(WEXITSTATUS(status), 21);
    int fd = open(helper.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    status = ExecveatStatus([&] { syscall(SYS_execveat, fd, "", kExit21, nullptr, AT_EMPTY_PATH); });
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 21);
    EXPECT_THAT(syscall(SYS_execveat, fd, "", kExit21, nullptr, 0), SyscallFailsWithErrno(ENOENT));
    EXPECT_THAT(syscall(SYS_execveat, fd, "x", kExit21, nullptr, 0), SyscallFailsWithErrno(ENOTDIR));
    EXPECT_THAT(syscall(SYS_execveat, -1, "proc_helper", kExit21, nullptr, 0), SyscallFailsWithErrno(EBADF));
    EXPECT_THAT(syscall(SYS_execveat, dfd, "proc_helper", kExit21, nullptr, 0x4), SyscallFailsWithErrno(EINVAL));
    close(fd);
    close(dfd);
}

TEST(ExecveatTest, SymlinkNofollow) {
    // /bin/sh is a symlink on every Debian system (to dash); /bin itself is one on merged-/usr
    // systems, and a symlink that is not the last component is always followed.
    EXPECT_THAT(syscall(SYS_execveat, AT_FDCWD, "/bin/sh", kExit21, nullptr, AT_SYMLINK_NOFOLLOW),
                SyscallFailsWithErrno(ELOOP));
    int bin = open("/bin", O_RDONLY | O_DIRECTORY);
    ASSERT_GE(bin, 0);
    EXPECT_THAT(syscall(SYS_execveat, bin, "sh", kExit21, nullptr, AT_SYMLINK_NOFOLLOW), SyscallFailsWithErrno(ELOOP));
    close(bin);
    // A regular file runs.
    std::string helper = HelperPath("proc_helper");
    int status = ExecveatStatus(
        [&] { syscall(SYS_execveat, AT_FDCWD, helper.c_str(), kExit21, nullptr, AT_SYMLINK_NOFOLLOW); });
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 21);
}

TEST(ExecveatTest, EmptyPathOnAnOPathFdAndOnNonFiles) {
    std::string helper = HelperPath("proc_helper");
    int fd = open(helper.c_str(), O_PATH);
    ASSERT_GE(fd, 0);
    int status = ExecveatStatus([&] { syscall(SYS_execveat, fd, "", kExit21, nullptr, AT_EMPTY_PATH); });
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 21);
    close(fd);
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    EXPECT_THAT(syscall(SYS_execveat, fds[0], "", kExit21, nullptr, AT_EMPTY_PATH), SyscallFailsWithErrno(EACCES));
    close(fds[0]);
    close(fds[1]);
    // The cwd is a directory.
    EXPECT_THAT(syscall(SYS_execveat, AT_FDCWD, "", kExit21, nullptr, AT_EMPTY_PATH), SyscallFailsWithErrno(EACCES));
}

// What proc_helper reports as its AT_EXECFN when `exec` runs it.
template <typename Fn>
std::string ExecFnOf(Fn exec) {
    int out[2];
    if (pipe(out) != 0)
        return "(pipe)";
    pid_t pid = ForkAndRun([&] {
        close(out[0]);
        dup2(out[1], 1);
        exec();
        return 127;
    });
    close(out[1]);
    std::string text;
    char buf[256];
    ssize_t n;
    while ((n = read(out[0], buf, sizeof(buf))) > 0)
        text.append(buf, static_cast<size_t>(n));
    close(out[0]);
    WaitStatus(pid);
    return text;
}

TEST(ExecveatTest, ExecFnNamesTheFd) {
    std::string helper = HelperPath("proc_helper");
    std::string dir = helper.substr(0, helper.rfind('/'));
    char* argv[] = {const_cast<char*>("x"), const_cast<char*>("execfn"), nullptr};
    int fd = open(helper.c_str(), O_RDONLY);
    int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(fd, 0);
    ASSERT_GE(dfd, 0);
    EXPECT_EQ(ExecFnOf([&] { syscall(SYS_execveat, fd, "", argv, nullptr, AT_EMPTY_PATH); }),
              "/dev/fd/" + std::to_string(fd) + "\n");
    EXPECT_EQ(ExecFnOf([&] { syscall(SYS_execveat, dfd, "proc_helper", argv, nullptr, 0); }),
              "/dev/fd/" + std::to_string(dfd) + "/proc_helper\n");
    EXPECT_EQ(ExecFnOf([&] { syscall(SYS_execveat, dfd, helper.c_str(), argv, nullptr, 0); }), helper + "\n");
    EXPECT_EQ(ExecFnOf([&] { syscall(SYS_execveat, AT_FDCWD, helper.c_str(), argv, nullptr, 0); }), helper + "\n");
    close(fd);
    close(dfd);
}

void* BlockForever(void* arg) {
    int fd = *static_cast<int*>(arg);
    char c;
    (void)read(fd, &c, 1);
    return nullptr;
}

TEST(ExecTest, FromAMultiThreadedProcess) {
    std::string helper = HelperPath("proc_helper");
    int fds[2];
    ASSERT_THAT(pipe(fds), SyscallSucceeds());
    pid_t pid = ForkAndRun([&] {
        pthread_t th;
        if (pthread_create(&th, nullptr, BlockForever, &fds[0]) != 0)
            return 1;
        char* argv[] = {const_cast<char*>("x"), const_cast<char*>("exit"), const_cast<char*>("11"), nullptr};
        syscall(SYS_execve, helper.c_str(), argv, nullptr);
        return 127;
    });
    int status = WaitStatus(pid);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 11);
    close(fds[0]);
    close(fds[1]);
}

struct ExecFromThreadArgs {
    std::string helper;
};

void* ExecFromThread(void* arg) {
    auto* a = static_cast<ExecFromThreadArgs*>(arg);
    char* argv[] = {const_cast<char*>("x"), const_cast<char*>("exit"), const_cast<char*>("12"), nullptr};
    syscall(SYS_execve, a->helper.c_str(), argv, nullptr);
    _exit(127);
}

TEST(ExecTest, FromANonLeaderThread) {
    ExecFromThreadArgs args{HelperPath("proc_helper")};
    pid_t pid = ForkAndRun([&] {
        pthread_t th;
        if (pthread_create(&th, nullptr, ExecFromThread, &args) != 0)
            return 1;
        for (;;)
            pause();
        return 2;
    });
    int status = WaitStatus(pid);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 12);
}

}  // namespace
}  // namespace moat::conformance
