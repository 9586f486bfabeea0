#pragma once
// The open files of a pseudo-terminal: PtyMasterFile (what /dev/ptmx opens) and PtySlaveFile
// (/dev/pts/N, /dev/tty for a session whose terminal it is, TIOCGPTPEER). Both are terminals
// (isatty), not seekable, and answer the terminal ioctls through their Pty.
//
// Readiness (poll, select, epoll): the Pty's, notified on every change of either end.

#include "fs/file.h"
#include "fs/tty/pty.h"

#include <memory>
#include <string>

namespace moat::fs {

class PtyMasterFile final : public File {
public:
    PtyMasterFile(std::shared_ptr<Pty> pty, int flags, const VfsPath& path);
    ~PtyMasterFile() override;

    Pty& pty() { return *m_pty; }
    Result<size_t> Read(IoDst& dst) override;
    Result<size_t> Write(IoSrc& src) override;
    Result<uint64_t> Ioctl(kernel::Task& task, uint32_t request, uint64_t arg) override;
    Result<int64_t> BytesReadable() override;
    bool is_tty() const override { return true; }
    uint32_t Readiness(uint32_t) override { return m_pty->MasterReadiness(); }
    std::shared_ptr<kernel::EventQueue> event_queue() override { return m_pty->events(); }

private:
    std::shared_ptr<Pty> m_pty;
};

class PtySlaveFile final : public File {
public:
    // Opens the slave of `pty` (EIO while locked or hung up, EBUSY when exclusive); a session
    // leader without a terminal gets this one unless O_NOCTTY. `path` may be null (TIOCGPTPEER).
    static Result<std::shared_ptr<File>> Open(std::shared_ptr<Pty> pty, const FsCaller& caller, int open_flags,
                                              const VfsPath* path);

    PtySlaveFile(std::shared_ptr<Pty> pty, int flags);
    PtySlaveFile(std::shared_ptr<Pty> pty, int flags, const VfsPath& path);
    ~PtySlaveFile() override;

    Pty& pty() { return *m_pty; }
    Result<InodeAttr> Stat() override;
    Result<size_t> Read(IoDst& dst) override;
    Result<size_t> Write(IoSrc& src) override;
    Result<uint64_t> Ioctl(kernel::Task& task, uint32_t request, uint64_t arg) override;
    Result<int64_t> BytesReadable() override;
    bool is_tty() const override { return true; }
    // A slave from TIOCGPTPEER has no path: it links to its node's name, as Linux's does.
    std::string anon_name() const override { return "/dev/pts/" + std::to_string(m_pty->index()); }
    uint32_t Readiness(uint32_t) override { return m_pty->SlaveReadiness(); }
    std::shared_ptr<kernel::EventQueue> event_queue() override { return m_pty->events(); }

private:
    std::shared_ptr<Pty> m_pty;
};

}  // namespace moat::fs
