#pragma once
// The sandbox's character devices: the files behind /dev's nodes. A node is found by its
// device number (any filesystem's S_IFCHR inode: mknod in the sandbox makes working nodes, as
// on Linux), never by opening a host device. Unknown numbers and every block device are ENXIO,
// so a node made by the workload leads nowhere on the host.
//
//   1:3 null   1:5 zero   1:7 full   1:8 random   1:9 urandom   5:0 tty   5:1 console
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

class Devices {
public:
    // `console` is a host terminal the sandbox may use as its controlling terminal (a dup of
    // the sentry's own stdio terminal), or an invalid fd when it has none.
    explicit Devices(UniqueFd console) : m_console(std::move(console)) {}

    // Opens the character device `rdev` for the node at `path` with status flags `flags`.
    Result<std::shared_ptr<File>> OpenChar(uint64_t rdev, int flags, const VfsPath& path) const;

private:
    UniqueFd m_console;
};

}  // namespace moat::fs
