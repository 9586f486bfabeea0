#include "fs/tty/pty_file.h"

#include "fs/vfs.h"

namespace moat::fs {

namespace {
bool NonBlocking(const File& f) { return f.status_flags() & O_NONBLOCK; }
}  // namespace

PtyMasterFile::PtyMasterFile(std::shared_ptr<Pty> pty, int flags, const VfsPath& path)
    : File(flags, path), m_pty(std::move(pty)) {}

PtyMasterFile::~PtyMasterFile() { m_pty->MasterClosed(); }

Result<size_t> PtyMasterFile::Read(IoDst& dst) { return m_pty->MasterRead(dst, NonBlocking(*this)); }
Result<size_t> PtyMasterFile::Write(IoSrc& src) { return m_pty->MasterWrite(src, NonBlocking(*this)); }
Result<int64_t> PtyMasterFile::BytesReadable() { return static_cast<int64_t>(m_pty->MasterReadable()); }

Result<uint64_t> PtyMasterFile::Ioctl(kernel::Task& task, uint32_t request, uint64_t arg) {
    return m_pty->Ioctl(task, *this, /*master=*/true, request, arg);
}

Result<std::shared_ptr<File>> PtySlaveFile::Open(std::shared_ptr<Pty> pty, const FsCaller& caller, int open_flags,
                                                 const VfsPath* path) {
    TRY(pty->OpenSlave(caller.creds));
    int status = StatusFlagsOf(open_flags);
    auto file = path ? std::make_shared<PtySlaveFile>(pty, status, *path) : std::make_shared<PtySlaveFile>(pty, status);
    if (!(open_flags & O_NOCTTY))
        pty->AcquireOnOpen(caller.task, file->readable());
    return std::shared_ptr<File>(std::move(file));
}

PtySlaveFile::PtySlaveFile(std::shared_ptr<Pty> pty, int flags) : File(flags), m_pty(std::move(pty)) {}

PtySlaveFile::PtySlaveFile(std::shared_ptr<Pty> pty, int flags, const VfsPath& path)
    : File(flags, path), m_pty(std::move(pty)) {}

PtySlaveFile::~PtySlaveFile() { m_pty->SlaveClosed(); }

Result<InodeAttr> PtySlaveFile::Stat() {
    if (path())
        return File::Stat();
    return m_pty->node_attr();
}

Result<size_t> PtySlaveFile::Read(IoDst& dst) { return m_pty->SlaveRead(dst, NonBlocking(*this)); }
Result<size_t> PtySlaveFile::Write(IoSrc& src) { return m_pty->SlaveWrite(src, NonBlocking(*this)); }

Result<int64_t> PtySlaveFile::BytesReadable() { return static_cast<int64_t>(TRY(m_pty->SlaveReadable())); }

Result<uint64_t> PtySlaveFile::Ioctl(kernel::Task& task, uint32_t request, uint64_t arg) {
    return m_pty->Ioctl(task, *this, /*master=*/false, request, arg);
}

}  // namespace moat::fs
