// Pseudo-terminals: /dev/ptmx and /dev/pts, the line discipline, terminal ioctls, controlling
// terminals and job control.
//
// Natively the line discipline runs asynchronously (a kernel worker moves typed bytes into
// it), so the tests wait for results with blocking reads, never by sleeping; alarm() turns a
// hang into a failure.

#include "tests/conformance/process_util.h"
#include "tests/conformance/test_util.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>

namespace moat::conformance {
namespace {

constexpr long kDevptsMagic = 0x1cd1;

// A master with its slave unlocked; `slave` open with O_NOCTTY unless told otherwise.
struct PtyPair {
    Fd master;
    Fd slave;
    int index = -1;
    std::string path;
};

PtyPair OpenPair(bool open_slave = true) {
    PtyPair p;
    p.master = Fd(posix_openpt(O_RDWR | O_NOCTTY));
    EXPECT_GE(p.master.get(), 0) << strerror(errno);
    EXPECT_EQ(ioctl(p.master.get(), TIOCGPTN, &p.index), 0);
    p.path = "/dev/pts/" + std::to_string(p.index);
    int unlock = 0;
    EXPECT_EQ(ioctl(p.master.get(), TIOCSPTLCK, &unlock), 0);
    if (open_slave) {
        p.slave = Fd(open(p.path.c_str(), O_RDWR | O_NOCTTY));
        EXPECT_GE(p.slave.get(), 0) << strerror(errno);
    }
    return p;
}

void WriteAll(int fd, const std::string& s) { ASSERT_EQ(write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size())); }

// Reads exactly `n` bytes (blocking), or what arrived before an error or end of file.
std::string ReadExactly(int fd, size_t n) {
    std::string out;
    char buf[256];
    while (out.size() < n) {
        ssize_t r = read(fd, buf, std::min(sizeof(buf), n - out.size()));
        if (r <= 0)
            break;
        out.append(buf, static_cast<size_t>(r));
    }
    return out;
}

// One read(2) of at most `max` bytes.
std::string ReadOnce(int fd, size_t max = 256) {
    std::string buf(max, '\0');
    ssize_t r = read(fd, buf.data(), max);
    buf.resize(r > 0 ? static_cast<size_t>(r) : 0);
    return buf;
}

class PtyTest : public ::testing::Test {
protected:
    void SetUp() override { alarm(20); }
    void TearDown() override { alarm(0); }
};

TEST_F(PtyTest, OpenAndNodes) {
    PtyPair p = OpenPair(/*open_slave=*/false);
    ASSERT_GE(p.index, 0);
    EXPECT_EQ(isatty(p.master.get()), 1);

    struct stat st;
    ASSERT_THAT(stat(p.path.c_str(), &st), SyscallSucceeds());
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(major(st.st_rdev), 136u);
    EXPECT_EQ(minor(st.st_rdev), static_cast<unsigned>(p.index));
    EXPECT_EQ(st.st_uid, geteuid());
    // Linux's devpts default is 0600; mounted with mode=620 (containers, Moat) 0620.
    EXPECT_THAT(st.st_mode & 07777, ::testing::AnyOf(0600u, 0620u));

    ASSERT_THAT(stat("/dev/pts/ptmx", &st), SyscallSucceeds());
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, makedev(5, 2));
    ASSERT_THAT(stat("/dev/ptmx", &st), SyscallSucceeds());
    EXPECT_EQ(st.st_rdev, makedev(5, 2));

    struct statfs sfs;
    ASSERT_THAT(statfs("/dev/pts", &sfs), SyscallSucceeds());
    EXPECT_EQ(sfs.f_type, kDevptsMagic);

