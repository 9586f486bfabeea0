#pragma once
// FdTable: a task's file descriptors — references to open file descriptions plus the
// close-on-exec bit. Shared by CLONE_FILES threads; copied by fork.
//
// CONTRACT used by other folders (keep these signatures): Get(fd).

#include "fs/file.h"
#include "platform/base/result.h"

#include <memory>
#include <mutex>
#include <vector>

namespace moat::fs {

class FdTable {
public:
    // The file description at `fd`, or EBADF.
    Result<std::shared_ptr<File>> Get(int fd);
    // Installs at the lowest free fd >= min_fd; EMFILE at `limit` (RLIMIT_NOFILE).
    Result<int> Install(std::shared_ptr<File> file, bool cloexec, int min_fd = 0, int limit = 1024);
    Result<void> Close(int fd);

private:
    struct Entry {
        std::shared_ptr<File> file;
        bool cloexec = false;
    };
    std::mutex m_lock;
    std::vector<Entry> m_entries;  // guarded by m_lock
};

}  // namespace moat::fs
