// Conformance: advisory file locks — flock(2) (per open file description), POSIX record locks
// (fcntl F_SETLK/F_SETLKW/F_GETLK: per process, ranges split and merged, released by closing
// any fd of the file, EDEADLK) and OFD locks (F_OFD_*: per description). Files live in a
// TempDir; other owners are forked children that report back through their exit status.

#include "tests/conformance/process_util.h"
#include "tests/conformance/temp_dir.h"
#include "tests/conformance/test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::conformance {
namespace {

struct flock Range(short type, off_t start, off_t len, short whence = SEEK_SET) {
    struct flock fl {};
    fl.l_type = type;
    fl.l_whence = whence;
    fl.l_start = start;
    fl.l_len = len;
    return fl;
}

int SetLock(int fd, short type, off_t start, off_t len, int cmd = F_SETLK) {
    struct flock fl = Range(type, start, len);
    return fcntl(fd, cmd, &fl);
}

// F_GETLK for a write lock on [start, start+len): the conflicting lock as "type start len pid".
std::string GetLock(int fd, off_t start, off_t len, int cmd = F_GETLK, short type = F_WRLCK) {
    struct flock fl = Range(type, start, len);
    if (fcntl(fd, cmd, &fl) != 0)
        return "error " + std::to_string(errno);
    if (fl.l_type == F_UNLCK)
        return "unlocked";
    return std::string(fl.l_type == F_WRLCK ? "W " : "R ") + std::to_string(fl.l_start) + " " +
           std::to_string(fl.l_len) + " " + std::to_string(fl.l_pid);
}

// A pipe pair used to make a parent and a child take turns.
struct Turns {
    int to_child[2] = {-1, -1};
    int to_parent[2] = {-1, -1};
    Turns() {
        EXPECT_EQ(pipe(to_child), 0);
        EXPECT_EQ(pipe(to_parent), 0);
    }
    ~Turns() {
        for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]})
            close(fd);
    }
    static bool Send(int fd) { return write(fd, "x", 1) == 1; }
    static bool Wait(int fd) {
        char c;
        return read(fd, &c, 1) == 1;
    }
};

void NoRestartHandler(int) {}

// A SIGALRM without SA_RESTART `ms` milliseconds from now: a blocked lock call gets EINTR.
void ArmInterrupt(int ms) {
    struct sigaction sa {};
    sa.sa_handler = NoRestartHandler;
    sigaction(SIGALRM, &sa, nullptr);
    struct itimerval it {};
    it.it_value.tv_usec = ms * 1000;
    setitimer(ITIMER_REAL, &it, nullptr);
}

class LockTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(m_dir.ok());
        m_path = m_dir / "file";
        m_fd = Fd(open(m_path.c_str(), O_RDWR | O_CREAT, 0644));
        ASSERT_TRUE(m_fd.ok()) << strerror(errno);
        ASSERT_EQ(ftruncate(m_fd.get(), 1000), 0);
    }
    int Open(int flags = O_RDWR) { return open(m_path.c_str(), flags); }
    // Runs `fn` in a child with its own description of the file; returns its exit code.
    template <typename Fn>
    int InChild(Fn fn) {
        pid_t pid = ForkAndRun([&] {
            int fd = Open();
            return fd < 0 ? 99 : fn(fd);
        });
        int status = WaitStatus(pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
    }
    // The child's F_GETLK answer compared with `want` (exit 0 when equal).
    int ChildSees(off_t start, off_t len, const std::string& want, int cmd = F_GETLK) {
        return InChild([&](int fd) { return GetLock(fd, start, len, cmd) == want ? 0 : 1; });
    }

    TempDir m_dir;
    std::string m_path;
    Fd m_fd;
};

// ---- flock ----

TEST_F(LockTest, FlockExclusiveConflictsAcrossDescriptions) {
    Fd other(Open());
    ASSERT_THAT(flock(m_fd.get(), LOCK_EX), SyscallSucceeds());
    EXPECT_THAT(flock(other.get(), LOCK_EX | LOCK_NB), SyscallFailsWithErrno(EWOULDBLOCK));
    EXPECT_THAT(flock(other.get(), LOCK_SH | LOCK_NB), SyscallFailsWithErrno(EWOULDBLOCK));
    // A dup shares the description, and so the lock.
    Fd dup_fd(dup(m_fd.get()));
    EXPECT_THAT(flock(dup_fd.get(), LOCK_EX | LOCK_NB), SyscallSucceeds());
    ASSERT_THAT(flock(m_fd.get(), LOCK_UN), SyscallSucceeds());
    EXPECT_THAT(flock(other.get(), LOCK_EX | LOCK_NB), SyscallSucceeds());
}