    // Locked until unlockpt; TIOCGPTN is the master's alone.
    int lock = 1;
    ASSERT_THAT(ioctl(p.master.get(), TIOCSPTLCK, &lock), SyscallSucceeds());
    EXPECT_THAT(open(p.path.c_str(), O_RDWR | O_NOCTTY), SyscallFailsWithErrno(EIO));
    EXPECT_THAT(ioctl(p.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY), SyscallFailsWithErrno(EIO));
    int got = -1;
    ASSERT_THAT(ioctl(p.master.get(), TIOCGPTLCK, &got), SyscallSucceeds());
    EXPECT_EQ(got, 1);
    lock = 0;
    ASSERT_THAT(ioctl(p.master.get(), TIOCSPTLCK, &lock), SyscallSucceeds());
    Fd slave(open(p.path.c_str(), O_RDWR | O_NOCTTY));
    ASSERT_GE(slave.get(), 0);
    EXPECT_EQ(isatty(slave.get()), 1);
    EXPECT_THAT(ioctl(slave.get(), TIOCGPTN, &got), SyscallFailsWithErrno(ENOTTY));
    EXPECT_THAT(lseek(slave.get(), 0, SEEK_CUR), SyscallFailsWithErrno(ESPIPE));
    EXPECT_THAT(lseek(p.master.get(), 0, SEEK_CUR), SyscallFailsWithErrno(ESPIPE));
    char* name = ptsname(p.master.get());
    ASSERT_NE(name, nullptr);
    EXPECT_EQ(std::string(name), p.path);

    // TIOCGPTPEER: the same slave, without a path walk.
    Fd peer(ioctl(p.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY));
    ASSERT_GE(peer.get(), 0);
    struct stat a, b;
    ASSERT_EQ(fstat(peer.get(), &a), 0);
    ASSERT_EQ(fstat(slave.get(), &b), 0);
    EXPECT_EQ(a.st_rdev, b.st_rdev);

    // A non-tty keeps ENOTTY.
    Fd null(open("/dev/null", O_RDWR));
    struct termios t;
    EXPECT_THAT(ioctl(null.get(), TCGETS, &t), SyscallFailsWithErrno(ENOTTY));
}

