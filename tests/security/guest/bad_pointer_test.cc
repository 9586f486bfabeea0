// Bad pointers in every pointer argument of the most used syscalls (issue #7): the table in
// bad_pointer_rows_*.cc, run natively as uid 65534 and under moat on every platform. Native
// Linux is the reference; the answers must be the same, and the sandbox must keep serving. Calls
// go through raw syscall() so glibc neither checks nor touches the pointers first.

#include "tests/security/guest/bad_pointer.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace moat::security {

char const* BadKindName(BadKind kind) {
    static constexpr char const* kNames[kBadKinds] = {"NULL", "(void*)1", "kernel address", "non-canonical address",
                                                      "unmapped page", "PROT_NONE page"};
    return kNames[kind];
}

namespace {

// [good page][PROT_NONE page][unmapped page], made once: the bad pages stay bad for the whole run.
struct BadPages {
    char* good = nullptr;
    BadPages() {
        long page = sysconf(_SC_PAGESIZE);
        void* p = mmap(nullptr, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return;
        good = static_cast<char*>(p);
        mprotect(good + page, page, PROT_NONE);
        munmap(good + 2 * page, page);
    }
    void* Pointer(BadKind kind) const {
        long page = sysconf(_SC_PAGESIZE);
        switch (kind) {
        case kNull: return nullptr;
        case kLow: return reinterpret_cast<void*>(1);
        case kKernel: return reinterpret_cast<void*>(0xffff800000000000ull);
        case kNonCanonical: return reinterpret_cast<void*>(0x0000800000000000ull);
        case kUnmapped: return good + 2 * page;
        case kProtNone: return good + page;
        case kBadKinds: break;
        }
        return nullptr;
    }
    // `good_bytes` of good memory running into the PROT_NONE page.
    char* Straddle(size_t good_bytes) const { return good + sysconf(_SC_PAGESIZE) - good_bytes; }
};

BadPages const& Pages() {
    static BadPages const pages;
    return pages;
}

void CloseIf(int fd) {
    if (fd >= 0)
        close(fd);
}

}  // namespace

BadPointerEnv::BadPointerEnv() {
    char dir[] = "/tmp/moat-bad-pointer-XXXXXX";
    if (!mkdtemp(dir))
        return;
    scratch = dir;
    scratch_file = scratch + "/f";
    scratch_file_fd = open(scratch_file.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    file = open("/etc/os-release", O_RDONLY | O_CLOEXEC);
    int p[2], s[2], d[2];
    if (scratch_file_fd < 0 || file < 0 || pipe2(p, O_CLOEXEC) != 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) != 0 ||
        socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, d) != 0)
        return;
    pipe_r = p[0], pipe_w = p[1], stream_a = s[0], stream_b = s[1], dgram_a = d[0], dgram_b = d[1];
    m_ok = write(scratch_file_fd, "0123456789abcdef", 16) == 16 && write(pipe_w, "pipedata", 8) == 8 &&
           write(stream_a, "streamed", 8) == 8 && write(dgram_a, "datagram", 8) == 8;
}

BadPointerEnv::~BadPointerEnv() {
    for (int fd : {file, scratch_file_fd, pipe_r, pipe_w, stream_a, stream_b, dgram_a, dgram_b, m_udp, m_udp_rx,
                   m_udp_tx, m_listener, m_connector, m_epoll, m_pty})
        CloseIf(fd);
    if (m_zombie > 0)
        waitpid(m_zombie, nullptr, 0);  // ECHILD when the row's call reaped it: fine
    if (!scratch.empty()) {
        // The rows create at most these names.
        for (char const* name : {"f", "new", "link", "sym", "dir", "sock", "moved"}) {
            std::string path = scratch + "/" + name;
            unlink(path.c_str());
            rmdir(path.c_str());
        }
        rmdir(scratch.c_str());
    }
}

int BadPointerEnv::Udp() {
    if (m_udp < 0)
        m_udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    return m_udp;
}

