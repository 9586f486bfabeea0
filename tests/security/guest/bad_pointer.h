#pragma once
// The bad-pointer table (issue #7): one row per pointer argument of the most used syscalls. Every
// row is called once with each bad pointer and must answer exactly as Linux does (EFAULT, mostly;
// the row says where Linux answers otherwise), and the process must keep running. Each call gets
// fresh fds (BadPointerEnv), so a call that consumes something (a zombie, a datagram) cannot
// change the next one's answer.

#include <sys/types.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

namespace moat::security {

// The pointers no call may read or write through. kProtNone and kUnmapped are user pages that
// exist but cannot be touched, the others are outside every mapping a process can have.
enum BadKind : size_t { kNull, kLow, kKernel, kNonCanonical, kUnmapped, kProtNone, kBadKinds };
char const* BadKindName(BadKind kind);

// An expected outcome per kind: an errno, or one of these.
inline constexpr int kSucceeds = 0;  // the call returns >= 0 (NULL meaning "not wanted", say)
inline constexpr int kSkip = -1;     // not called: the pointer means something else (NULL argv)

struct Expected {
    std::array<int, kBadKinds> by_kind;
    constexpr explicit Expected(int all) : by_kind{} { by_kind.fill(all); }
    constexpr Expected With(BadKind kind, int outcome) const {
        Expected e = *this;
        e.by_kind[kind] = outcome;
        return e;
    }
};
inline constexpr Expected kEfault{EFAULT};

// What a row may use; all of it made fresh for every call, and closed after it.
class BadPointerEnv {
public:
    BadPointerEnv();
    ~BadPointerEnv();
    BadPointerEnv(BadPointerEnv const&) = delete;
    BadPointerEnv& operator=(BadPointerEnv const&) = delete;
    bool ok() const { return m_ok; }

    int file = -1;                 // /etc/os-release, read-only, at offset 0
    std::string scratch;           // an empty directory of our own under /tmp
    std::string scratch_file;      // scratch/f: 16 bytes, ours to change
    int scratch_file_fd = -1;      // scratch_file, read-write
    int pipe_r = -1, pipe_w = -1;  // 8 bytes waiting at pipe_r
    int stream_a = -1, stream_b = -1;  // unix stream pair, 8 bytes waiting at stream_b
    int dgram_a = -1, dgram_b = -1;    // unix datagram pair, one 8-byte datagram waiting at dgram_b
    char good[256] = {};           // memory the calls may use for their other arguments

    // Made on first use, because most rows need none of them.
    int Udp();              // an unbound UDP socket
    int UdpWithDatagram();  // a UDP socket on 127.0.0.1 with one datagram waiting from another
    int PendingListener();  // a unix listener with one connection waiting to be accepted
    int ReadyEpoll();       // an epoll fd watching pipe_r, which is readable
    int PtyMaster();        // /dev/ptmx
    pid_t Zombie();         // a child that has exited (status 0) and not been waited for

private:
    bool m_ok = false;
    int m_udp = -1, m_udp_rx = -1, m_udp_tx = -1, m_listener = -1, m_connector = -1, m_epoll = -1, m_pty = -1;
    pid_t m_zombie = -1;
};

struct Row {
    char const* name;  // <syscall>_<argument>, the gtest parameter name
    long (*call)(BadPointerEnv& env, void* bad);
    Expected expected = kEfault;
};

// gtest prints a parameter by its name.
inline void PrintTo(Row const& row, std::ostream* os) { *os << row.name; }

// The rows, by family (bad_pointer_rows_fs.cc, bad_pointer_rows_sys.cc).
std::vector<Row> const& FsRows();
std::vector<Row> const& SysRows();

// Runs `fn` in a forked child and returns what it returned there as an exit code: for calls that
// must not run in the test process even if they wrongly succeed (execve) or that change it for
// good (set_tid_address).
int InChild(int (*fn)(void* bad), void* bad);

}  // namespace moat::security
