// Guest microbenchmarks: the per-iteration cost of a few syscall shapes, measured from inside
// whatever runs this program (natively, `moat do`, runsc, proot). Plain C++ and std::chrono, so
// it depends on nothing that a sandbox might not provide.
//
//   syscall_bench [--repetitions R] [--min-time-ms T] [WORKLOAD...]
//
// For each workload: calibrate an iteration count that takes about T ms (default 100), run R
// repetitions (default 5), print "NAME<TAB>MEDIAN_NS_PER_OPERATION<TAB>ITERATIONS" on stdout (an
// iteration is one operation except where a workload says, e.g. mmap_touch_page: 64 pages).
// bench/compare parses that format; keep it stable.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace {

constexpr char kFile[] = "/etc/os-release";

volatile uint64_t g_sink;  // keeps results observable so nothing is optimised away

// glibc's getppid() (never cached), as programs call it: `mov $110,%eax; syscall`.
bool GetPpid() {
    g_sink = g_sink + static_cast<uint64_t>(getppid());
    return true;
}

bool ClockGettime() {
    timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return false;  // glibc: the vDSO
    g_sink = g_sink + static_cast<uint64_t>(ts.tv_nsec);
    return true;
}

bool OpenReadClose() {
    char buf[4096];
    int fd = open(kFile, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n <= 0) return false;
    g_sink = g_sink + static_cast<uint64_t>(buf[0]);
    return true;
}

bool Stat() {
    struct stat st;
    if (stat(kFile, &st) != 0) return false;
    g_sink = g_sink + static_cast<uint64_t>(st.st_size);
    return true;
}

// A 64 KiB scratch file in /tmp (the sandbox's tmpfs under moat), made on first use and unlinked at
// once so nothing is left behind; its descriptor stays open for the life of the program.
constexpr size_t kBlock = 64 * 1024;

int ScratchFd() {
    static int const fd = [] {
        char path[] = "/tmp/syscall_bench-XXXXXX";
        int made = mkstemp(path);
        if (made < 0) return -1;
        unlink(path);
        static char block[kBlock];
        memset(block, 'm', sizeof block);
        if (pwrite(made, block, sizeof block, 0) != static_cast<ssize_t>(sizeof block)) return -1;
        return made;
    }();
    return fd;
}

bool Write64K() {
    static char block[kBlock];
    int fd = ScratchFd();
    if (fd < 0) return false;
    block[0] = static_cast<char>(g_sink);
    if (pwrite(fd, block, sizeof block, 0) != static_cast<ssize_t>(sizeof block)) return false;
    return true;
}

bool Pread64K() {
    static char block[kBlock];
    int fd = ScratchFd();
    if (fd < 0) return false;
    if (pread(fd, block, sizeof block, 0) != static_cast<ssize_t>(sizeof block)) return false;
    g_sink = g_sink + static_cast<uint64_t>(block[kBlock - 1]);
    return true;
}

bool ForkWait() {
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) _exit(0);
    int status;
    return waitpid(pid, &status, 0) == pid && WIFEXITED(status);
}

bool ForkExecWait() {
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        char const* argv[] = {"/bin/true", nullptr};
        execv(argv[0], const_cast<char* const*>(argv));
        _exit(127);
    }
    int status;
    return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool ThreadCreateJoin() {
    pthread_t t;
    if (pthread_create(&t, nullptr, [](void*) -> void* { return nullptr; }, nullptr) != 0) return false;
    return pthread_join(t, nullptr) == 0;
}

// Pipe ping-pong: one byte to an echo child and back, a round trip through two pipes and two
// context switches. The child is forked on first use and exits when it reads end-of-file, which
// happens when this program exits and its pipe ends close.
struct EchoChild {
    int to_child = -1;
    int from_child = -1;
};

EchoChild const& Echo() {
    static EchoChild const echo = [] {
        EchoChild e;
        int down[2], up[2];
        if (pipe2(down, O_CLOEXEC) != 0 || pipe2(up, O_CLOEXEC) != 0) return e;
        pid_t pid = fork();
        if (pid < 0) return e;
        if (pid == 0) {
            close(down[1]);
            close(up[0]);
            char c;
            while (read(down[0], &c, 1) == 1 && write(up[1], &c, 1) == 1) {
            }
            _exit(0);
        }
        close(down[0]);
        close(up[1]);
        e.to_child = down[1];
        e.from_child = up[0];
        return e;
    }();
    return echo;
}

bool PipePingPong() {
    auto const& e = Echo();
    char c = static_cast<char>(g_sink);
    if (e.to_child < 0 || write(e.to_child, &c, 1) != 1) return false;
    if (read(e.from_child, &c, 1) != 1) return false;
    g_sink = g_sink + static_cast<uint64_t>(c);
    return true;
}

// Loopback TCP: a child process serves one connection, echoing (ping-pong) or draining
// (stream). Forked on first use; it exits at end-of-file, when this program exits.
int TcpChild(bool echo) {
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listener, 1) != 0 || getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int conn = accept(listener, nullptr, nullptr);
        static char buf[kBlock];
        ssize_t n;
        while ((n = read(conn, buf, echo ? 1 : sizeof buf)) > 0) {
            if (echo && write(conn, buf, static_cast<size_t>(n)) != n) break;
        }
        _exit(0);
    }
    close(listener);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return -1;
    return fd;
}

