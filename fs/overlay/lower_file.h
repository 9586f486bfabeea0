#pragma once
// OverlayLowerFile: a lower-layer file opened read-only through the overlay. The lower
// filesystem's own file does the work (reads, seeks, the page cache for mmap); this one shows
// the overlay's path, so fstat, /proc/self/fd and fchdir see the merged tree. It keeps
// reading the lower file after a copy-up, as Linux's overlayfs does for files already open.

#include "fs/file.h"

namespace moat::fs {

class OverlayLowerFile final : public File {
public:
    OverlayLowerFile(int flags, VfsPath path, std::shared_ptr<File> lower)
        : File(flags, std::move(path)), m_lower(std::move(lower)) {}

    std::shared_ptr<mm::Mappable> mappable() override { return m_lower->mappable(); }
    Result<size_t> Read(IoDst& dst) override { return m_lower->Read(dst); }
    Result<size_t> PRead(IoDst& dst, uint64_t offset) override { return m_lower->PRead(dst, offset); }
    Result<size_t> Write(IoSrc& src) override { return m_lower->Write(src); }
    Result<size_t> PWrite(IoSrc& src, uint64_t offset) override { return m_lower->PWrite(src, offset); }
    Result<int64_t> Seek(int64_t offset, int whence) override { return m_lower->Seek(offset, whence); }
    Result<uint64_t> Ioctl(kernel::Task& task, uint32_t request, uint64_t arg) override {
        return m_lower->Ioctl(task, request, arg);
    }
    Result<int64_t> BytesReadable() override { return m_lower->BytesReadable(); }
    Result<void> Fallocate(int mode, int64_t offset, int64_t len) override {
        return m_lower->Fallocate(mode, offset, len);
    }
    Result<void> Sync(bool data_only) override { return m_lower->Sync(data_only); }
    bool is_tty() const override { return m_lower->is_tty(); }
    bool seekable() const override { return m_lower->seekable(); }
    int64_t offset_for_proc() override { return m_lower->offset_for_proc(); }

private:
    const std::shared_ptr<File> m_lower;
};

}  // namespace moat::fs