TEST_F(PtyTest, TermiosDefaultsAndRoundTrip) {
    PtyPair p = OpenPair();
    struct termios t;
    ASSERT_THAT(tcgetattr(p.slave.get(), &t), SyscallSucceeds());
    EXPECT_EQ(t.c_iflag, static_cast<tcflag_t>(ICRNL | IXON));
    EXPECT_EQ(t.c_oflag, static_cast<tcflag_t>(OPOST | ONLCR));
    EXPECT_EQ(t.c_cflag, static_cast<tcflag_t>(B38400 | CS8 | CREAD));
    EXPECT_EQ(t.c_lflag, static_cast<tcflag_t>(ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN));
    EXPECT_EQ(t.c_cc[VINTR], 3);
    EXPECT_EQ(t.c_cc[VEOF], 4);
    EXPECT_EQ(t.c_cc[VERASE], 0177);
    EXPECT_EQ(t.c_cc[VKILL], 025);
    EXPECT_EQ(t.c_cc[VMIN], 1);
    EXPECT_EQ(t.c_cc[VTIME], 0);

    struct termios raw = t;
    cfmakeraw(&raw);
    raw.c_cc[VMIN] = 5;
    raw.c_cc[VTIME] = 7;
    ASSERT_THAT(tcsetattr(p.slave.get(), TCSANOW, &raw), SyscallSucceeds());
    struct termios back;
    // The master's termios requests act on the slave.
    ASSERT_THAT(tcgetattr(p.master.get(), &back), SyscallSucceeds());
    EXPECT_EQ(back.c_iflag, raw.c_iflag);
    EXPECT_EQ(back.c_oflag, raw.c_oflag);
    EXPECT_EQ(back.c_lflag, raw.c_lflag);
    EXPECT_EQ(back.c_cc[VMIN], 5);
    EXPECT_EQ(back.c_cc[VTIME], 7);

    // A pty line is always 8 bits, receiver on, no parity.
    struct termios seven = t;
    seven.c_cflag = (seven.c_cflag & ~CSIZE) | CS7 | PARENB;
    ASSERT_THAT(tcsetattr(p.master.get(), TCSAFLUSH, &seven), SyscallSucceeds());
    ASSERT_THAT(tcgetattr(p.slave.get(), &back), SyscallSucceeds());
    EXPECT_EQ(back.c_cflag & (CSIZE | PARENB | CREAD), static_cast<tcflag_t>(CS8 | CREAD));

    EXPECT_THAT(ioctl(p.slave.get(), TCGETS, nullptr), SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(ioctl(p.slave.get(), TCSETS, nullptr), SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(ioctl(p.slave.get(), TCFLSH, 7), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(ioctl(p.slave.get(), TCXONC, 7), SyscallFailsWithErrno(EINVAL));
    EXPECT_THAT(ioctl(p.slave.get(), TCFLSH, TCIOFLUSH), SyscallSucceeds());
    EXPECT_THAT(ioctl(p.slave.get(), TCSBRK, 1), SyscallSucceeds());
    int n = -1;
    EXPECT_THAT(ioctl(p.slave.get(), TIOCOUTQ, &n), SyscallSucceeds());
    EXPECT_EQ(n, 0);
}

TEST_F(PtyTest, CanonicalReadsOneLineAtATime) {
    PtyPair p = OpenPair();
    WriteAll(p.master.get(), "hello\nworld\n");
    EXPECT_EQ(ReadOnce(p.slave.get()), "hello\n");
    EXPECT_EQ(ReadOnce(p.slave.get()), "world\n");

    // A short read takes part of a line; the rest stays.
    WriteAll(p.master.get(), "abcdef\n");
    EXPECT_EQ(ReadOnce(p.slave.get(), 3), "abc");
    EXPECT_EQ(ReadOnce(p.slave.get()), "def\n");

    // Line editing: ERASE (DEL), KILL (^U), WERASE (^W); CR becomes NL (ICRNL).
    WriteAll(p.master.get(), "abx\x7f" "c\r");
    EXPECT_EQ(ReadOnce(p.slave.get()), "abc\n");
    WriteAll(p.master.get(), "junk\x15ok\n");
    EXPECT_EQ(ReadOnce(p.slave.get()), "ok\n");
    WriteAll(p.master.get(), "one two\x17three\n");
    EXPECT_EQ(ReadOnce(p.slave.get()), "one three\n");

    // EOF (^D) ends a line without being read; alone it reads as end of file.
    WriteAll(p.master.get(), "ab\x04");
    EXPECT_EQ(ReadOnce(p.slave.get()), "ab");
    WriteAll(p.master.get(), "\x04");
    char c;
    EXPECT_THAT(read(p.slave.get(), &c, 1), SyscallSucceedsWithValue(0));

    // FIONREAD counts complete lines only.
    WriteAll(p.master.get(), "xyz\n12");
    EXPECT_EQ(ReadOnce(p.slave.get()), "xyz\n");
    int avail = -1;
    ASSERT_THAT(ioctl(p.slave.get(), FIONREAD, &avail), SyscallSucceeds());
    EXPECT_EQ(avail, 0);
    WriteAll(p.master.get(), "\n");
    EXPECT_EQ(ReadOnce(p.slave.get()), "12\n");

    // IGNCR drops CR; INLCR turns NL into CR.
    struct termios t;
    ASSERT_EQ(tcgetattr(p.slave.get(), &t), 0);
    t.c_iflag = (t.c_iflag & ~ICRNL) | IGNCR;
    ASSERT_EQ(tcsetattr(p.slave.get(), TCSANOW, &t), 0);
    WriteAll(p.master.get(), "a\rb\n");
    EXPECT_EQ(ReadOnce(p.slave.get()), "ab\n");

    // Nothing to read and O_NONBLOCK: EAGAIN.
    Fd nb(open(p.path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK));
    ASSERT_GE(nb.get(), 0);
    EXPECT_THAT(read(nb.get(), &c, 1), SyscallFailsWithErrno(EAGAIN));
}

TEST_F(PtyTest, EchoAndOutputProcessing) {
    PtyPair p = OpenPair();
    WriteAll(p.master.get(), "hi\n");
    EXPECT_EQ(ReadExactly(p.master.get(), 4), "hi\r\n");
    EXPECT_EQ(ReadOnce(p.slave.get()), "hi\n");

    // ECHOCTL shows control characters as ^X; ECHOE erases with backspace-space-backspace.
    WriteAll(p.master.get(), "\x01z\x7f\n");
    EXPECT_EQ(ReadExactly(p.master.get(), 8), "^Az\b \b\r\n");
    EXPECT_EQ(ReadOnce(p.slave.get()), "\x01\n");

    // Output: ONLCR turns NL into CR NL; without OPOST bytes pass unchanged.
    WriteAll(p.slave.get(), "a\nb");
    EXPECT_EQ(ReadExactly(p.master.get(), 4), "a\r\nb");
    struct termios t;
    ASSERT_EQ(tcgetattr(p.slave.get(), &t), 0);
    t.c_oflag &= ~OPOST;
    ASSERT_EQ(tcsetattr(p.slave.get(), TCSANOW, &t), 0);
    WriteAll(p.slave.get(), "c\nd");
    EXPECT_EQ(ReadExactly(p.master.get(), 3), "c\nd");

    // ECHO off, ECHONL on: only the newline is echoed (the slave's "!" marks the end).
    t.c_oflag |= OPOST;
    t.c_lflag = (t.c_lflag & ~ECHO) | ECHONL;
    ASSERT_EQ(tcsetattr(p.slave.get(), TCSANOW, &t), 0);
    WriteAll(p.master.get(), "secret\n");
    EXPECT_EQ(ReadOnce(p.slave.get()), "secret\n");
    WriteAll(p.slave.get(), "!");
    EXPECT_EQ(ReadExactly(p.master.get(), 3), "\r\n!");

    int avail = -1;
    WriteAll(p.slave.get(), "xyz");
    EXPECT_EQ(ReadExactly(p.master.get(), 1), "x");
    ASSERT_THAT(ioctl(p.master.get(), FIONREAD, &avail), SyscallSucceeds());
    EXPECT_EQ(avail, 2);
}

TEST_F(PtyTest, RawModeVminVtime) {
    PtyPair p = OpenPair();
    struct termios t;
    ASSERT_EQ(tcgetattr(p.slave.get(), &t), 0);
    cfmakeraw(&t);
    t.c_cc[VMIN] = 3;
    t.c_cc[VTIME] = 0;
    ASSERT_EQ(tcsetattr(p.slave.get(), TCSANOW, &t), 0);

    // VMIN 3: the read waits for three bytes; no echo, ^C is data.
    WriteAll(p.master.get(), "a\x03" "c");
    std::string got = ReadOnce(p.slave.get(), 10);
    EXPECT_EQ(got, std::string("a\x03" "c"));
    // No echo: the next byte the master sees is the slave's.
    WriteAll(p.slave.get(), "!");
    EXPECT_EQ(ReadExactly(p.master.get(), 1), "!");

    // VMIN 0, VTIME 0: a poll — nothing there reads 0 at once.
    t.c_cc[VMIN] = 0;
    ASSERT_EQ(tcsetattr(p.slave.get(), TCSANOW, &t), 0);
    char buf[8];
    EXPECT_THAT(read(p.slave.get(), buf, sizeof(buf)), SyscallSucceedsWithValue(0));

    // VMIN 0, VTIME 1: waits up to a tenth of a second for a byte.
    t.c_cc[VTIME] = 1;
    ASSERT_EQ(tcsetattr(p.slave.get(), TCSANOW, &t), 0);
    auto start = std::chrono::steady_clock::now();
    EXPECT_THAT(read(p.slave.get(), buf, sizeof(buf)), SyscallSucceedsWithValue(0));
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(80));

    // VMIN 1 and O_NONBLOCK with nothing typed: EAGAIN.
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    ASSERT_EQ(tcsetattr(p.slave.get(), TCSANOW, &t), 0);
    Fd nb(open(p.path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK));
    ASSERT_GE(nb.get(), 0);
    EXPECT_THAT(read(nb.get(), buf, sizeof(buf)), SyscallFailsWithErrno(EAGAIN));

    // Back to canonical mode: raw bytes typed before read as one line.
    WriteAll(p.master.get(), "xy");
    ASSERT_EQ(ReadOnce(p.slave.get(), 1), "x");
    t.c_lflag |= ICANON;
    ASSERT_EQ(tcsetattr(p.slave.get(), TCSANOW, &t), 0);
    EXPECT_EQ(ReadOnce(p.slave.get()), "y");
}

// In a child: a new session whose controlling terminal is the pty at `path` (opened without
// O_NOCTTY). Returns the slave fd or -1.
int BecomeSessionWithTerminal(const std::string& path) {
    if (setsid() < 0)
        return -1;
    return open(path.c_str(), O_RDWR);
}

TEST_F(PtyTest, ControllingTerminalIoctls) {
    PtyPair p = OpenPair();
    pid_t pid = ForkAndRun([&] {
        alarm(10);
        if (setsid() < 0)
            return 1;
        int s = open(p.path.c_str(), O_RDWR | O_NOCTTY);
        if (s < 0)
            return 2;
        pid_t v;
        if (ioctl(s, TIOCGSID, &v) != -1 || errno != ENOTTY)
            return 3;  // O_NOCTTY: not ours yet
        if (open("/dev/tty", O_RDWR) != -1 || errno != ENXIO)
            return 4;  // a new session has no terminal
        if (ioctl(s, TIOCSCTTY, 0) != 0)
            return 5;
        if (ioctl(s, TIOCGSID, &v) != 0 || v != getpid())
            return 6;
        if (ioctl(s, TIOCGPGRP, &v) != 0 || v != getpid())
            return 7;
        if (tcgetsid(s) != getpid())
            return 8;
        if (ioctl(s, TIOCSCTTY, 0) != 0)
            return 9;  // already ours
        // /dev/tty is now this terminal (its node is still 5:0).
        int tty = open("/dev/tty", O_RDWR);
        struct stat a;
        if (tty < 0 || fstat(tty, &a) != 0 || a.st_rdev != makedev(5, 0) || tcgetsid(tty) != getpid())
            return 10;
        // The master answers TIOCGPGRP and TIOCGSID for anyone holding it.
        if (ioctl(p.master.get(), TIOCGSID, &v) != 0 || v != getpid())
            return 11;
        // TIOCSPGRP: a group of this session only.
        if (tcsetpgrp(s, 0x3fffffff) != -1 || errno != ESRCH)
            return 12;
        if (tcsetpgrp(s, -1) != -1 || errno != EINVAL)
            return 13;
        pid_t child = fork();
        if (child == 0) {
            // Not a session leader: TIOCSCTTY is refused; TIOCNOTTY drops only our own.
            _exit(ioctl(s, TIOCSCTTY, 0) == -1 && errno == EPERM ? 0 : 1);
        }
        int status = WaitStatus(child);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            return 14;
        // TIOCNOTTY by the leader hangs up the foreground group (us): ignore SIGHUP.
        signal(SIGHUP, SIG_IGN);
        if (ioctl(s, TIOCNOTTY) != 0)
            return 15;
        if (ioctl(s, TIOCGSID, &v) != -1 || errno != ENOTTY)
            return 16;
        if (ioctl(s, TIOCNOTTY) != -1 || errno != ENOTTY)
            return 17;
        return 0;
    });
    int status = WaitStatus(pid);
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 0);

    // The master is never a controlling terminal; TIOCGSID without a session is ENOTTY.
    pid_t v;
    EXPECT_THAT(ioctl(p.master.get(), TIOCNOTTY), SyscallFailsWithErrno(ENOTTY));
    EXPECT_THAT(ioctl(p.master.get(), TIOCGSID, &v), SyscallFailsWithErrno(ENOTTY));
    EXPECT_THAT(ioctl(p.slave.get(), TIOCGPGRP, &v), SyscallFailsWithErrno(ENOTTY));
}

TEST_F(PtyTest, OpenWithoutNoCttyMakesControllingTerminal) {
    PtyPair p = OpenPair();
    pid_t pid = ForkAndRun([&] {
        alarm(10);
        int s = BecomeSessionWithTerminal(p.path);
        if (s < 0)
            return 1;
        return tcgetsid(s) == getpid() && tcgetpgrp(s) == getpgrp() ? 0 : 2;
    });
    int status = WaitStatus(pid);
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

// The child takes the terminal, tells the parent through `sync`, then runs `then`.
// The child closes `master` (its copy would keep the master open).
template <typename Fn>
pid_t ChildWithTerminal(const std::string& path, int master, int sync_write, Fn then) {
    return ForkAndRun([&] {
        alarm(10);
        close(master);
        int s = BecomeSessionWithTerminal(path);
        if (s < 0)
            return 100;
        return then(s, sync_write);
    });
}

TEST_F(PtyTest, InterruptCharacterSignalsForegroundGroup) {
    PtyPair p = OpenPair();
    int sync[2];
    ASSERT_EQ(pipe(sync), 0);
    pid_t pid = ChildWithTerminal(p.path, p.master.get(), sync[1], [](int s, int w) {
        char c = 'r';
        if (write(w, &c, 1) != 1)
            return 101;
        read(s, &c, 1);  // SIGINT (default action) ends us here
        return 102;
    });
    close(sync[1]);
    char c;
    ASSERT_EQ(read(sync[0], &c, 1), 1);
    close(sync[0]);
    WriteAll(p.master.get(), "\x03");
    int status = WaitStatus(pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << status;
    EXPECT_EQ(WTERMSIG(status), SIGINT);
    EXPECT_EQ(ReadExactly(p.master.get(), 2), "^C");
}

TEST_F(PtyTest, WindowSizeAndSigwinch) {
    PtyPair p = OpenPair();
    struct winsize ws = {};
    ASSERT_THAT(ioctl(p.slave.get(), TIOCGWINSZ, &ws), SyscallSucceeds());
    EXPECT_EQ(ws.ws_row, 0);
    EXPECT_EQ(ws.ws_col, 0);
    int sync[2];
    ASSERT_EQ(pipe(sync), 0);
    pid_t pid = ChildWithTerminal(p.path, p.master.get(), sync[1], [](int s, int w) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGWINCH);
        sigprocmask(SIG_BLOCK, &set, nullptr);
        char c = 'r';
        if (write(w, &c, 1) != 1)
            return 101;
        struct timespec limit = {5, 0};
        if (sigtimedwait(&set, nullptr, &limit) != SIGWINCH)
            return 102;
        struct winsize now;
        if (ioctl(s, TIOCGWINSZ, &now) != 0 || now.ws_row != 24 || now.ws_col != 80)
            return 103;
        return 0;
    });
    close(sync[1]);
    char c;
    ASSERT_EQ(read(sync[0], &c, 1), 1);
    close(sync[0]);
    ws.ws_row = 24;
    ws.ws_col = 80;
    ASSERT_THAT(ioctl(p.master.get(), TIOCSWINSZ, &ws), SyscallSucceeds());
    int status = WaitStatus(pid);
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 0);
    struct winsize back = {};
    ASSERT_THAT(ioctl(p.slave.get(), TIOCGWINSZ, &back), SyscallSucceeds());
    EXPECT_EQ(back.ws_row, 24);
    EXPECT_EQ(back.ws_col, 80);
    EXPECT_THAT(ioctl(p.slave.get(), TIOCSWINSZ, nullptr), SyscallFailsWithErrno(EFAULT));
}