// One byte to the echo child over loopback TCP and back.
bool TcpPingPong() {
    static int const fd = TcpChild(true);
    char c = static_cast<char>(g_sink);
    if (fd < 0 || write(fd, &c, 1) != 1) return false;
    if (read(fd, &c, 1) != 1) return false;
    g_sink = g_sink + static_cast<uint64_t>(c);
    return true;
}

// 64 KiB written to a loopback TCP connection the child drains (throughput: 64 KiB / time).
bool TcpStream() {
    static int const fd = TcpChild(false);
    static char block[kBlock];
    block[0] = static_cast<char>(g_sink);
    if (fd < 0) return false;
    size_t done = 0;
    while (done < sizeof block) {
        ssize_t n = write(fd, block + done, sizeof block - done);
        if (n <= 0) return false;
        done += static_cast<size_t>(n);
    }
    return true;
}

// mmap of 64 anonymous pages, a write to each page, munmap: reported per page.
constexpr size_t kTouchPages = 64;

bool MmapTouch() {
    size_t const page = 4096;
    auto* p = static_cast<volatile char*>(
        mmap(nullptr, kTouchPages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (p == MAP_FAILED) return false;
    for (size_t i = 0; i < kTouchPages; ++i) p[i * page] = 1;
    return munmap(const_cast<char*>(p), kTouchPages * page) == 0;
}

struct Workload {
    char const* name;
    bool (*body)();
    uint64_t ops = 1;  // operations per iteration: the printed figure is per operation
};

constexpr Workload kWorkloads[] = {
    {"getppid", GetPpid},
    {"clock_gettime", ClockGettime},
    {"open_read_close", OpenReadClose},
    {"stat", Stat},
    {"write_64k", Write64K},
    {"pread_64k", Pread64K},
    {"fork_wait", ForkWait},
    {"fork_exec_wait", ForkExecWait},
    {"thread_create_join", ThreadCreateJoin},
    {"pipe_pingpong", PipePingPong},
    {"mmap_touch_page", MmapTouch, kTouchPages},
    {"tcp_pingpong", TcpPingPong},
    {"tcp_stream", TcpStream},
};

using Clock = std::chrono::steady_clock;

// Runs `iterations` iterations; returns elapsed nanoseconds, or -1 if the body failed.
int64_t Run(Workload const& w, uint64_t iterations) {
    auto start = Clock::now();
    for (uint64_t i = 0; i < iterations; ++i) {
        if (!w.body()) return -1;
    }
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
}

int Usage() {
    fprintf(stderr, "usage: syscall_bench [--repetitions R] [--min-time-ms T] [WORKLOAD...]\nworkloads:");
    for (auto const& w : kWorkloads) fprintf(stderr, " %s", w.name);
    fprintf(stderr, "\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    int repetitions = 5;
    int64_t min_time_ns = 100'000'000;
    std::vector<Workload> selected;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--repetitions" && i + 1 < argc) {
            repetitions = std::max(1, atoi(argv[++i]));
        } else if (arg == "--min-time-ms" && i + 1 < argc) {
            min_time_ns = std::max(1, atoi(argv[++i])) * int64_t{1'000'000};
        } else if (arg == "--list") {
            for (auto const& w : kWorkloads) printf("%s\n", w.name);
            return 0;
        } else {
            auto it = std::find_if(std::begin(kWorkloads), std::end(kWorkloads),
                                   [&](Workload const& w) { return arg == w.name; });
            if (it == std::end(kWorkloads)) return Usage();
            selected.push_back(*it);
        }
    }
    if (selected.empty()) selected.assign(std::begin(kWorkloads), std::end(kWorkloads));

    for (auto const& w : selected) {
        // Calibrate: double until one run takes a tenth of the target, then scale.
        uint64_t iterations = 1;
        int64_t elapsed = 0;
        for (;;) {
            elapsed = Run(w, iterations);
            if (elapsed < 0) {
                fprintf(stderr, "syscall_bench: %s failed: %s\n", w.name, strerror(errno));
                return 1;
            }
            if (elapsed >= min_time_ns / 10 || iterations >= (uint64_t{1} << 40)) break;
            iterations *= 2;
        }
        iterations = std::max<uint64_t>(1, iterations * static_cast<uint64_t>(min_time_ns) /
                                               static_cast<uint64_t>(std::max<int64_t>(elapsed, 1)));
        std::vector<double> per_iteration;
        for (int r = 0; r < repetitions; ++r) {
            int64_t ns = Run(w, iterations);
            if (ns < 0) {
                fprintf(stderr, "syscall_bench: %s failed: %s\n", w.name, strerror(errno));
                return 1;
            }
            per_iteration.push_back(static_cast<double>(ns) / static_cast<double>(iterations * w.ops));
        }
        std::sort(per_iteration.begin(), per_iteration.end());
        printf("%s\t%.1f\t%llu\n", w.name, per_iteration[per_iteration.size() / 2],
               static_cast<unsigned long long>(iterations));
        fflush(stdout);
    }
    return 0;
}
