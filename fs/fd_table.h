#pragma once
// FdTable: a task's file descriptors — references to open file descriptions plus the
// close-on-exec bit. Shared by CLONE_FILES threads; copied by fork.
//
// CONTRACT used by other folders (keep these signatures): Get(fd), Install, Close.
//
// Lock: m_lock is a leaf lock. Files removed from the table are released after it is
// dropped (a File's destructor may do host I/O).

#include "fs/file.h"
#include "platform/base/result.h"

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace moat::fs {

// Linux's NR_OPEN default (fs.nr_open): no fd is ever >= this.
inline constexpr int kMaxFds = 1 << 20;

class FdTable {
public:
    FdTable() = default;
    // Closes what is left (releasing this process's POSIX locks on those files).
    ~FdTable();
    FdTable(const FdTable&) = delete;
    FdTable& operator=(const FdTable&) = delete;

    // fds 0, 1, 2 referring to the sentry's own host stdin/stdout/stderr through files that
    // hold dups of those host fds (a TtyFile when the host fd is a terminal, a HostStreamFile
    // otherwise). A host fd that is closed leaves the slot empty. Terminals are named
    // `console` when given (HostStreamFile::Create).
    static std::shared_ptr<FdTable> CreateWithHostStdio(const VfsPath* console = nullptr);
    // The same with three given host fds as 0, 1, 2 (dup'ed; `moat exec`'s stdio).
    static std::shared_ptr<FdTable> CreateWithHostStdio(const int (&fds)[3], const VfsPath* console = nullptr);

    // The file description at `fd`, or EBADF.
    Result<std::shared_ptr<File>> Get(int fd);
    // The file and its close-on-exec bit, or EBADF.
    Result<std::pair<std::shared_ptr<File>, bool>> GetWithFlags(int fd);
    // Installs at the lowest free fd >= min_fd; EMFILE at `limit` (RLIMIT_NOFILE).
    Result<int> Install(std::shared_ptr<File> file, bool cloexec, int min_fd = 0, int limit = 1024);
    // Installs at exactly `fd` (dup2/dup3), replacing (and closing) what was there; EBADF if
    // fd < 0 or fd >= limit.
    Result<int> InstallAt(int fd, std::shared_ptr<File> file, bool cloexec, int limit = 1024);
    Result<void> Close(int fd);
    // close_range(2) on [first, last]: closes, or with cloexec_only sets FD_CLOEXEC.
    void CloseRange(unsigned first, unsigned last, bool cloexec_only);

    Result<bool> GetCloexec(int fd);
    Result<void> SetCloexec(int fd, bool cloexec);

    // A copy sharing the same file descriptions (fork without CLONE_FILES).
    Result<std::shared_ptr<FdTable>> Fork();
    // Closes every close-on-exec fd (execve).
    void CloseOnExec();
    // Closes everything (the last task using the table exits).
    void CloseAll();

    // The open fds, ascending (/proc/self/fd).
    std::vector<int> fds();
    int count();

private:
    // Called for each file this table stopped referring to, after m_lock is dropped: the
    // process's POSIX locks on it go (fs/lock/lock_hooks.h).
    void Closed(const File& file) const;

    struct Entry {
        std::shared_ptr<File> file;
        bool cloexec = false;
    };
    std::mutex m_lock;
    std::vector<Entry> m_entries;  // guarded by m_lock
};

}  // namespace moat::fs