int BadPointerEnv::UdpWithDatagram() {
    if (m_udp_rx >= 0)
        return m_udp_rx;
    m_udp_rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    m_udp_tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(m_udp_rx, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        getsockname(m_udp_rx, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        sendto(m_udp_tx, "datagram", 8, 0, reinterpret_cast<sockaddr*>(&addr), len) != 8)
        return -1;
    pollfd ready = {m_udp_rx, POLLIN, 0};
    poll(&ready, 1, 5000);  // loopback delivery is immediate natively; let the sandbox's catch up
    return m_udp_rx;
}

int BadPointerEnv::PendingListener() {
    if (m_listener >= 0)
        return m_listener;
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::string path = scratch + "/sock";
    memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    m_listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    m_connector = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (bind(m_listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(m_listener, 4) != 0 ||
        connect(m_connector, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
        return -1;
    return m_listener;
}

int BadPointerEnv::ReadyEpoll() {
    if (m_epoll >= 0)
        return m_epoll;
    m_epoll = epoll_create1(EPOLL_CLOEXEC);
    epoll_event event = {};
    event.events = EPOLLIN;
    if (epoll_ctl(m_epoll, EPOLL_CTL_ADD, pipe_r, &event) != 0)
        return -1;
    return m_epoll;
}

int BadPointerEnv::PtyMaster() {
    if (m_pty < 0)
        m_pty = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    return m_pty;
}

pid_t BadPointerEnv::Zombie() {
    if (m_zombie > 0)
        return m_zombie;
    m_zombie = fork();
    if (m_zombie == 0)
        _exit(0);
    // Until it has exited, a wait would block rather than touch the pointer: wait for the exit
    // without reaping it.
    siginfo_t info;
    waitid(P_PID, m_zombie, &info, WEXITED | WNOWAIT);
    return m_zombie;
}

int InChild(int (*fn)(void* bad), void* bad) {
    pid_t child = fork();
    if (child == 0)
        _exit(fn(bad));
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) != child)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

namespace {

class BadPointerTest : public ::testing::TestWithParam<Row> {};

TEST_P(BadPointerTest, AnswersLikeLinux) {
    Row const& row = GetParam();
    ASSERT_NE(Pages().good, nullptr);
    for (size_t k = 0; k < kBadKinds; ++k) {
        auto const kind = static_cast<BadKind>(k);
        int const want = row.expected.by_kind[kind];
        if (want == kSkip)
            continue;
        BadPointerEnv env;
        ASSERT_TRUE(env.ok()) << strerrorname_np(errno);
        errno = 0;
        long const rc = row.call(env, Pages().Pointer(kind));
        int const err = errno;
        if (want == kSucceeds) {
            EXPECT_GE(rc, 0) << BadKindName(kind) << ": failed with " << strerrorname_np(err);
        } else {
            EXPECT_EQ(rc, -1) << BadKindName(kind) << ": succeeded";
            EXPECT_EQ(err, want) << BadKindName(kind) << ": wanted " << strerrorname_np(want) << ", got "
                                 << (rc == -1 ? strerrorname_np(err) : "success");
        }
        // Whatever happened, the sandbox still answers.
        ASSERT_GT(syscall(SYS_getpid), 0) << "after " << BadKindName(kind);
    }
}

// After every test (the rows and the straddling buffers), the sandbox still serves ordinary
// calls with good memory: a failure here fails the run.
class SandboxStillServes : public ::testing::Environment {
public:
    void TearDown() override {
        int fds[2];
        ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
        char buf[16] = {};
        EXPECT_EQ(write(fds[1], "still here", 10), 10);
        EXPECT_EQ(read(fds[0], buf, sizeof(buf)), 10);
        EXPECT_STREQ(buf, "still here");
        close(fds[0]);
        close(fds[1]);
    }
};
[[maybe_unused]] auto* const g_still_serves = ::testing::AddGlobalTestEnvironment(new SandboxStillServes);

std::string RowName(::testing::TestParamInfo<Row> const& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Fs, BadPointerTest, ::testing::ValuesIn(FsRows()), RowName);
INSTANTIATE_TEST_SUITE_P(Sys, BadPointerTest, ::testing::ValuesIn(SysRows()), RowName);

}  // namespace
}  // namespace moat::security
