#include "fs/tmpfs/regular_file.h"

#include "sentry/mm/user_addr.h"

#include <linux/falloc.h>

namespace moat::fs {

namespace {

// What mmap maps: the file's pages under the name of the path it was opened by.
class TmpfsMapping final : public mm::Mappable {
public:
    TmpfsMapping(std::shared_ptr<TmpfsPages> pages, std::string name)
        : m_pages(std::move(pages)), m_name(std::move(name)) {}
    Result<uint64_t> PageFrame(uint64_t page_index) override { return m_pages->PageFrame(page_index); }
    uint64_t size() const override { return m_pages->size(); }
    uint64_t device() const override { return m_pages->device(); }
    uint64_t inode() const override { return m_pages->inode(); }
    std::string map_name() const override { return m_name; }

private:
    const std::shared_ptr<TmpfsPages> m_pages;
    const std::string m_name;
};

}  // namespace

TmpfsRegularInode::TmpfsRegularInode(std::shared_ptr<TmpfsFileSystem> fs, const NewInode& attr, uint64_t ino)
    : TmpfsInode(fs, attr, ino), m_pages(std::make_shared<TmpfsPages>(fs, ino)) {}

Result<std::shared_ptr<File>> TmpfsRegularInode::Open(const FsCaller&, const VfsPath& path, int flags) {
    auto self = std::static_pointer_cast<TmpfsRegularInode>(shared_from_this());
    return std::shared_ptr<File>(std::make_shared<TmpfsRegularFile>(flags, path, std::move(self)));
}

void TmpfsRegularInode::FillDataAttr(InodeAttr& attr) {
    attr.size = static_cast<int64_t>(m_pages->size());
    attr.blocks = static_cast<int64_t>(m_pages->allocated_pages() * (mm::kPageSize / 512));
}

Result<void> TmpfsRegularInode::Resize(int64_t size) {
    if (size < 0)
        return Error(EINVAL);
    TRY(m_seals.CheckResize(m_pages->size(), static_cast<uint64_t>(size)));
    m_pages->Resize(static_cast<uint64_t>(size));
    return {};
}

Result<size_t> TmpfsRegularInode::WriteAt(IoSrc& src, uint64_t offset, bool append, uint64_t* end) {
    uint64_t size = m_pages->size();
    uint64_t allowed = TRY(m_seals.WritableLength(append ? size : offset, src.remaining(), size));
    LimitedSrc limited(src, allowed);
    size_t n = TRY(m_pages->Write(limited, offset, append, end));
    if (n > 0)
        Touch(/*modified=*/true);
    return n;
}

Result<void> TmpfsRegularInode::Fallocate(int mode, int64_t offset, int64_t len) {
    if (offset < 0 || len <= 0)
        return Error(EINVAL);
    auto off = static_cast<uint64_t>(offset), n = static_cast<uint64_t>(len);
    if (mode == 0 || mode == FALLOC_FL_KEEP_SIZE || mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
        TRY(m_seals.CheckFallocate((mode & FALLOC_FL_PUNCH_HOLE) != 0, off, n, m_pages->size()));
    switch (mode) {
    case 0:
    case FALLOC_FL_KEEP_SIZE:
        TRY(m_pages->Allocate(off, n, mode == FALLOC_FL_KEEP_SIZE));
        break;
    case FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE:
        m_pages->PunchHole(off, n);
        break;
    default:
        return Error(EOPNOTSUPP);
    }
    Touch(/*modified=*/true);
    return {};
}

std::shared_ptr<mm::Mappable> TmpfsRegularFile::mappable() {
    if (!m_inode->tmpfs().memory_file())
        return nullptr;
    return std::make_shared<TmpfsMapping>(m_inode->pages(), path() && path()->valid() ? AbsolutePath(*path()) : std::string());
}

Result<size_t> TmpfsRegularFile::PRead(IoDst& dst, uint64_t offset) {
    if (offset > static_cast<uint64_t>(INT64_MAX))
        return Error(EINVAL);
    return m_inode->ReadAt(dst, offset);
}

Result<size_t> TmpfsRegularFile::Write(IoSrc& src) {
    std::lock_guard lock(m_pos_lock);
    uint64_t end = 0;
    size_t n = TRY(m_inode->WriteAt(src, static_cast<uint64_t>(m_offset), append(), &end));
    m_offset = static_cast<int64_t>(end);
    return n;
}

Result<size_t> TmpfsRegularFile::PWrite(IoSrc& src, uint64_t offset) {
    if (offset > static_cast<uint64_t>(INT64_MAX))
        return Error(EINVAL);
    uint64_t end = 0;
    return m_inode->WriteAt(src, offset, append(), &end);
}

Result<int64_t> TmpfsRegularFile::Seek(int64_t offset, int whence) {
    if (whence == SEEK_DATA || whence == SEEK_HOLE) {
        TmpfsPages& pages = *m_inode->pages();
        int64_t pos = TRY(whence == SEEK_DATA ? pages.SeekData(offset) : pages.SeekHole(offset));
        std::lock_guard lock(m_pos_lock);
        m_offset = pos;
        return pos;
    }
    return SeekRegular(offset, whence, static_cast<int64_t>(m_inode->pages()->size()));
}

Result<int64_t> TmpfsRegularFile::BytesReadable() {
    auto size = static_cast<int64_t>(m_inode->pages()->size());
    std::lock_guard lock(m_pos_lock);
    return size - m_offset;
}

Result<void> TmpfsRegularFile::Fallocate(int mode, int64_t offset, int64_t len) {
    return m_inode->Fallocate(mode, offset, len);
}

}  // namespace moat::fs