TEST_F(LockTest, FlockSharedLocksCoexistAndUpgradeConflicts) {
    Fd other(Open(O_RDONLY));
    ASSERT_THAT(flock(m_fd.get(), LOCK_SH), SyscallSucceeds());
    ASSERT_THAT(flock(other.get(), LOCK_SH | LOCK_NB), SyscallSucceeds());
    EXPECT_THAT(flock(m_fd.get(), LOCK_EX | LOCK_NB), SyscallFailsWithErrno(EWOULDBLOCK));
    ASSERT_THAT(flock(other.get(), LOCK_UN), SyscallSucceeds());
    EXPECT_THAT(flock(m_fd.get(), LOCK_EX | LOCK_NB), SyscallSucceeds());
}

TEST_F(LockTest, FlockReleasedWhenLastFdOfDescriptionCloses) {
    int fd = Open();
    int dup_fd = dup(fd);
    ASSERT_THAT(flock(fd, LOCK_EX), SyscallSucceeds());
    close(fd);
    EXPECT_THAT(flock(m_fd.get(), LOCK_EX | LOCK_NB), SyscallFailsWithErrno(EWOULDBLOCK));
    close(dup_fd);
    EXPECT_THAT(flock(m_fd.get(), LOCK_EX | LOCK_NB), SyscallSucceeds());
}

