#include "fs/memfd/memfd.h"

#include "fs/tmpfs/regular_file.h"
#include "fs/vfs.h"

#include <fcntl.h>
#include <linux/memfd.h>

namespace moat::fs {

namespace {

// The kernel's O_LARGEFILE (glibc's is 0 on x86-64): F_GETFL of a memfd shows it.
constexpr int kKernelLargefile = 0100000;

// A writable shared mapping of a sealable file, counted while it lives; everything else is the
// file's own mapping's.
class CountedMapping final : public mm::Mappable {
public:
    CountedMapping(std::shared_ptr<mm::Mappable> inner, std::shared_ptr<TmpfsRegularInode> inode)
        : m_inner(std::move(inner)), m_inode(std::move(inode)) {}
    ~CountedMapping() override { m_inode->seals().RemoveWritableMapping(); }
    Result<uint64_t> PageFrame(uint64_t page_index) override { return m_inner->PageFrame(page_index); }
    uint64_t size() const override { return m_inner->size(); }
    uint64_t device() const override { return m_inner->device(); }
    uint64_t inode() const override { return m_inner->inode(); }
    std::string map_name() const override { return m_inner->map_name(); }
    Result<void> Writeback(uint64_t offset, uint64_t length) override { return m_inner->Writeback(offset, length); }

private:
    const std::shared_ptr<mm::Mappable> m_inner;
    const std::shared_ptr<TmpfsRegularInode> m_inode;
};

}  // namespace

Result<std::shared_ptr<File>> CreateMemfd(Vfs& vfs, const FsCaller& caller, const std::string& name,
                                          unsigned flags) {
    VfsPath root = vfs.internal_root();
    if (!root.valid())
        return Error(ENOMEM);
    auto& tmpfs = static_cast<TmpfsFileSystem&>(root.inode().filesystem());
    NewInode attr;
    attr.mode = S_IFREG | ((flags & kMfdNoexecSeal) ? 0666 : 0777);
    attr.uid = caller.creds ? caller.creds->fsuid : 0;
    attr.gid = caller.creds ? caller.creds->fsgid : 0;
    auto inode = std::static_pointer_cast<TmpfsRegularInode>(TRY(tmpfs.NewInode(attr)));
    unsigned seals = (flags & MFD_ALLOW_SEALING) ? 0 : F_SEAL_SEAL;
    if (flags & kMfdNoexecSeal)
        seals = (seals & ~F_SEAL_SEAL) | kSealExec;
    inode->seals().Set(seals);
    {
        // No directory names it: nlink 0, as Linux reports for a memfd.
        std::lock_guard lock(tmpfs.namespace_lock());
        inode->AddLinks(-1);
    }
    // A name nobody can look up: the dentry is dead from the start (Linux's d_alloc_pseudo).
    auto dentry = Dentry::CreateChild(root.dentry, "memfd:" + name, inode);
    dentry->MarkDead();
    VfsPath path{root.mount, std::move(dentry)};
    auto file = std::make_shared<TmpfsRegularFile>(O_RDWR | kKernelLargefile, std::move(path), std::move(inode));
    return std::shared_ptr<File>(std::move(file));
}

Seals* SealsOf(File& file) {
    auto* tmpfs_file = dynamic_cast<TmpfsRegularFile*>(&file);
    return tmpfs_file ? &tmpfs_file->tmpfs_inode()->seals() : nullptr;
}

Result<std::shared_ptr<mm::Mappable>> SealCheckedMappable(File& file, std::shared_ptr<mm::Mappable> mappable,
                                                          bool writable) {
    auto* tmpfs_file = dynamic_cast<TmpfsRegularFile*>(&file);
    if (!mappable || !tmpfs_file || !writable)
        return mappable;
    TRY(tmpfs_file->tmpfs_inode()->seals().AddWritableMapping());
    return std::shared_ptr<mm::Mappable>(std::make_shared<CountedMapping>(std::move(mappable), tmpfs_file->tmpfs_inode()));
}

}  // namespace moat::fs