TEST_F(PtyTest, MasterReadsEioAfterSlaveCloses) {
    PtyPair p = OpenPair();
    struct termios t;
    ASSERT_EQ(tcgetattr(p.slave.get(), &t), 0);
    t.c_lflag &= ~ECHO;
    ASSERT_EQ(tcsetattr(p.slave.get(), TCSANOW, &t), 0);
    WriteAll(p.slave.get(), "x");
    p.slave = Fd();
    // What the slave wrote is still read, then EIO.
    EXPECT_EQ(ReadExactly(p.master.get(), 1), "x");
    char c;
    EXPECT_THAT(read(p.master.get(), &c, 1), SyscallFailsWithErrno(EIO));
    // The master may still write; a new slave open clears the condition.
    EXPECT_THAT(write(p.master.get(), "y", 1), SyscallSucceedsWithValue(1));
    Fd again(open(p.path.c_str(), O_RDWR | O_NOCTTY));
    ASSERT_GE(again.get(), 0);
    WriteAll(again.get(), "z");
    EXPECT_EQ(ReadExactly(p.master.get(), 1), "z");
}

// poll's view: the master is writable, readable once the slave wrote, hung up (POLLHUP) once
// the slave closed; a hung-up slave reports everything.
TEST_F(PtyTest, Readiness) {
    PtyPair p = OpenPair();
    struct pollfd m = {p.master.get(), POLLIN | POLLOUT, 0};
    ASSERT_THAT(poll(&m, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(m.revents, POLLOUT);
    struct pollfd s = {p.slave.get(), POLLIN, 0};
    EXPECT_THAT(poll(&s, 1, 0), SyscallSucceedsWithValue(0));

    WriteAll(p.slave.get(), "x");
    m.events = POLLIN;
    ASSERT_THAT(poll(&m, 1, 5000), SyscallSucceedsWithValue(1));
    EXPECT_EQ(m.revents, POLLIN);
    // A line typed on the master makes the slave readable (canonical mode: a whole line).
    WriteAll(p.master.get(), "partial");
    WriteAll(p.master.get(), "\n");
    ASSERT_THAT(poll(&s, 1, 5000), SyscallSucceedsWithValue(1));
    EXPECT_EQ(s.revents, POLLIN);
    EXPECT_EQ(ReadOnce(p.slave.get()), "partial\n");

    p.slave = Fd();
    // Drain the slave's "x" and the echo; then only the hang-up is left.
    EXPECT_EQ(ReadExactly(p.master.get(), 10), "xpartial\r\n");
    m.events = POLLIN | POLLOUT;
    ASSERT_THAT(poll(&m, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(m.revents, POLLOUT | POLLHUP);

    PtyPair q = OpenPair();
    q.master = Fd();
    struct pollfd hung = {q.slave.get(), POLLIN | POLLOUT, 0};
    ASSERT_THAT(poll(&hung, 1, 0), SyscallSucceedsWithValue(1));
    EXPECT_EQ(hung.revents, POLLIN | POLLOUT | POLLERR | POLLHUP);
}

TEST_F(PtyTest, SlaveHangsUpWhenMasterCloses) {
    PtyPair p = OpenPair();
    std::string path = p.path;
    p.master = Fd();
    char c;
    EXPECT_THAT(read(p.slave.get(), &c, 1), SyscallSucceedsWithValue(0));
    EXPECT_THAT(write(p.slave.get(), "x", 1), SyscallFailsWithErrno(EIO));
    struct termios t;
    EXPECT_THAT(ioctl(p.slave.get(), TCGETS, &t), SyscallFailsWithErrno(EIO));
    struct stat st;
    EXPECT_THAT(stat(path.c_str(), &st), SyscallFailsWithErrno(ENOENT));
}

TEST_F(PtyTest, SessionLeaderGetsSighupWhenMasterCloses) {
    PtyPair p = OpenPair();
    p.slave = Fd();
    int sync[2];
    ASSERT_EQ(pipe(sync), 0);
    pid_t pid = ChildWithTerminal(p.path, p.master.get(), sync[1], [](int s, int w) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGHUP);
        sigprocmask(SIG_BLOCK, &set, nullptr);
        char c = 'r';
        if (write(w, &c, 1) != 1)
            return 101;
        struct timespec limit = {5, 0};
        if (sigtimedwait(&set, nullptr, &limit) != SIGHUP)
            return 102;
        if (read(s, &c, 1) != 0)
            return 103;
        return 0;
    });
    close(sync[1]);
    char c;
    ASSERT_EQ(read(sync[0], &c, 1), 1);
    close(sync[0]);
    p.master = Fd();
    int status = WaitStatus(pid);
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

// A background process group of the terminal's session is stopped by SIGTTOU when it sets the
// foreground group and by SIGTTIN when it reads.
TEST_F(PtyTest, BackgroundGroupIsStopped) {
    PtyPair p = OpenPair();
    for (int signo : {SIGTTOU, SIGTTIN}) {
        pid_t pid = ChildWithTerminal(p.path, p.master.get(), -1, [signo](int s, int) {
            pid_t bg = fork();
            if (bg == 0) {
                setpgid(0, 0);
                if (signo == SIGTTOU) {
                    tcsetpgrp(s, getpgrp());
                } else {
                    char c;
                    read(s, &c, 1);
                }
                _exit(1);  // not stopped: wrong
            }
            setpgid(bg, bg);
            int status = 0;
            if (waitpid(bg, &status, WUNTRACED) != bg)
                return 101;
            kill(bg, SIGKILL);
            waitpid(bg, nullptr, 0);
            if (!WIFSTOPPED(status))
                return 102;
            return WSTOPSIG(status) == signo ? 0 : 103;
        });
        int status = WaitStatus(pid);
        ASSERT_TRUE(WIFEXITED(status)) << status;
        EXPECT_EQ(WEXITSTATUS(status), 0) << strsignal(signo);
    }
}

// With SIGTTOU ignored, a background group may take the foreground; reads with SIGTTIN ignored
// fail with EIO.
TEST_F(PtyTest, BackgroundGroupWithJobSignalsIgnored) {
    PtyPair p = OpenPair();
    pid_t pid = ChildWithTerminal(p.path, p.master.get(), -1, [](int s, int) {
        pid_t bg = fork();
        if (bg == 0) {
            setpgid(0, 0);
            signal(SIGTTIN, SIG_IGN);
            char c;
            if (read(s, &c, 1) != -1 || errno != EIO)
                _exit(1);
            signal(SIGTTOU, SIG_IGN);
            if (tcsetpgrp(s, getpgrp()) != 0)
                _exit(2);
            _exit(tcgetpgrp(s) == getpgrp() ? 0 : 3);
        }
        setpgid(bg, bg);
        int status = WaitStatus(bg);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + status;
    });
    int status = WaitStatus(pid);
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(PtyTest, ExclusiveMode) {
    PtyPair p = OpenPair();
    ASSERT_THAT(ioctl(p.slave.get(), TIOCEXCL), SyscallSucceeds());
    int excl = 0;
    ASSERT_THAT(ioctl(p.slave.get(), TIOCGEXCL, &excl), SyscallSucceeds());
    EXPECT_EQ(excl, 1);
    int fd = open(p.path.c_str(), O_RDWR | O_NOCTTY);
    if (geteuid() == 0) {
        EXPECT_GE(fd, 0);  // CAP_SYS_ADMIN opens anyway
    } else {
        EXPECT_EQ(fd, -1);
        EXPECT_EQ(errno, EBUSY);
    }
    if (fd >= 0)
        close(fd);
    ASSERT_THAT(ioctl(p.slave.get(), TIOCNXCL), SyscallSucceeds());
    Fd again(open(p.path.c_str(), O_RDWR | O_NOCTTY));
    EXPECT_GE(again.get(), 0);
}

}  // namespace
}  // namespace moat::conformance