TEST_F(LockTest, FlockBadOperation) {
    EXPECT_THAT(flock(m_fd.get(), 0), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(flock(m_fd.get(), LOCK_SH | LOCK_EX), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(flock(-1, LOCK_SH), SyscallFailsWithErrno(EBADF));
}

TEST_F(LockTest, FlockInheritedDescriptionIsShared) {
    ASSERT_THAT(flock(m_fd.get(), LOCK_EX), SyscallSucceeds());
    int inherited = m_fd.get();
    pid_t pid = ForkAndRun([&] {
        // The child's own open conflicts; the inherited fd is the same description.
        int fd = Open();
        if (flock(fd, LOCK_EX | LOCK_NB) != -1 || errno != EWOULDBLOCK)
            return 1;
        return flock(inherited, LOCK_EX | LOCK_NB) == 0 ? 0 : 2;
    });
    EXPECT_EQ(WaitStatus(pid), 0);
}

TEST_F(LockTest, FlockBlocksUntilReleased) {
    Turns turns;
    pid_t pid = ForkAndRun([&] {
        int fd = Open();
        if (flock(fd, LOCK_EX) != 0)
            return 1;
        Turns::Send(turns.to_parent[1]);
        usleep(50 * 1000);
        return flock(fd, LOCK_UN) == 0 ? 0 : 2;
    });
    ASSERT_TRUE(Turns::Wait(turns.to_parent[0]));
    EXPECT_THAT(flock(m_fd.get(), LOCK_EX), SyscallSucceeds());
    EXPECT_EQ(WaitStatus(pid), 0);
}

TEST_F(LockTest, FlockWaitIsInterruptible) {
    Turns turns;
    pid_t pid = ForkAndRun([&] {
        int fd = Open();
        if (flock(fd, LOCK_EX) != 0)
            return 1;
        Turns::Send(turns.to_parent[1]);
        Turns::Wait(turns.to_child[0]);
        return 0;
    });
    ASSERT_TRUE(Turns::Wait(turns.to_parent[0]));
    ArmInterrupt(30);
    EXPECT_THAT(flock(m_fd.get(), LOCK_EX), SyscallFailsWithErrno(EINTR));
    Turns::Send(turns.to_child[1]);
    EXPECT_EQ(WaitStatus(pid), 0);
}

// ---- POSIX record locks ----

TEST_F(LockTest, GetlkReportsTheConflictingLockWithItsPid) {
    ASSERT_THAT(SetLock(m_fd.get(), F_WRLCK, 10, 20), SyscallSucceeds());
    std::string pid = std::to_string(getpid());
    EXPECT_EQ(ChildSees(0, 5, "unlocked"), 0);
    EXPECT_EQ(ChildSees(0, 11, "W 10 20 " + pid), 0);
    EXPECT_EQ(ChildSees(29, 1, "W 10 20 " + pid), 0);
    EXPECT_EQ(ChildSees(30, 0, "unlocked"), 0);
    // The owner itself never conflicts with its own locks.
    EXPECT_EQ(GetLock(m_fd.get(), 0, 0), "unlocked");
}

TEST_F(LockTest, ReadLocksShareWriteLocksDoNot) {
    ASSERT_THAT(SetLock(m_fd.get(), F_RDLCK, 0, 100), SyscallSucceeds());
    EXPECT_EQ(InChild([](int fd) { return SetLock(fd, F_RDLCK, 50, 10) == 0 ? 0 : errno; }), 0);
    EXPECT_EQ(InChild([](int fd) { return SetLock(fd, F_WRLCK, 50, 10) == 0 ? 0 : errno; }), EAGAIN);
    EXPECT_EQ(InChild([](int fd) { return SetLock(fd, F_WRLCK, 100, 10) == 0 ? 0 : errno; }), 0);
}

TEST_F(LockTest, UnlockInTheMiddleSplits) {
    ASSERT_THAT(SetLock(m_fd.get(), F_WRLCK, 0, 100), SyscallSucceeds());
    ASSERT_THAT(SetLock(m_fd.get(), F_UNLCK, 40, 20), SyscallSucceeds());
    std::string pid = std::to_string(getpid());
    EXPECT_EQ(ChildSees(40, 20, "unlocked"), 0);
    EXPECT_EQ(ChildSees(30, 20, "W 0 40 " + pid), 0);
    EXPECT_EQ(ChildSees(55, 20, "W 60 40 " + pid), 0);
}

TEST_F(LockTest, ChangingTypeInTheMiddleSplits) {
    ASSERT_THAT(SetLock(m_fd.get(), F_WRLCK, 0, 100), SyscallSucceeds());
    ASSERT_THAT(SetLock(m_fd.get(), F_RDLCK, 40, 20), SyscallSucceeds());
    std::string pid = std::to_string(getpid());
    // A read request meets only write locks.
    EXPECT_EQ(InChild([&](int fd) {
                  return GetLock(fd, 30, 40, F_GETLK, F_RDLCK) == "W 0 40 " + pid ? 0 : 1;
              }),
              0);
    EXPECT_EQ(InChild([&](int fd) { return GetLock(fd, 45, 10, F_GETLK, F_RDLCK) == "unlocked" ? 0 : 1; }), 0);
    EXPECT_EQ(ChildSees(45, 10, "R 40 20 " + pid), 0);
}

TEST_F(LockTest, AdjacentLocksOfOneTypeMerge) {
    ASSERT_THAT(SetLock(m_fd.get(), F_WRLCK, 0, 10), SyscallSucceeds());
    ASSERT_THAT(SetLock(m_fd.get(), F_WRLCK, 20, 10), SyscallSucceeds());
    ASSERT_THAT(SetLock(m_fd.get(), F_WRLCK, 10, 10), SyscallSucceeds());
    EXPECT_EQ(ChildSees(25, 1, "W 0 30 " + std::to_string(getpid())), 0);
}

TEST_F(LockTest, ZeroLengthReachesToTheEndAndNegativeLengthGoesBack) {
    ASSERT_THAT(SetLock(m_fd.get(), F_WRLCK, 500, 0), SyscallSucceeds());
    std::string pid = std::to_string(getpid());
    EXPECT_EQ(ChildSees(1 << 30, 1, "W 500 0 " + pid), 0);
    ASSERT_THAT(SetLock(m_fd.get(), F_UNLCK, 0, 0), SyscallSucceeds());
    ASSERT_THAT(SetLock(m_fd.get(), F_WRLCK, 100, -50), SyscallSucceeds());
    EXPECT_EQ(ChildSees(0, 0, "W 50 50 " + pid), 0);
    EXPECT_EQ(ChildSees(100, 1, "unlocked"), 0);
}

TEST_F(LockTest, WhenceCurAndEnd) {
    ASSERT_EQ(lseek(m_fd.get(), 200, SEEK_SET), 200);
    struct flock fl = Range(F_WRLCK, 10, 5, SEEK_CUR);
    ASSERT_THAT(fcntl(m_fd.get(), F_SETLK, &fl), SyscallSucceeds());
    fl = Range(F_WRLCK, -10, 10, SEEK_END);  // the file is 1000 bytes
    ASSERT_THAT(fcntl(m_fd.get(), F_SETLK, &fl), SyscallSucceeds());
    std::string pid = std::to_string(getpid());
    EXPECT_EQ(ChildSees(0, 300, "W 210 5 " + pid), 0);
    EXPECT_EQ(ChildSees(300, 0, "W 990 10 " + pid), 0);
}

TEST_F(LockTest, BadArguments) {
    struct flock fl = Range(42, 0, 0);
    EXPECT_THAT(fcntl(m_fd.get(), F_SETLK, &fl), SyscallFailsWithErrno(EINVAL));
    fl = Range(F_WRLCK, 0, 0, 7);
    EXPECT_THAT(fcntl(m_fd.get(), F_SETLK, &fl), SyscallFailsWithErrno(EINVAL));
    fl = Range(F_WRLCK, -1, 10);
    EXPECT_THAT(fcntl(m_fd.get(), F_SETLK, &fl), SyscallFailsWithErrno(EINVAL));
    fl = Range(F_WRLCK, 10, -20);
    EXPECT_THAT(fcntl(m_fd.get(), F_SETLK, &fl), SyscallFailsWithErrno(EINVAL));
    fl = Range(F_UNLCK, 0, 0);
    EXPECT_THAT(fcntl(m_fd.get(), F_GETLK, &fl), SyscallFailsWithErrno(EINVAL));
    fl = Range(F_WRLCK, 2, INT64_MAX);
    EXPECT_THAT(fcntl(m_fd.get(), F_SETLK, &fl), SyscallFailsWithErrno(EOVERFLOW));
    EXPECT_THAT(syscall(SYS_fcntl, m_fd.get(), F_SETLK, nullptr), SyscallFailsWithErrno(EFAULT));
}

TEST_F(LockTest, LockTypeMustMatchTheAccessMode) {
    Fd ro(Open(O_RDONLY)), wo(Open(O_WRONLY));
    EXPECT_THAT(SetLock(ro.get(), F_WRLCK, 0, 1), SyscallFailsWithErrno(EBADF));
    EXPECT_THAT(SetLock(wo.get(), F_RDLCK, 0, 1), SyscallFailsWithErrno(EBADF));
    EXPECT_THAT(SetLock(ro.get(), F_RDLCK, 0, 1), SyscallSucceeds());
    EXPECT_THAT(SetLock(wo.get(), F_WRLCK, 5, 1), SyscallSucceeds());
    EXPECT_THAT(SetLock(ro.get(), F_UNLCK, 0, 0), SyscallSucceeds());
}

TEST_F(LockTest, ClosingAnyFdOfTheFileReleasesTheProcesssLocks) {
    ASSERT_THAT(SetLock(m_fd.get(), F_WRLCK, 0, 10), SyscallSucceeds());
    EXPECT_EQ(ChildSees(0, 1, "W 0 10 " + std::to_string(getpid())), 0);
    close(Open(O_RDONLY));
    EXPECT_EQ(ChildSees(0, 1, "unlocked"), 0);
}

TEST_F(LockTest, LocksAreNotInheritedByFork) {
    ASSERT_THAT(SetLock(m_fd.get(), F_WRLCK, 0, 10), SyscallSucceeds());
    int inherited = m_fd.get();
    pid_t pid = ForkAndRun([&] {
        // The child is another owner even through the inherited fd.
        if (SetLock(inherited, F_WRLCK, 0, 1) != -1 || errno != EAGAIN)
            return 1;
        // And its close of the inherited fd does not release the parent's lock.
        close(inherited);
        return 0;
    });
    EXPECT_EQ(WaitStatus(pid), 0);
    EXPECT_EQ(ChildSees(0, 1, "W 0 10 " + std::to_string(getpid())), 0);
}

TEST_F(LockTest, SetlkwWaitsForTheHolder) {
    Turns turns;
    pid_t pid = ForkAndRun([&] {
        int fd = Open();
        if (SetLock(fd, F_WRLCK, 0, 10) != 0)
            return 1;
        Turns::Send(turns.to_parent[1]);
        usleep(50 * 1000);
        return SetLock(fd, F_UNLCK, 0, 10) == 0 ? 0 : 2;
    });
    ASSERT_TRUE(Turns::Wait(turns.to_parent[0]));
    EXPECT_THAT(SetLock(m_fd.get(), F_WRLCK, 5, 1), SyscallFailsWithErrno(EAGAIN));
    EXPECT_THAT(SetLock(m_fd.get(), F_WRLCK, 5, 1, F_SETLKW), SyscallSucceeds());
    EXPECT_EQ(WaitStatus(pid), 0);
}

TEST_F(LockTest, SetlkwIsInterruptible) {
    Turns turns;
    pid_t pid = ForkAndRun([&] {
        int fd = Open();
        if (SetLock(fd, F_RDLCK, 0, 10) != 0)
            return 1;
        Turns::Send(turns.to_parent[1]);
        Turns::Wait(turns.to_child[0]);
        return 0;
    });
    ASSERT_TRUE(Turns::Wait(turns.to_parent[0]));
    ArmInterrupt(30);
    EXPECT_THAT(SetLock(m_fd.get(), F_WRLCK, 0, 1, F_SETLKW), SyscallFailsWithErrno(EINTR));
    Turns::Send(turns.to_child[1]);
    EXPECT_EQ(WaitStatus(pid), 0);
}

TEST_F(LockTest, TwoProcessCycleIsEdeadlk) {
    Turns turns;
    ASSERT_THAT(SetLock(m_fd.get(), F_WRLCK, 0, 1), SyscallSucceeds());
    pid_t pid = ForkAndRun([&] {
        int fd = Open();
        if (SetLock(fd, F_WRLCK, 1, 1) != 0)
            return 1;
        Turns::Send(turns.to_parent[1]);
        // Waits for the parent's byte 0; the parent's request for byte 1 closes the cycle.
        if (SetLock(fd, F_WRLCK, 0, 1, F_SETLKW) != 0)
            return 2;
        return 0;
    });
    ASSERT_TRUE(Turns::Wait(turns.to_parent[0]));
    usleep(100 * 1000);  // the child is blocked by now
    EXPECT_THAT(SetLock(m_fd.get(), F_WRLCK, 1, 1, F_SETLKW), SyscallFailsWithErrno(EDEADLK));
    ASSERT_THAT(SetLock(m_fd.get(), F_UNLCK, 0, 1), SyscallSucceeds());
    EXPECT_EQ(WaitStatus(pid), 0);
}

// ---- OFD locks ----

TEST_F(LockTest, OfdLocksBelongToTheDescription) {
    Fd other(Open());
    ASSERT_THAT(SetLock(m_fd.get(), F_WRLCK, 0, 10, F_OFD_SETLK), SyscallSucceeds());
    // Another description in the same process conflicts; the reported pid is -1.
    EXPECT_THAT(SetLock(other.get(), F_WRLCK, 5, 1, F_OFD_SETLK), SyscallFailsWithErrno(EAGAIN));
    EXPECT_EQ(GetLock(other.get(), 0, 0, F_OFD_GETLK), "W 0 10 -1");
    // POSIX locks of this process are another owner too.
    EXPECT_THAT(SetLock(other.get(), F_WRLCK, 5, 1), SyscallFailsWithErrno(EAGAIN));
    EXPECT_EQ(GetLock(other.get(), 0, 0), "W 0 10 -1");
    // Closing another fd of the file does not release OFD locks; closing the description does.
    close(Open());
    other.Reset();
    EXPECT_EQ(ChildSees(0, 0, "W 0 10 -1", F_OFD_GETLK), 0);
    m_fd.Reset();
    EXPECT_EQ(ChildSees(0, 0, "unlocked", F_OFD_GETLK), 0);
}

TEST_F(LockTest, OfdGetlkSeesPosixLocksOfTheSameProcess) {
    ASSERT_THAT(SetLock(m_fd.get(), F_RDLCK, 0, 10), SyscallSucceeds());
    EXPECT_EQ(GetLock(m_fd.get(), 0, 0, F_OFD_GETLK), "R 0 10 " + std::to_string(getpid()));
}

TEST_F(LockTest, OfdPidMustBeZero) {
    struct flock fl = Range(F_WRLCK, 0, 0);
    fl.l_pid = getpid();
    EXPECT_THAT(fcntl(m_fd.get(), F_OFD_SETLK, &fl), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(fcntl(m_fd.get(), F_OFD_GETLK, &fl), SyscallFailsWithErrno(EINVAL));
    // POSIX commands ignore l_pid.
    EXPECT_THAT(fcntl(m_fd.get(), F_SETLK, &fl), SyscallSucceeds());
}

TEST_F(LockTest, OfdSetlkwWaitsForTheOtherDescription) {
    Fd other(Open());
    ASSERT_THAT(SetLock(m_fd.get(), F_WRLCK, 0, 10, F_OFD_SETLK), SyscallSucceeds());
    pid_t pid = ForkAndRun([&] {
        usleep(50 * 1000);
        return SetLock(m_fd.get(), F_UNLCK, 0, 10, F_OFD_SETLK) == 0 ? 0 : 1;
    });
    EXPECT_THAT(SetLock(other.get(), F_WRLCK, 0, 1, F_OFD_SETLKW), SyscallSucceeds());
    EXPECT_EQ(WaitStatus(pid), 0);
}

}  // namespace
}  // namespace moat::conformance
