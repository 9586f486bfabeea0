#include "net/socket.h"

#include "sentry/kernel/task.h"

#include <sys/stat.h>

namespace moat::net {

fs::InodeAttr SocketInodeAttr(uint64_t ino) {
    fs::InodeAttr a;
    a.dev = 0x8;  // sockfs's anonymous device
    a.ino = ino;
    a.mode = S_IFSOCK | 0777;
    a.nlink = 1;
    a.blksize = 4096;
    if (kernel::Task* task = kernel::Task::Current()) {
        a.uid = task->creds().euid;
        a.gid = task->creds().egid;
    }
    return a;
}

}  // namespace moat::net
