#pragma once
// The sandbox's character devices: the files behind /dev's nodes. A node is found by its
// device number (any filesystem's S_IFCHR inode: mknod in the sandbox makes working nodes, as
// on Linux), never by opening a host device. Unknown numbers and every block device are ENXIO,
// so a node made by the workload leads nowhere on the host.
//
//   1:3 null   1:5 zero   1:7 full   1:8 random   1:9 urandom   5:0 tty   5:1 console
//   5:2 ptmx (a new pseudo-terminal of the sandbox's devpts)   136:N the slave of pty N
//
// 5:0 /dev/tty is the caller's controlling terminal: its pty when its session has one, else
// the sentry's host terminal for the initial session (PID 1's, which the user's terminal
// controls), else ENXIO.
//
// Lock: Devices is immutable after construction.

#include "fs/file.h"
#include "platform/base/unique_fd.h"

#include <memory>

namespace moat::fs {

// glibc's makedev encoding, as a constant expression.
constexpr uint64_t MakeDev(uint64_t major, uint64_t minor) {
    return ((major & 0xfffff000ull) << 32) | ((major & 0xfffull) << 8) | ((minor & 0xffffff00ull) << 12) |
           (minor & 0xffull);
}

inline constexpr uint64_t kDevNull = MakeDev(1, 3);
inline constexpr uint64_t kDevZero = MakeDev(1, 5);
inline constexpr uint64_t kDevFull = MakeDev(1, 7);
inline constexpr uint64_t kDevRandom = MakeDev(1, 8);
inline constexpr uint64_t kDevUrandom = MakeDev(1, 9);
inline constexpr uint64_t kDevTty = MakeDev(5, 0);
inline constexpr uint64_t kDevConsole = MakeDev(5, 1);
inline constexpr uint64_t kDevPtmx = MakeDev(5, 2);
inline constexpr uint32_t kPtySlaveMajor = 136;  // UNIX98_PTY_SLAVE_MAJOR

class DevptsFileSystem;

class Devices {
public:
    // `console` is a host terminal the sandbox may use as its controlling terminal (a dup of
    // the sentry's own stdio terminal), or an invalid fd when it has none. `devpts` is the
    // sandbox's one devpts instance (ptmx and pts nodes lead there).
    Devices(UniqueFd console, std::shared_ptr<DevptsFileSystem> devpts);
    ~Devices();

    // Opens the character device `rdev` for the node at `path`; `open_flags` as open(2) got
    // them (O_NOCTTY matters to terminals).
    Result<std::shared_ptr<File>> OpenChar(const FsCaller& caller, uint64_t rdev, int open_flags,
                                           const VfsPath& path) const;
    const std::shared_ptr<DevptsFileSystem>& devpts() const { return m_devpts; }

private:
    Result<std::shared_ptr<File>> OpenTty(const FsCaller& caller, int open_flags, const VfsPath& path) const;

    UniqueFd m_console;
    std::shared_ptr<DevptsFileSystem> m_devpts;
};

}  // namespace moat::fs
